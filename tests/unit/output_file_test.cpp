// Output files as users expect them (docs/cli.md "Output files"): the mode of
// a new file, the mode and owner of a replaced one, symbolic links written
// through, block devices written in place.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::TempDir;

// Writes `bytes` to `dst` through the atomic file sink.
void write_through(const std::string& dst, const std::string& bytes) {
  auto sink = create_atomic_file(dst);
  sink->write(std::as_bytes(std::span(bytes)));
  sink->finish();
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

// Sets the umask for one scope (the test's own process, never the library).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t m) : old_(::umask(m)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(OutputFile, NewFileModeIsCreationModeMinusUmask) {
  TempDir d;
  {
    ScopedUmask u(002);
    write_through(d.file("a.img"), "a");
  }
  EXPECT_EQ(stat_of(d.file("a.img")).st_mode & 07777, 0664u);
  {
    ScopedUmask u(077);
    write_through(d.file("b.img"), "b");
  }
  EXPECT_EQ(stat_of(d.file("b.img")).st_mode & 07777, 0600u);
}

TEST(OutputFile, ExistingFileKeepsModeAndOwner) {
  TempDir d;
  const std::string dst = d.file("old.img");
  test::write_file(dst, "old contents");
  ASSERT_EQ(::chmod(dst.c_str(), 0600), 0);
  const bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::chown(dst.c_str(), 12345, 23456), 0);
  }
  {
    ScopedUmask u(022);  // a new file would be 0644
    write_through(dst, "new contents");
  }
  EXPECT_EQ(test::read_file(dst), "new contents");
  struct stat st = stat_of(dst);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  if (root) {
    EXPECT_EQ(st.st_uid, 12345u);
    EXPECT_EQ(st.st_gid, 23456u);
  }
  // Also a mode the umask would never give, and with the set-group-ID bit.
  ASSERT_EQ(::chmod(dst.c_str(), 02751), 0);
  write_through(dst, "again");
  EXPECT_EQ(stat_of(dst).st_mode & 07777, 02751u);
}

}  // namespace
}  // namespace imgtool
