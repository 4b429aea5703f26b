// A VMware-style streamOptimized VMDK built by hand: gdOffset = GD_AT_END,
// grain markers, GT/GD markers, footer and end-of-stream marker (VMDK spec
// "Stream-Optimized Compressed Sparse Extents"). qemu-img reads it too, so
// imgtool must agree with `qemu-img convert -O raw` byte for byte.
#include "formats/vmdk_support.hpp"

namespace imgtool::test::vmdk {
namespace {

constexpr uint64_t kGrain = 65536;
constexpr uint64_t kCapacitySectors = 8192;  // 4 MiB

std::string pad512(std::string s) {
  s.resize((s.size() + 511) / 512 * 512, '\0');
  return s;
}

std::string header(uint64_t gd_offset) {
  std::string h(512, '\0');
  auto put = [&](size_t off, uint64_t v, int n) { h.replace(off, static_cast<size_t>(n), le_bytes(v, n)); };
  h.replace(0, 4, "KDMV");
  put(4, 3, 4);                             // version
  put(8, 1u | (1u << 16) | (1u << 17), 4);  // NL detect, compressed, markers
  put(12, kCapacitySectors, 8);             // capacity
  put(20, 128, 8);                          // grainSize
  put(28, 1, 8);                            // descriptorOffset
  put(36, 20, 8);                           // descriptorSize
  put(44, 512, 4);                          // numGTEsPerGT
  put(48, 0, 8);                            // rgdOffset
  put(56, gd_offset, 8);                    // gdOffset
  put(64, 21, 8);                           // overHead
  h.replace(73, 4, "\n \r\n");
  put(77, 1, 2);  // compressAlgorithm deflate
  return h;
}

std::string marker(uint64_t val, uint32_t type) {
  return pad512(le_bytes(val, 8) + le_bytes(0, 4) + le_bytes(type, 4));
}

struct Stream {
  std::string file;
  std::string guest;  // expected guest bytes
  uint64_t footer_off = 0;
};

Stream build_stream() {
  Stream s;
  s.guest.assign(kCapacitySectors * 512, '\0');
  s.guest.replace(0, kGrain, random_bytes(kGrain, 3));
  s.guest.replace(5 * kGrain + 100, 11, "hello world");
  s.guest.replace(63 * kGrain, kGrain, std::string(kGrain, 'z'));
  s.file = header(~uint64_t{0});
  s.file += pad512(
      "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
      "createType=\"streamOptimized\"\n\nRW 8192 SPARSE \"gen.vmdk\"\n\n"
      "ddb.virtualHWVersion = \"4\"\nddb.adapterType = \"lsilogic\"\n");
  s.file.resize(21 * 512, '\0');
  std::vector<uint32_t> gt(512, 0);
  for (uint64_t g : {0, 5, 17, 63}) {  // grain 17 is an explicitly stored all-zero grain
    std::string z = zlib_compress(s.guest.substr(g * kGrain, kGrain));
    gt[g] = static_cast<uint32_t>(s.file.size() / 512);
    s.file += pad512(le_bytes(g * 128, 8) + le_bytes(z.size(), 4) + z);
  }
  s.file += marker(4, 1);  // GT marker: 4 sectors follow
  const uint64_t gt_sector = s.file.size() / 512;
  for (uint32_t e : gt) s.file += le_bytes(e, 4);
  s.file += marker(1, 2);  // GD marker
  const uint64_t gd_sector = s.file.size() / 512;
  s.file += pad512(le_bytes(gt_sector, 4));
  s.footer_off = s.file.size();
  s.file += marker(1, 3);
  s.file += header(gd_sector);
  s.file += std::string(512, '\0');  // end-of-stream
  return s;
}

TEST(VmdkStreamFooter, HandBuiltGdAtEndMatchesQemu) {
  TempDir t;
  const std::string img = t.file("gen.vmdk");
  Stream s = build_stream();
  write_file(img, s.file);
  auto im = open_image(img);
  ASSERT_EQ(im->info().format, Format::Vmdk);
  EXPECT_EQ(im->info().virtual_size, kCapacitySectors * 512);
  expect_info_matches_qemu(im->info(), img);
  EXPECT_EQ(read_all(*im), s.guest);
  expect_data_matches_qemu(*im, img, t);
  expect_map_matches_qemu(*im, img);
  CheckReport r = im->check();
  EXPECT_TRUE(r.clean()) << findings_text(r);
  EXPECT_EQ(r.allocated_clusters.value_or(0), 4u);
  EXPECT_EQ(r.compressed_clusters.value_or(0), 4u);
}

TEST(VmdkStreamFooter, FooterThatDisagreesWithHeaderIsCorruption) {
  TempDir t;
  const std::string img = t.file("gen.vmdk");
  Stream s = build_stream();
  write_file(img, s.file);
  poke_le64(img, s.footer_off + 512 + 36, 40);  // footer descriptorSize 40 vs header 20
  auto im = open_image(img);
  CheckReport r = im->check();
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "footer header", "differs")) << findings_text(r);
  poke(img, s.footer_off + 100, "x");  // footer marker padding
  EXPECT_TRUE(has_finding(open_image(img)->check(), Severity::Corruption, "footer marker", "padding"));
}

TEST(VmdkStreamFooter, BadFooterMarkerRefusedLikeQemu) {
  TempDir t;
  const std::string img = t.file("gen.vmdk");
  Stream s = build_stream();
  write_file(img, s.file);
  poke_le32(img, s.footer_off + 12, 2);  // footer marker type 2 instead of 3
  expect_error([&] { open_image(img); }, ErrorKind::Format,
               {"invalid footer", "type 2", "expected size 0 type 3"});
  EXPECT_NE(run("qemu-img info " + q(img)).exit_code, 0);
  write_file(img, s.file);
  poke(img, s.footer_off + 512, "XXXX");  // header copy magic
  expect_error([&] { open_image(img); }, ErrorKind::Format, {"invalid footer", "KDMV"});
}

TEST(VmdkStreamFooter, GrainMarkerLbaMismatchAndGarbage) {
  TempDir t;
  const std::string img = t.file("gen.vmdk");
  Stream s = build_stream();
  write_file(img, s.file);
  // Grain 5's marker sits right after grain 0's; find it through the GT.
  const uint64_t gt_off = (s.footer_off - 512 - 512 - 2048);
  const uint64_t g5 = load_le(s.file, gt_off + 5 * 4, 4) * 512;
  poke_le64(img, g5, 7 * 128);
  auto im = open_image(img);
  expect_error([&] { read_range(*im, 5 * kGrain, 512); }, ErrorKind::Format, {"lba 896", "expected 640"});
  EXPECT_TRUE(has_finding(im->check(), Severity::Corruption, "lba 896"));
  write_file(img, s.file);
  poke(img, g5 + 12, "garbage!");
  auto im2 = open_image(img);
  expect_error([&] { read_range(*im2, 5 * kGrain, 512); }, ErrorKind::Format,
               {"compressed grain 5", "inflate"});
  EXPECT_EQ(read_range(*im2, 0, 4096), s.guest.substr(0, 4096));  // other grains still fine
}

}  // namespace
}  // namespace imgtool::test::vmdk
