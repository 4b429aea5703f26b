// vmdk driver against qemu-img 7.2 on images qemu makes at test time:
// info fields, map (data vs zero), guest bytes, check, extent-file policy.
#include <sys/stat.h>

#include <array>

#include "formats/driver.hpp"
#include "formats/vmdk_support.hpp"

namespace imgtool::test::vmdk {
namespace {

constexpr uint64_t kSize = 10 << 20;

// allow = false: open_image(), which never opens an extent; true: the
// verdict's image, whose extents the gate opened (--allow-external-files).
std::shared_ptr<const Image> open_vmdk(const std::string& path, bool allow = false) {
  std::shared_ptr<const Image> img;
  if (allow) {
    AssessOptions o;
    o.gate.allow_external_files = true;
    img = assess(path, o).image;
  } else {
    img = open_image(path);
  }
  EXPECT_EQ(img->info().format, Format::Vmdk);
  return img;
}

int probe_bytes(const std::string& s) {
  formats::ProbeInput in{
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(s.data()), s.size()), {}, s.size()};
  return formats::vmdk_probe(in);
}

TEST(VmdkProbe, MagicAndDescriptorTextLikeQemu) {
  EXPECT_EQ(probe_bytes("KDMV"), 100);
  EXPECT_EQ(probe_bytes("COWD\1\0\0\0"), 100);
  EXPECT_EQ(probe_bytes("# Disk DescriptorFile\nversion=1\nCID=1\n"), 100);
  EXPECT_EQ(probe_bytes("# c\r\n   \r\nversion=3\r\nx"), 100);
  EXPECT_EQ(probe_bytes("version=2\n"), 100);
  EXPECT_EQ(probe_bytes("\nversion=1\n"), 0);  // qemu: an empty line is not "blank" (spaces only)
  EXPECT_EQ(probe_bytes("version=4\n"), 0);
  EXPECT_EQ(probe_bytes("version=1"), 0);
  EXPECT_EQ(probe_bytes("createType=\"monolithicFlat\"\nversion=1\n"), 0);
  EXPECT_EQ(probe_bytes("KDM"), 0);
  EXPECT_EQ(probe_bytes(""), 0);
  EXPECT_EQ(probe_bytes(std::string(600, '#')), 0);
}

TEST(VmdkMonolithicSparse, InfoMapDataCheckMatchQemu) {
  TempDir t;
  const std::string raw = t.file("in.raw"), img = t.file("ms.vmdk");
  make_scattered_raw(raw, kSize);
  qemu_img("convert -O vmdk " + q(raw) + " " + q(img));
  EXPECT_EQ(detect_format(*open_file_source(img)), Format::Vmdk);
  auto im = open_vmdk(img);
  expect_info_matches_qemu(im->info(), img);
  expect_map_matches_qemu(*im, img);
  expect_data_matches_qemu(*im, img, t);
  EXPECT_EQ(read_all(*im), read_file(raw));
  CheckReport r = im->check();
  EXPECT_TRUE(r.clean()) << findings_text(r);
  EXPECT_EQ(r.total_clusters.value_or(0), kSize / 65536);
  EXPECT_GT(r.allocated_clusters.value_or(0), 0u);
  EXPECT_EQ(r.compressed_clusters.value_or(1), 0u);
  EXPECT_TRUE(im->info().named_files.empty());
  EXPECT_EQ(run("qemu-img check " + q(img)).exit_code, 0);
}

TEST(VmdkMonolithicSparse, ZeroedGrainsMapAsZero) {
  TempDir t;
  const std::string img = t.file("zg.vmdk");
  qemu_img("create -q -f vmdk -o zeroed_grain=on " + q(img) + " 4M");
  qemu_io(img, "vmdk", "write -P 0x5a 0 192k;write -z 64k 64k");
  auto im = open_vmdk(img);
  Extent e = im->map(65536, 65536);
  EXPECT_EQ(e.kind, ExtentKind::Zero);
  EXPECT_EQ(e.length, 65536u);
  EXPECT_EQ(im->map(0, 1 << 20).kind, ExtentKind::Data);
  expect_map_matches_qemu(*im, img);
  expect_data_matches_qemu(*im, img, t);
  EXPECT_TRUE(im->check().clean()) << findings_text(im->check());
}

TEST(VmdkStreamOptimized, ConvertedImageMatchesQemu) {
  TempDir t;
  const std::string raw = t.file("in.raw"), img = t.file("so.vmdk");
  make_scattered_raw(raw, kSize);
  qemu_img("convert -O vmdk -o subformat=streamOptimized " + q(raw) + " " + q(img));
  auto im = open_vmdk(img);
  expect_info_matches_qemu(im->info(), img);
  EXPECT_EQ(im->info().format_specific_data.find("create-type")->as_string(), "streamOptimized");
  expect_map_matches_qemu(*im, img);
  expect_data_matches_qemu(*im, img, t);
  Extent e = im->map(65536, 65536);
  EXPECT_EQ(e.kind, ExtentKind::Data);
  EXPECT_TRUE(e.compressed);
  CheckReport r = im->check();
  EXPECT_TRUE(r.clean()) << findings_text(r);
  EXPECT_EQ(r.compressed_clusters, r.allocated_clusters);
  // Concurrent readers see the same bytes (grain caches are shared).
  std::string whole = read_all(*im);
  std::vector<std::thread> th;
  std::array<bool, 4> ok{};
  for (int k = 0; k < 4; ++k)
    th.emplace_back([&, k] { ok[static_cast<size_t>(k)] = read_all(*im) == whole; });
  for (auto& x : th) x.join();
  for (bool b : ok) EXPECT_TRUE(b);
}

// Second opinion: libvmdk's vmdkinfo agrees on media size and content ids.
TEST(VmdkSecondOpinion, VmdkinfoAgreesOnSizeAndCid) {
  IMGTOOL_REQUIRE_TOOL("vmdkinfo");  // libvmdk-utils
  TempDir t;
  for (const char* sub : {"monolithicSparse", "streamOptimized"}) {
    const std::string img = t.file(std::string(sub) + ".vmdk");
    qemu_img("create -q -f vmdk -o subformat=" + std::string(sub) + " " + q(img) + " 5M");
    auto im = open_vmdk(img);
    const std::string out = run_ok("vmdkinfo " + q(img));
    EXPECT_NE(out.find("(" + std::to_string(im->info().virtual_size) + " bytes)"), std::string::npos) << out;
    char cid[16];
    std::snprintf(cid, sizeof cid, "0x%08llx",
                  static_cast<unsigned long long>(im->info().format_specific_data.find("cid")->as_int()));
    EXPECT_NE(out.find(cid), std::string::npos) << out;
    EXPECT_NE(out.find("Parent content identifier:\t0xffffffff"), std::string::npos) << out;
  }
}

TEST(VmdkBacking, ParentHintReportedNeverOpened) {
  TempDir t;
  const std::string base = t.file("base.vmdk"), child = t.file("child.vmdk");
  qemu_img("create -q -f vmdk " + q(base) + " 4M");
  qemu_img("create -q -f vmdk -b base.vmdk -F vmdk " + q(child));
  auto im = open_vmdk(child);
  expect_info_matches_qemu(im->info(), child);
  EXPECT_EQ(im->info().backing_filename.value_or(""), "base.vmdk");
  CheckReport r = assess(child).report;
  EXPECT_TRUE(has_finding(r, Severity::Unsafe, "parent", "base.vmdk")) << findings_text(r);
}

struct Split {
  const char* subformat;
  uint64_t size;
  size_t extents;
};

class VmdkDescriptorFiles : public ::testing::TestWithParam<Split> {};

TEST_P(VmdkDescriptorFiles, InfoWithoutOpeningReadWithPermission) {
  const Split& p = GetParam();
  TempDir t;
  const std::string img = t.file("d.vmdk");
  qemu_img("create -q -f vmdk -o subformat=" + std::string(p.subformat) + " " + q(img) + " " +
           std::to_string(p.size));
  // Data at the start, across the 2 GiB split, and at the end.
  std::string cmds = "write -P 0x11 0 64k;write -P 0x22 1M 4k";
  if (p.size > (uint64_t{2} << 30)) cmds += ";write -P 0x33 2147418112 128k";
  cmds += ";write -P 0x44 " + std::to_string(p.size - 65536) + " 64k";
  qemu_io(img, "vmdk", cmds);

  auto im = open_vmdk(img);  // extents never opened
  expect_info_matches_qemu(im->info(), img);
  EXPECT_EQ(im->info().format_specific_data.find("create-type")->as_string(), p.subformat);
  EXPECT_EQ(im->info().named_files.size(), p.extents);
  expect_error([&] { im->map(0, 512); }, ErrorKind::Unsafe, {"vmdk extent", "d-", "separate file"});
  expect_error([&] { read_range(*im, 0, 512); }, ErrorKind::Unsafe, {"separate file"});
  // Read by imgtool: the *.vmdk extents beside the descriptor pass the gate.
  Assessment read = assess(img);
  EXPECT_EQ(read.verdict, Verdict::Clean) << findings_text(read.report);
  EXPECT_EQ(read.opened.size(), p.extents);
  EXPECT_TRUE(has_finding(read.report, Severity::Note, "createType")) << findings_text(read.report);
  // Handed over as they are (publish without --convert-to): unsafe.
  AssessOptions handover;
  handover.purpose = Purpose::HandOver;
  CheckReport r = assess(img, handover).report;
  EXPECT_TRUE(has_finding(r, Severity::Unsafe, "d-", "would be opened")) << findings_text(r);
  EXPECT_TRUE(has_finding(r, Severity::Unsafe, "createType")) << findings_text(r);
  EXPECT_EQ(r.count(Severity::Corruption), 0u) << findings_text(r);

  auto rd = open_vmdk(img, true);
  expect_info_matches_qemu(rd->info(), img);
  expect_map_matches_qemu(*rd, img);
  expect_sparse_data_matches_qemu(*rd, img, t);
  EXPECT_EQ(read_range(*rd, 1 << 20, 4096), std::string(4096, '\x22'));
  if (p.size > (uint64_t{2} << 30)) {
    EXPECT_EQ(read_range(*rd, 2147418112, 131072), std::string(131072, '\x33'));
  }
}

INSTANTIATE_TEST_SUITE_P(Subformats, VmdkDescriptorFiles,
                         ::testing::Values(Split{"monolithicFlat", 8 << 20, 1},
                                           Split{"twoGbMaxExtentSparse", uint64_t{3} << 30, 2},
                                           Split{"twoGbMaxExtentFlat", uint64_t{3} << 30, 2}),
                         [](const auto& pi) { return std::string(pi.param.subformat); });

TEST(VmdkDescriptorFiles, RelativeDescriptorPathCombinesLikeQemu) {
  TempDir t;
  std::filesystem::create_directories(t.path() / "sub");
  qemu_img("create -q -f vmdk -o subformat=monolithicFlat " + q(t.file("sub/f.vmdk")) + " 1M");
  // Open via a relative path with a '..' in the *user's* path: allowed, the
  // extent is combined as qemu does ("sub/../sub/f-flat.vmdk").
  std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(t.path());
  auto im = open_vmdk("sub/../sub/f.vmdk", true);
  expect_info_matches_qemu(im->info(), "sub/../sub/f.vmdk");
  EXPECT_EQ(im->info().format_specific_data.find("extents")->items()[0].find("filename")->as_string(),
            "sub/../sub/f-flat.vmdk");
  EXPECT_EQ(read_range(*im, 0, 512), std::string(512, '\0'));
  std::filesystem::current_path(cwd);
}

TEST(VmdkDescriptorFiles, ZeroAndReadOnlyExtentsSkippedLikeQemu) {
  TempDir t;
  const std::string d = t.file("z.vmdk");
  write_file(t.file("z-flat.vmdk"), random_bytes(1 << 20, 7));
  write_file(
      d,
      "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
      "RW 2048 FLAT \"z-flat.vmdk\" 0\nRW 2048 ZERO\nRDONLY 1024 FLAT \"z-flat.vmdk\" 0\n"
      "RW 1024 FLAT \"z-flat.vmdk\" 1024\nddb.adapterType = \"ide\"\n");
  auto im = open_vmdk(d, true);
  expect_info_matches_qemu(im->info(), d);
  EXPECT_EQ(im->info().virtual_size, (2048u + 1024u) * 512u);
  expect_data_matches_qemu(*im, d, t);
  CheckReport r = im->check();
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "ignored by qemu", "ZERO")) << findings_text(r);
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "ignored by qemu", "RDONLY")) << findings_text(r);
}

}  // namespace
}  // namespace imgtool::test::vmdk
