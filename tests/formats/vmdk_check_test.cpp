// vmdk check() on sparse extents: overlaps found exactly whatever the file
// size, memory that follows the metadata (not the file size), typed findings,
// each grain table read once, and interruption of long walks.
#include <chrono>
#include <fstream>

#include "formats/vmdk_support.hpp"
#include "imgtool/cancel.hpp"

namespace imgtool::test::vmdk {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kTiB = uint64_t{1} << 40;

// A qemu-made monolithicSparse of `size` with `data` written at guest 0; the
// offsets of its grain directory and first grain table, read before any
// padding makes the file too large to read whole.
struct Sparse {
  TempDir t;
  std::string img = t.file("s.vmdk");
  uint64_t gd = 0, gt = 0;
  Sparse(const std::string& size, const std::string& writes) {
    qemu_img("create -q -f vmdk " + q(img) + " " + size);
    qemu_io(img, "vmdk", writes);
    const std::string head = read_file(img);
    gd = load_le(head, 56, 8) * 512;
    gt = load_le(head, gd, 4) * 512;
  }
  uint32_t gte(uint64_t k) const {
    std::ifstream f(img, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(gt + 4 * k));
    std::string b(4, '\0');
    f.read(b.data(), 4);
    return static_cast<uint32_t>(load_le(b, 0, 4));
  }
};

const Finding* find_kind(const CheckReport& r, FindingKind kind, const std::string& a,
                         const std::string& b = "") {
  for (const auto& f : r.findings)
    if (f.kind == kind && f.message.find(a) != std::string::npos && f.message.find(b) != std::string::npos)
      return &f;
  return nullptr;
}

size_t corruptions(const CheckReport& r) {
  return r.count(Severity::Corruption);
}

// A /proc/self/status field in KiB (VmRSS, VmHWM); nullopt if absent.
std::optional<uint64_t> status_kib(const std::string& field) {
  std::ifstream s("/proc/self/status");
  std::string line;
  while (std::getline(s, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  return std::nullopt;
}

// Resets the peak resident size to the current one (Linux: clear_refs 5) and
// returns the current one; nullopt where that is not available.
std::optional<uint64_t> reset_peak_rss() {
  std::ofstream c("/proc/self/clear_refs");
  c << "5";
  c.flush();
  if (!c) return std::nullopt;
  return status_kib("VmRSS");
}

TEST(VmdkCheck, SharedGrainInLargeSparseFiles) {
  // 3 GiB, and 1.5 TiB: past the 1 TiB where the old per-sector bitmap gave
  // up on overlaps.
  for (uint64_t file_size : {3 * kGiB, 3 * kTiB / 2}) {
    SCOPED_TRACE("file size " + std::to_string(file_size));
    Sparse s("64M", "write -P 0x61 0 128k");
    truncate_file(s.img, file_size);
    const uint32_t far = static_cast<uint32_t>((file_size - (uint64_t{1} << 20)) / 512);
    poke_le32(s.img, s.gt + 3 * 4, far);
    poke_le32(s.img, s.gt + 4 * 4, far);  // grains 3 and 4: the same host sectors
    CheckReport r = open_image(s.img)->check();
    const Finding* f =
        find_kind(r, FindingKind::Overlap, "grain 4 (guest 0x40000)", "shares host sectors with grain 3");
    ASSERT_NE(f, nullptr) << findings_text(r);
    EXPECT_EQ(f->severity, Severity::Corruption);
    EXPECT_EQ(corruptions(r), 1u) << findings_text(r);
    EXPECT_EQ(r.allocated_clusters.value_or(0), 4u);
  }
}

TEST(VmdkCheck, FourTiBPaddedFileChecksCleanFastInLittleMemory) {
  Sparse s("1G", "write -P 0x61 0 1M;write -P 0x62 512M 1M");
  const uint64_t end = std::stoull(run_ok("stat -c %s " + q(s.img)));
  truncate_file(s.img, 4 * kTiB);
  auto im = open_image(s.img);
  const std::optional<uint64_t> rss_before = reset_peak_rss();
  const auto t0 = std::chrono::steady_clock::now();
  CheckReport r = im->check();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.clean()) << findings_text(r);
  EXPECT_TRUE(r.findings.empty()) << findings_text(r);
  EXPECT_EQ(r.allocated_clusters.value_or(0), 32u);
  EXPECT_EQ(r.image_end_offset.value_or(0), end);
  EXPECT_LT(secs, 5.0);
  if (rss_before) {
    // A bitmap of the file's sectors would be 1 GiB; the walk needs a few KiB.
    const std::optional<uint64_t> peak = status_kib("VmHWM");
    ASSERT_TRUE(peak.has_value());
    EXPECT_LT(*peak - std::min(*peak, *rss_before), uint64_t{16} << 10)
        << "peak RSS " << *peak << " KiB, " << *rss_before << " KiB before the check";
  }
  // The same file with two grains sharing sectors near its 2 TiB addressable end.
  const uint32_t far = 0xFFFFFF00u;
  poke_le32(s.img, s.gt + 20 * 4, far);
  poke_le32(s.img, s.gt + 21 * 4, far);
  r = open_image(s.img)->check();
  EXPECT_NE(find_kind(r, FindingKind::Overlap, "grain 21", "shares host sectors with grain 20"), nullptr)
      << findings_text(r);
}

TEST(VmdkCheck, GrainTableNamedTwiceIsOneFindingAndOneWalk) {
  Sparse s("64M", "write -P 0x61 0 128k");
  poke_le32(s.img, s.gd + 4, static_cast<uint32_t>(s.gt / 512));  // GD entry 1 names GT 0 too
  CheckReport r = open_image(s.img)->check();
  const Finding* f = find_kind(r, FindingKind::Overlap, "is named by 2 grain directory entries (0, 1)");
  ASSERT_NE(f, nullptr) << findings_text(r);
  EXPECT_EQ(corruptions(r), 1u) << findings_text(r);  // no overlap of GT 0 with itself, no second walk
  EXPECT_EQ(r.allocated_clusters.value_or(0), 2u);
}

TEST(VmdkCheck, FindingKinds) {
  Sparse s("4M", "write -P 0x61 0 128k");
  const uint32_t g0 = s.gte(0);
  poke_le32(s.img, s.gt + 2 * 4, 0x7fffffff);  // grain 2 past EOF
  poke_le32(s.img, s.gt + 3 * 4, 1);           // grain 3 over the descriptor
  poke_le32(s.img, s.gt + 1 * 4, g0);          // grain 1 over grain 0
  CheckReport r = open_image(s.img)->check();
  EXPECT_NE(find_kind(r, FindingKind::PastEof, "grain 2", "past EOF"), nullptr) << findings_text(r);
  EXPECT_NE(find_kind(r, FindingKind::Overlap, "grain 3", "overlaps the descriptor"), nullptr)
      << findings_text(r);
  EXPECT_NE(find_kind(r, FindingKind::Overlap, "grain 1", "shares host sectors with grain 0"), nullptr)
      << findings_text(r);
  poke_le32(s.img, s.gd, 0x00ffffff);  // the grain table past EOF
  r = open_image(s.img)->check();
  EXPECT_NE(find_kind(r, FindingKind::PastEof, "grain table", "past EOF"), nullptr) << findings_text(r);
}

TEST(VmdkCheck, ManyGrainsOnOneSectorAreBounded) {
  // Every GTE of a 1 GiB disk names the same sector: 16384 overlaps, 64
  // listed, the rest counted.
  Sparse s("1G", "write -P 0x61 0 64k");
  const uint32_t g0 = s.gte(0);
  const std::string head = read_file(s.img);
  std::string all_same;
  for (int k = 0; k < 512; ++k) all_same += le_bytes(g0, 4);
  for (uint64_t i = 0; i < 32; ++i) {
    const uint64_t gt = load_le(head, s.gd + 4 * i, 4) * 512;
    poke(s.img, gt, all_same);
  }
  CheckReport r = open_image(s.img)->check();
  EXPECT_EQ(corruptions(r), 64u + 1) << findings_text(r);  // the listed ones and "... and N more"
  EXPECT_NE(find_kind(r, FindingKind::Metadata, "... and ", "more corruption findings"), nullptr);
}

TEST(VmdkCheck, LongWalksStopOnInterrupt) {
  Sparse s("1T", "write -P 0x61 0 64k");  // 32768 grain directory entries
  auto im = open_image(s.img);
  request_interrupt();
  try {
    im->check();
    ADD_FAILURE() << "check ran to the end";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Interrupted) << e.what();
  }
  clear_interrupt();
  EXPECT_TRUE(im->check().clean());
}

}  // namespace
}  // namespace imgtool::test::vmdk
