// Hostile VMDKs: a valid qemu-made image plus one poke, or a hand-written
// descriptor. Each asserts the error kind and the words of its message.
#include <sys/stat.h>
#include <unistd.h>

#include "formats/driver.hpp"
#include "formats/vmdk_support.hpp"

namespace imgtool::test::vmdk {
namespace {

// A 4 MiB monolithicSparse with two allocated grains (qemu layout: header,
// descriptor at sector 1, RGD at 21, GD, GTs, grains from 0x10000).
struct Base {
  TempDir t;
  std::string img = t.file("b.vmdk");
  Base() {
    qemu_img("create -q -f vmdk " + q(img) + " 4M");
    qemu_io(img, "vmdk", "write -P 0x61 0 128k");
  }
  std::string bytes() const { return read_file(img); }
  uint64_t gd_off() const { return load_le(bytes(), 56, 8) * 512; }
  uint64_t gt_off() const { return load_le(bytes(), gd_off(), 4) * 512; }
};

std::unique_ptr<Image> open_mem(const std::string& b) {
  std::vector<std::byte> v(reinterpret_cast<const std::byte*>(b.data()),
                           reinterpret_cast<const std::byte*>(b.data()) + b.size());
  std::shared_ptr<const ByteSource> src = memory_source(std::move(v), "mem.vmdk");
  return open_image(src, OpenOptions{Format::Vmdk});
}

// The verdict with --allow-external-files (imgtool reads what the gate admits).
Assessment assess_allowing(const std::string& path) {
  AssessOptions o;
  o.gate.allow_external_files = true;
  return assess(path, o);
}

std::string flat_descriptor(const std::string& extent_lines, const std::string& ct = "monolithicFlat") {
  return "# Disk DescriptorFile\nversion=1\nCID=0badcafe\nparentCID=ffffffff\ncreateType=\"" + ct + "\"\n" +
         extent_lines + "ddb.adapterType = \"ide\"\n";
}

TEST(VmdkHostile, EveryHeaderPrefixIsRefused) {
  Base b;
  const std::string full = b.bytes();
  for (size_t n = 0; n < 512; ++n) {
    SCOPED_TRACE("prefix " + std::to_string(n));
    try {
      open_mem(full.substr(0, n));
      ADD_FAILURE() << "opened a " << n << "-byte prefix";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
      const char* want = n < 4 ? "too small" : "512 bytes";
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  }
}

TEST(VmdkHostile, HeaderFieldCaps) {
  Base b;
  const std::string full = b.bytes();
  auto with = [&](size_t off, uint64_t v, int n) {
    std::string s = full;
    s.replace(off, static_cast<size_t>(n), le_bytes(v, n));
    return s;
  };
  expect_error([&] { open_mem(with(12, uint64_t{1} << 60, 8)); }, ErrorKind::Format, {"capacity", "limit"});
  for (uint64_t g : {uint64_t{0}, uint64_t{3}, uint64_t{1} << 20})
    expect_error([&] { open_mem(with(20, g, 8)); }, ErrorKind::Format, {"grainSize is", "power of two"});
  for (uint64_t n : {uint64_t{0}, uint64_t{100000}})
    expect_error([&] { open_mem(with(44, n, 4)); }, ErrorKind::Format,
                 {"numGTEsPerGT is", "expected 1..512"});
  expect_error([&] { open_mem(with(56, 1 << 20, 8)); }, ErrorKind::Format, {"grain directory", "past EOF"});
  expect_error([&] { open_mem(with(4, 4, 4)); }, ErrorKind::Unsupported, {"version 4"});
  expect_error([&] { open_mem(with(64, 1 << 30, 8)); }, ErrorKind::Format, {"overHead", "truncated"});
}

TEST(VmdkHostile, HugeDescriptorSizeIsNotAllocated) {
  Base b;
  poke_le64(b.img, 36, uint64_t{1} << 31);  // 2^31 sectors = 1 TiB
  auto im = open_image(b.img);
  EXPECT_EQ(im->info().virtual_size, 4u << 20);
  CheckReport r = im->check();
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "descriptor", "past EOF")) << findings_text(r);
}

TEST(VmdkHostile, GrainTablePastEof) {
  Base b;
  poke_le32(b.img, b.gd_off(), 0x00ffffff);
  auto im = open_image(b.img);  // info still works
  expect_error([&] { im->map(0, 65536); }, ErrorKind::Format, {"grain table", "past EOF"});
  expect_error([&] { read_range(*im, 0, 512); }, ErrorKind::Format, {"grain table", "past EOF"});
  EXPECT_TRUE(has_finding(im->check(), Severity::Corruption, "grain table", "past EOF"));
}

TEST(VmdkHostile, GrainPastEofIntoMetadataAndShared) {
  Base b;
  const uint64_t gt = b.gt_off();
  const uint64_t g0 = load_le(b.bytes(), gt, 4);
  poke_le32(b.img, gt + 8, 0x7fffffff);  // grain 2 past EOF
  auto im = open_image(b.img);
  expect_error([&] { read_range(*im, 2 * 65536, 512); }, ErrorKind::Format, {"grain 2", "past EOF"});
  EXPECT_TRUE(has_finding(im->check(), Severity::Corruption, "grain 2", "past EOF"));
  poke_le32(b.img, gt + 8, static_cast<uint32_t>(g0));  // grain 2 shares grain 0's sectors
  poke_le32(b.img, gt + 12, 1);                         // grain 3 points into the descriptor
  CheckReport r = open_image(b.img)->check();
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "grain 2", "shares host sectors")) << findings_text(r);
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "grain 3", "overlaps the descriptor"))
      << findings_text(r);
}

TEST(VmdkHostile, WrongDescriptorLocationIsAFinding) {
  Base b;
  poke_le64(b.img, 28, 2);
  CheckReport r = open_image(b.img)->check();
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "expected sector 1", "Wrong descriptor location"))
      << findings_text(r);
}

TEST(VmdkHostile, InvalidDescriptorLinesAndSubformat) {
  Base b;
  std::string d = b.bytes().substr(512, 10240);
  d = d.substr(0, d.find('\0'));
  size_t p = d.find("createType=\"monolithicSparse\"");
  ASSERT_NE(p, std::string::npos);
  d.replace(p, 29, "createType=\"monolithicFlat\"\nwronly 1 x \"y\"");
  poke(b.img, 512, d);
  CheckReport r = open_image(b.img)->check();
  // A rule of Glance's: a note for imgtool's own reading, unsafe to hand over.
  EXPECT_TRUE(has_finding(r, Severity::Note, "createType 'monolithicFlat'", "Glance")) << findings_text(r);
  AssessOptions handover;
  handover.purpose = Purpose::HandOver;
  EXPECT_TRUE(has_finding(assess(b.img, handover).report, Severity::Unsafe, "createType 'monolithicFlat'"));
  EXPECT_TRUE(has_finding(r, Severity::Corruption, "wronly", "Invalid VMDK descriptor data"))
      << findings_text(r);
}

TEST(VmdkHostile, AbsoluteExtentReportedNeverOpened) {
  TempDir t;
  const std::string d = t.file("abs.vmdk");
  write_file(d, flat_descriptor("RW 2048 FLAT \"/etc/passwd\" 0\n"));
  for (bool allow : {false, true}) {
    AssessOptions o;
    o.gate.allow_external_files = allow;
    Assessment a = assess(d, o);
    EXPECT_EQ(a.verdict, Verdict::Unsafe);
    const std::shared_ptr<const Image>& im = a.image;
    EXPECT_EQ(im->info().virtual_size, 1u << 20);
    EXPECT_EQ(im->info().format_specific_data.find("extents")->items()[0].find("filename")->as_string(),
              "/etc/passwd");
    struct stat st {};
    ::stat(d.c_str(), &st);
    EXPECT_EQ(im->info().actual_size.value_or(0), uint64_t(st.st_blocks) * 512);  // /etc/passwd not counted
    EXPECT_TRUE(has_finding(a.report, Severity::Unsafe, "/etc/passwd", "absolute path")) << findings_text(a.report);
    expect_error([&] { im->map(0, 512); }, ErrorKind::Unsafe, {"/etc/passwd"});
  }
  write_file(d, flat_descriptor("RW 2048 FLAT \"../x/y-flat.vmdk\" 0\n"));
  Assessment a = assess_allowing(d);
  expect_error([&] { a.image->map(0, 512); }, ErrorKind::Unsafe, {"..", "plain names"});
  EXPECT_TRUE(has_finding(a.report, Severity::Unsafe, "../x/y-flat.vmdk", "escapes"));
}

TEST(VmdkHostile, MissingFifoAndSymlinkExtents) {
  TempDir t;
  const std::string d = t.file("m.vmdk");
  write_file(d, flat_descriptor("RW 2048 FLAT \"m-flat.vmdk\" 0\n"));
  auto im = open_image(d);  // info works, the missing file is never touched
  EXPECT_EQ(im->info().virtual_size, 1u << 20);
  // The extent name ends in .vmdk: the gate admits it by default and the
  // verdict reports what opening it found.
  Assessment a = assess(d);
  EXPECT_EQ(a.verdict, Verdict::Unreadable);
  EXPECT_TRUE(has_finding(a.report, Severity::Unreadable, "m-flat.vmdk", "no such file")) << findings_text(a.report);
  ASSERT_EQ(::mkfifo(t.file("m-flat.vmdk").c_str(), 0600), 0);
  EXPECT_EQ(open_image(d)->info().virtual_size, 1u << 20);  // no hang on the FIFO
  a = assess(d);
  EXPECT_EQ(a.verdict, Verdict::Unsafe);
  EXPECT_TRUE(has_finding(a.report, Severity::Unsafe, "m-flat.vmdk", "not a regular file")) << findings_text(a.report);
  ::unlink(t.file("m-flat.vmdk").c_str());
  ASSERT_EQ(::symlink("/etc/passwd", t.file("m-flat.vmdk").c_str()), 0);
  a = assess(d);
  EXPECT_EQ(a.verdict, Verdict::Unsafe);
  EXPECT_TRUE(has_finding(a.report, Severity::Unsafe, "m-flat.vmdk", "symbolic link")) << findings_text(a.report);
}

TEST(VmdkHostile, MillionExtentLinesAreBounded) {
  TempDir t;
  const std::string d = t.file("many.vmdk");
  std::string s = flat_descriptor("");
  s.reserve(s.size() + 17000000);
  for (int k = 0; k < 1000000; ++k) s += "RW 1 FLAT \"a\" 0\n";
  write_file(d, s);
  expect_error([&] { open_image(d); }, ErrorKind::Unsupported, {"more than 16384"});
}

TEST(VmdkHostile, DescriptorFileOddities) {
  expect_error([&] { open_mem(flat_descriptor("RW 2048 FLAT \"a-flat.vmdk\"\n")); }, ErrorKind::Format,
               {"invalid extent line", "a-flat.vmdk"});
  expect_error([&] { open_mem(flat_descriptor("RW 2048 SPARSE \"a.vmdk\"\n", "monolithicSparse")); },
               ErrorKind::Unsupported, {"createType 'monolithicSparse'"});
  expect_error([&] { open_mem(flat_descriptor("RDONLY 2048 FLAT \"a.vmdk\" 0\n")); }, ErrorKind::Format,
               {"no usable extent"});
  expect_error([&] { open_mem("version=1\ncreateType=\"vmfs\"\nRW 1 VMFS \"a\"\n"); }, ErrorKind::Format,
               {"no readable CID"});
  // qemu's strstr("CID") finds the one inside "parentCID": this opens.
  EXPECT_EQ(open_mem("version=1\nparentCID=0000abcd\ncreateType=\"vmfs\"\nRW 1 VMFS \"a\"\n")
                ->info()
                .format_specific_data.find("cid")
                ->as_int(),
            0xabcd);
  expect_error([&] { open_mem("abc"); }, ErrorKind::Format, {"too small"});
  expect_error([&] { open_mem("version=1\n"); }, ErrorKind::Format, {"createType"});
}

TEST(VmdkHostile, CowdIsDetectionOnly) {
  std::string h(512, '\0');
  h.replace(0, 4, "COWD");
  h.replace(4, 4, le_bytes(1, 4));
  h.replace(12, 4, le_bytes(2048, 4));
  auto im = open_mem(h);
  EXPECT_FALSE(im->readable());
  EXPECT_EQ(im->info().virtual_size, 1u << 20);
  expect_error([&] { im->map(0, 1); }, ErrorKind::Unsupported, {"not readable"});
}

}  // namespace
}  // namespace imgtool::test::vmdk
