// The I/O layer: checked reads, holes, allocated size, atomic output.
#include <gtest/gtest.h>

#include <filesystem>

#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "imgtool/source.hpp"
#include "io/bytes.hpp"
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
