#pragma once
// Shared helpers for the GoogleTest suite: run a command and capture its
// output, temporary directories, poke bytes into images, qemu-img wrappers.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace imgtool::test {

struct RunResult {
  int exit_code = -1;  // exit status, or 128+signal
  std::string out;
  std::string err;
};

// Runs `cmd` with /bin/sh -c; captures stdout and stderr separately.
RunResult run(const std::string& cmd);
// Runs and asserts (via ADD_FAILURE) exit 0; returns stdout.
std::string run_ok(const std::string& cmd);
// Shell-quotes one argument.
std::string sh_quote(const std::string& s);

// Path to the built imgtool binary.
std::string imgtool_bin();
// True if `tool` is on PATH.
bool have_tool(const std::string& tool);
// Success if `tool` is on PATH; otherwise a failure saying what to install.
// Tests use IMGTOOL_REQUIRE_TOOL, never a skip: ctest counts a skipped test
// as passed, so a CI machine that lacks a tool would pass without testing.
::testing::AssertionResult require_tool(const std::string& tool);

// A temporary directory, removed at destruction.
class TempDir {
 public:
  // Owner: under the build dir. Everyone: a mkdtemp under /tmp with mode
  // 0755, for tests that run a program as another user (nobody): the build
  // tree may sit inside a 0700 directory (a clone made in `mktemp -d`, root's
  // home) that such a user cannot traverse, not even to reach the binary.
  enum class Reach { Owner, Everyone };
  explicit TempDir(Reach reach = Reach::Owner);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
// Overwrites bytes at `offset` (file must exist; extends it if needed).
void poke(const std::string& path, uint64_t offset, const std::string& bytes);
void poke_be32(const std::string& path, uint64_t offset, uint32_t v);
void poke_be64(const std::string& path, uint64_t offset, uint64_t v);
void poke_le32(const std::string& path, uint64_t offset, uint32_t v);
void poke_le64(const std::string& path, uint64_t offset, uint64_t v);
void truncate_file(const std::string& path, uint64_t size);

// qemu-img / qemu-io wrappers (fail the test on a non-zero exit).
void qemu_img(const std::string& args);
void qemu_io(const std::string& image, const std::string& fmt, const std::string& commands);

}  // namespace imgtool::test

// In a test body or SetUp(): fails the test (and returns) when `tool` is not
// installed, with "TOOL is not installed: run scripts/deps.sh test".
#define IMGTOOL_REQUIRE_TOOL(tool)                                                                    \
  do {                                                                                                \
    if (::testing::AssertionResult imgtool_req_ = ::imgtool::test::require_tool(tool); !imgtool_req_) \
      GTEST_FAIL() << imgtool_req_.message();                                                         \
  } while (0)
