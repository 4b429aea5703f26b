#pragma once
// Shared by the source layer's tests: a ByteStream over bytes in memory, a
// file opened as a stream, whole-stream reads, and the fixtures of
// tests/images/make_sources.sh (made once per run of the test binary).
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "imgtool/error.hpp"
#include "imgtool/stream.hpp"
#include "sources/memory_stream.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {

inline std::unique_ptr<ByteStream> memory_stream(std::string bytes, std::string name = "mem") {
  return std::make_unique<MemoryStream>(std::move(bytes), std::move(name));
}

// A file as a stream (fd_stream: it has a size hint).
inline std::unique_ptr<ByteStream> file_stream(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::Io, path, "open failed");
  return fd_stream(fd, path, true);
}

// The whole stream, read `chunk` bytes at a time; checks that the end stays
// the end and that position() counted every byte.
inline std::string read_all(ByteStream& s, size_t chunk = 100 * 1000) {
  std::string out, buf(chunk, '\0');
  for (;;) {
    const size_t n = s.read(std::as_writable_bytes(std::span(buf)));
    if (n == 0) break;
    out.append(buf, 0, n);
  }
  EXPECT_EQ(s.read(std::as_writable_bytes(std::span(buf))), 0u) << "a read after the end gave bytes";
  EXPECT_EQ(s.position(), out.size());
  return out;
}

// The directory make_sources.sh filled: made once per build tree and script
// version (ctest runs every test in a process of its own, and the script
// takes seconds), under a lock so that parallel tests wait for one run;
// "" (and a test failure) when the script failed.
inline const std::string& source_fixtures() {
  static std::string path, error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    const std::string script = std::string(IMGTOOL_SOURCE_DIR) + "/tests/images/make_sources.sh";
    const std::string base = std::string(IMGTOOL_BUILD_DIR) + "/test-fixtures";
    const std::string cmd =
        "set -e; mkdir -p " + sh_quote(base) + "; v=$(sha256sum " + sh_quote(script) +
        " | cut -c1-16); d=" + sh_quote(base) +
        "/sources-$v; exec 9>\"$d.lock\"; flock 9; if [ ! -e \"$d/.done\" ]; then "
        "rm -rf \"$d\" \"$d.tmp\"; mkdir -p \"$d.tmp\"; bash " +
        sh_quote(script) +
        " \"$d.tmp\" >&2; touch \"$d.tmp/.done\"; mv \"$d.tmp\" \"$d\"; fi; printf %s \"$d\"";
    const RunResult r = run("bash -c " + sh_quote(cmd));
    if (r.exit_code == 0)
      path = r.out;
    else
      error = "make_sources.sh failed (" + std::to_string(r.exit_code) + "): " + r.err;
  }
  if (path.empty()) ADD_FAILURE() << error;
  return path;
}

// The Error `f` throws (a test failure when it throws none).
template <class F>
std::optional<Error> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no imgtool::Error thrown";
  return std::nullopt;
}

}  // namespace imgtool::test
