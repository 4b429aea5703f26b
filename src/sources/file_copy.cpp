// A source's disk image copied into an unlinked temporary file: for the one
// reader that needs a real file, libguestfs (inspect), when the image comes
// from a pipe, a download or a decompressor. Zero blocks become holes, so a
// sparse image stays sparse; the file has no name from the start (O_TMPFILE),
// so nothing is left in TMPDIR whatever ends the process.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/sources.hpp"
#include "io/file_source.hpp"
#include "io/unique_fd.hpp"

namespace imgtool {
namespace {

std::string temp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

io::UniqueFd unnamed_file(const std::string& dir, const std::string& for_name) {
  io::UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  // File systems without O_TMPFILE: a named file, unlinked at once.
  std::string tmpl = dir + "/imgtool-spool-XXXXXX";
  fd = io::UniqueFd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd)
    throw Error(ErrorKind::Io, for_name,
                "cannot create a temporary file in " + dir + " (TMPDIR): " + std::strerror(errno));
  ::unlink(tmpl.c_str());
  return fd;
}

bool all_zero(const std::byte* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

}  // namespace

std::shared_ptr<const ByteSource> copy_to_temporary_file(ByteStream& s, uint64_t* bytes) {
  const std::string dir = temp_dir();
  io::UniqueFd fd = unnamed_file(dir, s.name());
  std::vector<std::byte> buf(size_t{1} << 20);
  constexpr size_t kBlock = 4096;
  uint64_t off = 0;
  for (;;) {
    CancelToken::current().throw_if_cancelled();
    const size_t n = read_full(s, buf);
    if (n == 0) break;
    for (size_t i = 0; i < n; i += kBlock) {
      const size_t len = std::min(kBlock, n - i);
      if (all_zero(buf.data() + i, len)) continue;  // a hole
      for (size_t done = 0; done < len;) {
        const ssize_t w =
            ::pwrite(fd.get(), buf.data() + i + done, len - done, static_cast<off_t>(off + i + done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
          throw Error(ErrorKind::Io, s.name(),
                      "writing the temporary copy in " + dir + " (TMPDIR) failed: " + std::strerror(errno));
        done += static_cast<size_t>(w);
      }
    }
    off += n;
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(off)) != 0)
    throw Error(ErrorKind::Io, s.name(),
                std::string("cannot size the temporary copy: ") + std::strerror(errno));
  if (bytes) *bytes = off;
  return io::make_file_source(std::move(fd), s.name());
}

}  // namespace imgtool
