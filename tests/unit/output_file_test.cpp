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

std::string link_of(const std::string& path) {
  return std::filesystem::read_symlink(path).string();
}

// The message of create_atomic_file(dst), or "" when it succeeds (the sink
// is dropped unfinished, so nothing is renamed over anything).
std::string create_error(const std::string& dst) {
  try {
    create_atomic_file(dst);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(OutputFile, SymlinkChainIsWrittenThrough) {
  TempDir d;
  std::filesystem::create_directories(d.path() / "a");
  std::filesystem::create_directories(d.path() / "b");
  test::write_file(d.file("b/disk.img"), "old");
  ASSERT_EQ(::chmod(d.file("b/disk.img").c_str(), 0640), 0);
  // Relative targets are resolved against each link's own directory.
  std::filesystem::create_symlink("../b/hop", d.file("a/out.img"));
  std::filesystem::create_symlink("disk.img", d.file("b/hop"));
  {
    ScopedUmask u(022);
    auto sink = create_atomic_file(d.file("a/out.img"));
    std::string s = "image bytes";
    sink->write(std::as_bytes(std::span(s)));
    // The temporary file lives beside the final target (same file system,
    // so the rename is atomic), not beside the link.
    int beside_target = 0, beside_link = 0;
    for (auto& e : std::filesystem::directory_iterator(d.path() / "b"))
      beside_target += e.path().filename().string().rfind("disk.img.imgtool-", 0) == 0;
    for (auto& e : std::filesystem::directory_iterator(d.path() / "a"))
      beside_link += e.path().filename().string().find(".imgtool-") != std::string::npos;
    EXPECT_EQ(beside_target, 1);
    EXPECT_EQ(beside_link, 0);
    sink->finish();
  }
  EXPECT_EQ(link_of(d.file("a/out.img")), "../b/hop");
  EXPECT_EQ(link_of(d.file("b/hop")), "disk.img");
  EXPECT_TRUE(S_ISREG(stat_of(d.file("b/disk.img")).st_mode));
  EXPECT_EQ(test::read_file(d.file("b/disk.img")), "image bytes");
  EXPECT_EQ(stat_of(d.file("b/disk.img")).st_mode & 07777, 0640u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path() / "b"), {}), 2);
}

TEST(OutputFile, AbsoluteSymlinkIsWrittenThrough) {
  TempDir d;
  test::write_file(d.file("disk.img"), "old");
  std::filesystem::create_symlink(d.file("disk.img"), d.file("link"));
  write_through(d.file("link"), "new");
  EXPECT_EQ(link_of(d.file("link")), d.file("disk.img"));
  EXPECT_EQ(test::read_file(d.file("disk.img")), "new");
}

TEST(OutputFile, DanglingSymlinkCreatesItsTarget) {
  TempDir d;
  std::filesystem::create_directories(d.path() / "images");
  std::filesystem::create_symlink("images/new.img", d.file("link"));
  {
    ScopedUmask u(022);
    write_through(d.file("link"), "fresh");
  }
  EXPECT_EQ(link_of(d.file("link")), "images/new.img");
  EXPECT_EQ(test::read_file(d.file("images/new.img")), "fresh");
  EXPECT_EQ(stat_of(d.file("images/new.img")).st_mode & 07777, 0644u);
}

TEST(OutputFile, SymlinkLoopIsAClearError) {
  TempDir d;
  std::filesystem::create_symlink("b", d.file("a"));
  std::filesystem::create_symlink("a", d.file("b"));
  std::filesystem::create_symlink("self", d.file("self"));
  for (const char* name : {"a", "self"}) {
    const std::string msg = create_error(d.file(name));
    EXPECT_NE(msg.find(d.file(name) + ": symbolic link loop"), std::string::npos) << msg;
  }
  EXPECT_EQ(link_of(d.file("a")), "b");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path()), {}), 3);
  // Not a loop, but longer than the kernel would follow.
  for (int i = 0; i < 45; ++i)
    std::filesystem::create_symlink("l" + std::to_string(i + 1), d.file("l" + std::to_string(i)));
  const std::string msg = create_error(d.file("l0"));
  EXPECT_NE(msg.find("more than 40 symbolic links"), std::string::npos) << msg;
}

TEST(OutputFile, OtherFileTypesAreRefused) {
  TempDir d;
  std::filesystem::create_directories(d.path() / "dir");
  ASSERT_EQ(::mkfifo(d.file("fifo").c_str(), 0600), 0);
  std::filesystem::create_symlink("/dev/null", d.file("null"));
  std::filesystem::create_symlink("dir", d.file("dirlink"));
  EXPECT_NE(create_error(d.file("dir")).find("dir: is a directory"), std::string::npos)
      << create_error(d.file("dir"));
  EXPECT_NE(create_error(d.file("fifo")).find("fifo: is a FIFO;"), std::string::npos)
      << create_error(d.file("fifo"));
  EXPECT_NE(create_error(d.file("null")).find("null: its target '/dev/null' is a character device;"),
            std::string::npos)
      << create_error(d.file("null"));
  EXPECT_NE(create_error(d.file("dirlink")).find("its target '" + d.file("dir") + "' is a directory"),
            std::string::npos)
      << create_error(d.file("dirlink"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path()), {}), 4) << "temporary file left";
  // A path through a regular file: the lookup itself fails.
  test::write_file(d.file("plain"), "x");
  std::filesystem::create_symlink("plain/x.img", d.file("through-file"));
  EXPECT_NE(create_error(d.file("plain/x.img")).find("plain/x.img: cannot look up: Not a directory"),
            std::string::npos)
      << create_error(d.file("plain/x.img"));
  EXPECT_NE(create_error(d.file("through-file"))
                .find("cannot look up its target '" + d.file("plain/x.img") + "': Not a directory"),
            std::string::npos)
      << create_error(d.file("through-file"));
}

}  // namespace
}  // namespace imgtool
