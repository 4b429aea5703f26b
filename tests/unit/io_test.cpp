// The I/O layer: checked reads, holes, allocated size, atomic output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "imgtool/source.hpp"
#include "io/bytes.hpp"
#include "io/unique_fd.hpp"
#include "io/zero_range.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::TempDir;

TEST(Bytes, LoadsAreBoundsChecked) {
  std::byte b[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  EXPECT_EQ(io::load_be32(b, 0), 0x01020304u);
  EXPECT_EQ(io::load_le32(b, 0), 0x04030201u);
  EXPECT_EQ(io::load_be16(b, 2), 0x0304u);
  EXPECT_THROW(io::load_be32(b, 1), Error);
  EXPECT_THROW(io::load_be64(b, 0), Error);
  EXPECT_THROW(io::load_u8(b, SIZE_MAX), Error);
}

TEST(Bytes, CheckedMath) {
  EXPECT_EQ(io::checked_add(1, 2, "x"), 3u);
  EXPECT_THROW(io::checked_add(UINT64_MAX, 1, "x"), Error);
  EXPECT_THROW(io::checked_mul(uint64_t(1) << 40, uint64_t(1) << 40, "table size"), Error);
}

TEST(FileSource, ReadPastEofNamesOffset) {
  TempDir d;
  test::write_file(d.file("f"), std::string(100, 'a'));
  auto src = open_file_source(d.file("f"));
  EXPECT_EQ(src->size(), 100u);
  std::vector<std::byte> buf(10);
  src->read_exact(90, buf);
  try {
    src->read_exact(95, buf);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_EQ(e.offset(), 95u);
    EXPECT_NE(std::string(e.what()).find("past end of file (100 bytes)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(src->read_at(95, buf), 5u);
  EXPECT_THROW(src->read_vector(50, uint64_t(1) << 40), Error);  // refused before allocating
}

TEST(FileSource, ErrorsNameThePath) {
  TempDir d;
  try {
    open_file_source(d.file("missing"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing: no such file"), std::string::npos);
  }
  try {
    open_file_source(d.path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos);
  }
}

// The message of open_file_source(path), or "" when it opens.
std::string open_error(const std::string& path) {
  try {
    open_file_source(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(FileSource, RefusesFifoAtOnce) {
  TempDir d;
  const std::string fifo = d.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Hold the FIFO open for writing, so that a regression (a blocking open)
  // fails this test instead of hanging it; the CLI test covers the hang itself.
  io::UniqueFd writer(::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(writer);
  EXPECT_NE(open_error(fifo).find("fifo: is a FIFO;"), std::string::npos) << open_error(fifo);
}

TEST(FileSource, RefusesSocket) {
  TempDir d;
  const std::string path = d.file("sock");
  io::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(s);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
  EXPECT_NE(open_error(path).find("sock: is a socket;"), std::string::npos) << open_error(path);
}

TEST(FileSource, RefusesCharacterDevices) {
  for (const char* dev : {"/dev/null", "/dev/zero"})
    EXPECT_NE(open_error(dev).find(std::string(dev) + ": is a character device;"), std::string::npos)
        << open_error(dev);
}

TEST(FileSource, HolesAndAllocatedSize) {
  TempDir d;
  std::string p = d.file("sparse");
  test::write_file(p, std::string(4096, 'x'));
  test::truncate_file(p, 64 << 20);
  test::poke(p, 32 << 20, std::string(4096, 'y'));
  auto src = open_file_source(p);
  EXPECT_EQ(src->next_data(0), 0u);
  uint64_t hole = src->next_hole(0);
  EXPECT_GE(hole, 4096u);
  EXPECT_LE(hole, uint64_t(32) << 20);
  EXPECT_EQ(src->next_data(hole), uint64_t(32) << 20);
  EXPECT_LT(src->allocated_size(), uint64_t(1) << 20);
}

// zero_range() on a file: where fallocate(FALLOC_FL_ZERO_RANGE) works (ext4,
// xfs) and where it does not and zeros are written (tmpfs).
TEST(ZeroRange, ZeroesExactlyTheRange) {
  TempDir d;
  std::vector<std::string> dirs = {d.path().string()};
  if (std::filesystem::is_directory("/dev/shm")) dirs.push_back("/dev/shm");
  for (const std::string& dir : dirs) {
    const std::string p = dir + "/zero-range-" + std::to_string(::getpid());
    test::write_file(p, std::string(3 << 20, '\xa5'));
    {
      io::UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
      ASSERT_TRUE(fd);
      EXPECT_EQ(io::zero_range(fd.get(), 100, (2 << 20) + 300, 512), 0);  // unaligned head and tail
      EXPECT_EQ(io::zero_range(fd.get(), (3 << 20) - 10, 5, 512), 0);     // short
    }
    std::string want(3 << 20, '\xa5');
    want.replace(100, (2 << 20) + 300, (2 << 20) + 300, '\0');
    want.replace((3 << 20) - 10, 5, 5, '\0');
    EXPECT_TRUE(test::read_file(p) == want) << dir;
    std::filesystem::remove(p);
  }
}

TEST(AtomicFile, RenameOnFinishOnly) {
  TempDir d;
  std::string dst = d.file("out.img");
  {
    auto sink = create_atomic_file(dst);
    std::string s = "hello";
    sink->write(std::as_bytes(std::span(s)));
    sink->write_zeros(1 << 20);
    EXPECT_FALSE(std::filesystem::exists(dst));
    sink->finish();
  }
  EXPECT_EQ(std::filesystem::file_size(dst), 5u + (1 << 20));
  {
    auto sink = create_atomic_file(d.file("aborted.img"));
    sink->write_zeros(10);
  }  // destroyed without finish
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path())) {
    (void)e;
    ++n;
  }
  EXPECT_EQ(n, 1) << "temporary file left behind";
}

}  // namespace
}  // namespace imgtool
