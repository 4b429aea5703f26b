// One-pass reading of a streamOptimized vmdk from a pipe-like stream: the
// marker walk serves guest reads front to back without the footer, the grain
// directory and the tables at the end of the file; the deferred check then
// opens the image through them and compares.
#include <gtest/gtest.h>

#include <iostream>

#include "sources/one_pass_util.hpp"

namespace imgtool {
namespace {

using test::make_raw;
using test::qemu_img;
using test::sh_quote;

constexpr uint64_t MiB = uint64_t(1) << 20;

uint64_t le_at(const std::string& b, uint64_t off, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(b.at(off + i));
  return v;
}

class OnePassVmdk : public ::testing::Test {
 protected:
  void SetUp() override { IMGTOOL_REQUIRE_TOOL("qemu-img"); }
  // 256 MiB virtual, 40 MiB of data (half random, half compressible) in
  // several grain tables.
  std::string source_raw() {
    const std::string src = dir_.file("src.raw");
    make_raw(src, 256 * MiB,
             {{0, 6 * MiB}, {10 * MiB, 8 * MiB}, {64 * MiB + 65536, 12 * MiB}, {200 * MiB, 14 * MiB}});
    return src;
  }
  // As qemu-img writes streamOptimized: grain directory and tables at the
  // front (filled in when it closes the file), grains with markers after.
  std::string qemu_stream_optimized() {
    const std::string out = dir_.file("qemu.vmdk");
    qemu_img("convert -f raw -O vmdk -o subformat=streamOptimized " + sh_quote(source_raw()) + " " +
             sh_quote(out));
    qemu_img("convert -O raw " + sh_quote(out) + " " + sh_quote(out + ".expected.raw"));
    return out;
  }
  // As VMware and imgtool write it to a stream: gdOffset GD_AT_END, the
  // tables after the grains, the footer naming them. (imgtool patches the
  // real gdOffset into the header of a file; GD_AT_END is put back.)
  std::string gd_at_end() {
    const std::string out = dir_.file("stream.vmdk");
    test::run_ok(sh_quote(test::imgtool_bin()) + " convert -q -f raw -O vmdk -o subformat=streamOptimized " +
                 sh_quote(source_raw()) + " " + sh_quote(out));
    test::poke_le64(out, 56, ~uint64_t{0});
    qemu_img("convert -O raw " + sh_quote(out) + " " + sh_quote(out + ".expected.raw"));
    return out;
  }
  test::TempDir dir_;
};

bool has_finding(const Assessment& a, const std::string& words) {
  for (const auto& f : a.report.findings)
    if (f.message.find(words) != std::string::npos) return true;
  return false;
}

TEST_F(OnePassVmdk, QemuImgStreamOptimizedFromAPipeIsByteExactWithASmallSpool) {
  const std::string img = qemu_stream_optimized();
  const auto r = test::one_pass_convert(img, img + ".expected.raw", 64 * MiB);
  std::cout << "[ spool    ] streamOptimized vmdk by qemu-img (tables in front): peak memory "
            << r.peak_memory << " B, peak file " << r.peak_file << " B\n";
  EXPECT_TRUE(r.converted) << r.error;
  EXPECT_EQ(r.first.report.format, Format::Vmdk);
  EXPECT_TRUE(r.first.check_deferred);
  EXPECT_EQ(r.first.verdict, Verdict::Clean);
  EXPECT_EQ(r.final.verdict, Verdict::Clean) << (r.final.deciding() ? r.final.deciding()->message : "");
  EXPECT_LT(r.peak_memory, 8 * MiB);
  EXPECT_EQ(r.peak_file, 0u);
}

TEST_F(OnePassVmdk, GdAtEndIsReadThroughItsMarkersWithASmallSpool) {
  const std::string img = gd_at_end();
  const auto r = test::one_pass_convert(img, img + ".expected.raw", 64 * MiB);
  std::cout << "[ spool    ] streamOptimized vmdk, GD_AT_END (marker walk): peak memory " << r.peak_memory
            << " B, peak file " << r.peak_file << " B\n";
  EXPECT_TRUE(r.converted) << r.error;
  EXPECT_TRUE(r.first.check_deferred);
  EXPECT_EQ(r.first.verdict, Verdict::Clean);
  EXPECT_EQ(r.final.verdict, Verdict::Clean) << (r.final.deciding() ? r.final.deciding()->message : "");
  // The walk finds the grains of the jobs the pipeline plans ahead (its
  // window of 2 MiB chunks and map()'s 4 MiB look-ahead): those are held
  // until a worker reads them.
  EXPECT_LT(r.peak_memory, 16 * MiB);
  EXPECT_EQ(r.peak_file, 0u);
}

TEST_F(OnePassVmdk, DeferredCheckFindsATableThatDisagreesWithTheMarkers) {
  const std::string img = gd_at_end();
  const std::string expect = img + ".expected.raw";
  // The footer's header copy names the grain directory; grain 0's table
  // entry becomes 0: the marker is in the stream, the tables say "no grain".
  const std::string b = test::read_file(img);
  const uint64_t footer_header = b.size() - 1024;
  const uint64_t gd = le_at(b, footer_header + 56, 8) * 512;
  const uint64_t gt = le_at(b, gd, 4) * 512;
  ASSERT_NE(le_at(b, gt, 4), 0u);
  test::poke(img, gt, std::string(4, '\0'));
  const auto r = test::one_pass_convert(img, expect, 64 * MiB);
  EXPECT_TRUE(r.converted) << r.error;  // the stream's bytes are the right ones
  EXPECT_EQ(r.first.verdict, Verdict::Clean);
  EXPECT_EQ(r.final.verdict, Verdict::Corrupt);
  EXPECT_TRUE(has_finding(r.final, "tables say zeros"));
}

TEST_F(OnePassVmdk, AGrainOutOfGuestOrderIsRefusedNotMisread) {
  const std::string img = gd_at_end();
  // Swap the LBAs of the first two grain markers: grain 1 now arrives first.
  const std::string b = test::read_file(img);
  const uint64_t first = le_at(b, 64, 8) * 512;  // overHead: where the first marker is
  const uint64_t size0 = le_at(b, first + 8, 4);
  ASSERT_EQ(le_at(b, first, 8), 0u);
  const uint64_t second = (first + 12 + size0 + 511) / 512 * 512;
  ASSERT_EQ(le_at(b, second, 8), 128u);
  test::poke_le64(img, first, 128);
  test::poke_le64(img, second, 0);
  const auto r = test::one_pass_convert(img, img + ".expected.raw", 64 * MiB);
  EXPECT_FALSE(r.converted);
  EXPECT_NE(r.error.find("not in guest order"), std::string::npos) << r.error;
  EXPECT_TRUE(r.final.refuses());
}

}  // namespace
}  // namespace imgtool
