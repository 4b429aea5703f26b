// SpoolSource: byte-exact random reads over a pipe-like stream, the memory
// limit and the temporary file beyond it, nothing left in TMPDIR, released
// ranges refused, drain and the size hint.
#include "io/spool_source.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/verdict.hpp"
#include "sources/spool_feeder.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {

using test::MemoryStream;
using test::PrivateTmpdir;
using test::SocketFeeder;

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string read_str(const ByteSource& src, uint64_t off, size_t len) {
  std::string s(len, '\0');
  s.resize(src.read_at(off, std::as_writable_bytes(std::span<char>(s))));
  return s;
}

TEST(SpoolSource, RandomReadsFromTwoThreadsAreByteExactAndSpillToTheFile) {
  PrivateTmpdir tmp;
  const std::string data = random_bytes(6 << 20 | 12345, 1);
  auto feeder = SocketFeeder::from_bytes(data);
  SpoolSource spool(feeder->stream("pipe"), 1 << 20);
  EXPECT_EQ(spool.known_size(), std::nullopt);  // a pipe announces no size
  auto reader = [&](uint32_t seed) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 300; ++i) {
      const uint64_t off = rng() % (data.size() + 100);
      const size_t len = 1 + rng() % 300000;
      const std::string got = read_str(spool, off, len);
      const std::string want = off < data.size() ? data.substr(off, len) : "";
      ASSERT_EQ(got.size(), want.size()) << "at " << off;
      ASSERT_TRUE(got == want) << "at " << off;
    }
  };
  std::thread t1(reader, 2), t2(reader, 3);
  t1.join();
  t2.join();
  EXPECT_EQ(spool.size(), data.size());
  EXPECT_EQ(spool.known_size(), data.size());
  EXPECT_LE(spool.peak_memory(), uint64_t(1) << 20);
  EXPECT_GT(spool.peak_file(), 0u);
  EXPECT_EQ(spool.peak_memory() + spool.peak_file(), data.size());  // nothing released: all held
  EXPECT_EQ(tmp.entries(), 0u) << "the temporary file has no name";
}

TEST(SpoolSource, NothingLeftInTmpdirWhenDestroyedMidway) {
  PrivateTmpdir tmp;
  const std::string data = random_bytes(8 << 20, 4);
  {
    auto feeder = SocketFeeder::from_bytes(data);
    auto spool = std::make_unique<SpoolSource>(feeder->stream(), 256 << 10);
    EXPECT_EQ(read_str(*spool, 3 << 20, 10), data.substr(3 << 20, 10));
    EXPECT_GT(spool->peak_file(), 0u);
    EXPECT_EQ(tmp.entries(), 0u);
    spool.reset();  // the stream is not at its end: the feeder is cut off
  }
  EXPECT_EQ(tmp.entries(), 0u);
}

TEST(SpoolSource, ReleasedRangesAreRefusedTheRestStays) {
  const std::string data = random_bytes(3 << 20, 5);
  auto s = std::make_unique<MemoryStream>(data, "memory", 7777, false);
  SpoolSource spool(std::move(s), 8 << 20);
  EXPECT_EQ(read_str(spool, 0, 2 << 20), data.substr(0, 2 << 20));
  spool.release(100000, 500000);
  EXPECT_EQ(read_str(spool, 99000, 1000), data.substr(99000, 1000));    // just before
  EXPECT_EQ(read_str(spool, 600000, 1000), data.substr(600000, 1000));  // just after
  try {
    read_str(spool, 599999, 2);
    FAIL() << "read of a released byte";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("already passed on"), std::string::npos) << e.what();
  }
  // The first 64 KiB stay whatever is released (the probe window).
  spool.release(0, 1 << 20);
  EXPECT_EQ(read_str(spool, 0, 65536), data.substr(0, 65536));
  EXPECT_THROW(read_str(spool, 65536, 1), Error);
  // 2 MiB arrived; the short piece left of the first cut was copied out.
  EXPECT_GE(spool.peak_memory(), uint64_t(2) << 20);
  EXPECT_LE(spool.peak_memory(), (uint64_t(2) << 20) + 100000);
  spool.drain();  // keeps what was not released
  EXPECT_EQ(spool.known_size(), data.size());
  EXPECT_EQ(read_str(spool, 2 << 20, 1 << 20), data.substr(2 << 20));
}

TEST(SpoolSource, ReleaseInTheFilePunchesAndOnePassGatesConsumed) {
  PrivateTmpdir tmp;
  const std::string data = random_bytes(4 << 20, 6);
  SpoolSource spool(std::make_unique<MemoryStream>(data, "memory", 1 << 20, false), 1 << 20);
  spool.consumed(0, 4 << 20);  // one-pass mode is off: a no-op
  EXPECT_FALSE(spool.one_pass());
  EXPECT_EQ(read_str(spool, (4 << 20) - 100, 100), data.substr((4 << 20) - 100, 100));
  EXPECT_EQ(spool.peak_file(), uint64_t(3) << 20);
  spool.set_one_pass(true);
  spool.consumed(1 << 20, 2 << 20);
  EXPECT_THROW(read_str(spool, 2 << 20, 1), Error);
  EXPECT_EQ(read_str(spool, (1 << 20) - 2, 2), data.substr((1 << 20) - 2, 2));  // just before
  EXPECT_EQ(read_str(spool, 3 << 20, 2), data.substr(3 << 20, 2));              // just after
  // The last bytes that arrived are kept even when released (the probe tail).
  spool.consumed(3 << 20, 1 << 20);
  spool.drain();
  EXPECT_EQ(read_str(spool, data.size() - 512, 512), data.substr(data.size() - 512));
  EXPECT_THROW(read_str(spool, data.size() - 8192, 512), Error);
}

TEST(SpoolSource, SizeHintIsUsedWithoutReading) {
  const std::string data = random_bytes(300000, 7);
  auto s = std::make_unique<MemoryStream>(data, "memory", 4096, true);
  const MemoryStream* raw = s.get();
  SpoolSource spool(std::move(s), 1 << 20);
  EXPECT_EQ(spool.size(), data.size());
  EXPECT_EQ(raw->position(), 0u);
  EXPECT_EQ(read_str(spool, 299990, 100), data.substr(299990));
  EXPECT_EQ(read_str(spool, 300000, 10), "");
  spool.drain();
}

TEST(SpoolSource, WithoutHintSizeReadsToTheEndAndKeepsIt) {
  const std::string data = random_bytes(2500000, 8);
  auto feeder = SocketFeeder::from_bytes(data);
  SpoolSource spool(feeder->stream(), 64 << 20);
  EXPECT_EQ(spool.size(), data.size());
  EXPECT_EQ(read_str(spool, 0, data.size()), data);
  EXPECT_EQ(spool.peak_file(), 0u);
}

TEST(SpoolSource, ReadVectorOfAClaimedSizeAllocatesOnlyWhatArrives) {
  const std::string data = random_bytes(1000, 9);
  SpoolSource spool(std::make_unique<MemoryStream>(data, "memory", 100, false), 1 << 20);
  // A header claiming a 4 GiB table: refused once the stream ends, not allocated.
  EXPECT_THROW(spool.read_vector(0, uint64_t(4) << 30), Error);
  EXPECT_EQ(spool.read_vector(10, 990).size(), 990u);
}

// Random access (info, check): the spool is read to its end for the probe
// window's tail, so a fixed VHD, which is nothing but a footer, is still
// recognised from a pipe; a qcow2 is assessed as from its file.
TEST(SpoolSource, RandomAccessUsersSeeTheWholeImage) {
  IMGTOOL_REQUIRE_TOOL("qemu-img");
  test::TempDir dir;
  const std::string vhd = dir.file("fixed.vhd"), q = dir.file("q.qcow2");
  test::qemu_img("create -q -f vpc -o subformat=fixed " + test::sh_quote(vhd) + " 4M");
  test::qemu_img("create -q -f qcow2 " + test::sh_quote(q) + " 64M");
  test::qemu_io(q, "qcow2", "write -P 7 1M 64k");
  {
    auto feeder = SocketFeeder::from_file(vhd);
    SpoolSource spool(feeder->stream(vhd), 1 << 20);
    EXPECT_EQ(detect_format(spool), Format::Vpc);
  }
  auto feeder = SocketFeeder::from_file(q);
  auto spool = std::make_shared<SpoolSource>(feeder->stream(q), 1 << 20);
  const Assessment a = assess(spool);
  EXPECT_EQ(a.report.format, Format::Qcow2);
  EXPECT_EQ(a.verdict, Verdict::Clean);
  EXPECT_FALSE(a.check_deferred);
  EXPECT_EQ(spool->known_size(), std::filesystem::file_size(q));
}

}  // namespace
}  // namespace imgtool
