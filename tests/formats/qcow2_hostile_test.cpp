// Hostile qcow2 images: a valid qemu-made image with one field poked (qemu
// tests/qemu-iotests/080 style). Each case asserts the error kind and the key
// part of the message; none may crash (the suite also runs under ASan).
#include "formats/qcow2/qcow2_reader.hpp"
#include "formats/qcow2_support.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::expect_error;
using test::open_qcow2;
using test::poke_be32;
using test::poke_be64;
using test::qemu_img;
using test::qemu_io;
using test::TempDir;

// Layout of a fresh 1 MiB image (64 KiB clusters): header, refcount table at
// 0x10000, refcount block at 0x20000, L1 at 0x30000; after writing 128 KiB:
// L2 at 0x40000, data at 0x50000 and 0x60000.
constexpr uint64_t kReftable = 0x10000, kL1 = 0x30000, kL2 = 0x40000;
constexpr uint64_t kCopied = uint64_t(1) << 63;

std::string fresh(const TempDir& d, bool with_data = true) {
  const std::string img = d.file("h.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 1M");
  if (with_data) qemu_io(img, "qcow2", "write -P 1 0 128k");
  return img;
}

TEST(Qcow2Hostile, TruncatedHeaderPrefixes) {
  TempDir d;
  const std::string img = fresh(d, false);
  const std::string bytes = test::read_file(img);
  const std::string cut = d.file("cut.qcow2");
  for (size_t len = 0; len <= 112 + 8; ++len) {
    test::write_file(cut, bytes.substr(0, len));
    try {
      auto i = open_qcow2(cut);
      ADD_FAILURE() << "opened a " << len << "-byte prefix";
    } catch (const Error& e) {
      EXPECT_TRUE(e.kind() == ErrorKind::Format || e.kind() == ErrorKind::Unsupported) << e.what();
    }
  }
}

TEST(Qcow2Hostile, HugeL1Size) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be32(img, 36, 1u << 30);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "L1 table of 1073741824 entries");
}

TEST(Qcow2Hostile, L1PastEndOfFile) {
  TempDir d;
  const std::string img = fresh(d, false);
  poke_be32(img, 36, 65536);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format,
               "L1 table (65536×8 B at 0x30000) ends past end of file (196616 B)");
  poke_be32(img, 36, 1);
  poke_be64(img, 40, 0x7000000);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "at 0x7000000) ends past end of file");
  poke_be64(img, 40, 0x30008);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "not aligned");
  poke_be64(img, 40, UINT64_MAX - 0xffff);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "L1 table");
}

TEST(Qcow2Hostile, HugeRefcountTable) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be32(img, 56, 0xffffff);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "refcount table of 16777215 clusters");
  poke_be32(img, 56, 100);  // under the cap, but past the end of the file
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "refcount table");
}

TEST(Qcow2Hostile, ClusterBitsOutOfRange) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be32(img, 20, 8);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "cluster_bits 8 out of range (9..21)");
  poke_be32(img, 20, 22);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "cluster_bits 22 out of range");
}

TEST(Qcow2Hostile, UnknownIncompatibleBit) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be64(img, 72, uint64_t(1) << 20);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Unsupported, "incompatible feature(s): bit 20");
  // A name from the feature-name table is used when the image has one:
  // rename the table's first entry (incompatible bit 0, "dirty bit") to bit 20.
  test::poke(img, 112 + 8 + 1, std::string(1, char(20)));
  expect_error([&] { open_qcow2(img); }, ErrorKind::Unsupported, "bit 20 (dirty bit)");
}

TEST(Qcow2Hostile, CompressionTypeWithoutFeatureBit) {
  TempDir d;
  const std::string img = fresh(d);
  test::poke(img, 104, std::string(1, '\1'));
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "incompatible feature bit 3");
}

TEST(Qcow2Hostile, LongBackingFileName) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be64(img, 8, 0x200);
  poke_be32(img, 16, 5000);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "backing file name of 5000 B");
  poke_be64(img, 8, 0x20000);  // outside cluster 0
  poke_be32(img, 16, 5);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "outside cluster 0");
}

TEST(Qcow2Hostile, ExtensionPastCluster) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be32(img, 116, 0x100000);  // length of the feature-name table extension
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "runs past the end of the extension area");
  poke_be32(img, 116, 0xfffffff8);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "header extension");
}

TEST(Qcow2Hostile, L2EntryPastEndOfFile) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be64(img, kL2, kCopied | 0x10000000);
  auto i = open_qcow2(img);
  EXPECT_EQ(i->map(0, 65536).kind, ExtentKind::Data);  // map only reads metadata
  std::vector<std::byte> buf(4096);
  expect_error([&] { i->read(0, buf); }, ErrorKind::Format, "host offset 0x10000000 is past end of file");
  CheckReport c = i->check();
  EXPECT_GE(c.count(Severity::Corruption), 1u);
  EXPECT_EQ(c.count(Severity::Leak), 1u);  // the cluster at 0x50000 lost its user
}

TEST(Qcow2Hostile, L1EntryPastEndOfFile) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be64(img, kL1, kCopied | 0x10000000);
  auto i = open_qcow2(img);
  expect_error([&] { i->map(0, 65536); }, ErrorKind::Format,
               "L2 table at 0x10000000 (L1 index 0) ends past end of file");
  std::vector<std::byte> buf(512);
  expect_error([&] { i->read(0, buf); }, ErrorKind::Format, "ends past end of file");
  CheckReport c = i->check();
  EXPECT_GE(c.count(Severity::Corruption), 1u);
}

TEST(Qcow2Hostile, UnalignedL2Entry) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be64(img, kL2, kCopied | 0x50200);
  auto i = open_qcow2(img);
  expect_error([&] { i->map(0, 65536); }, ErrorKind::Format, "not cluster aligned");
  CheckReport c = i->check();
  bool named = false;
  for (const auto& f : c.findings)
    named |= f.message.find("Data cluster is not properly aligned") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST(Qcow2Hostile, L2EntryPointingAtMetadata) {
  TempDir d;
  for (uint64_t target : {kReftable, kL1}) {
    const std::string img = fresh(d);
    poke_be64(img, kL2, kCopied | target);
    auto i = open_qcow2(img);
    CheckReport c = i->check();
    const char* what = target == kReftable ? "refcount table" : "active L1 table";
    bool named = false;
    for (const auto& f : c.findings)
      if (f.severity == Severity::Corruption && f.message.find(what) != std::string::npos &&
          f.message.find("data of guest offset 0x0") != std::string::npos)
        named = true;
    EXPECT_TRUE(named) << what;
    test::expect_same_check(*i, img);  // same counts and statistics as qemu-img check
  }
}

TEST(Qcow2Hostile, TwoL2EntriesShareACluster) {
  TempDir d;
  const std::string img = fresh(d);
  poke_be64(img, kL2 + 8, kCopied | 0x50000);
  auto i = open_qcow2(img);
  CheckReport c = i->check();
  bool named = false;
  for (const auto& f : c.findings)
    if (f.severity == Severity::Corruption && f.message.find("refcount=1 reference=2") != std::string::npos &&
        f.message.find("guest offset 0x0") != std::string::npos &&
        f.message.find("guest offset 0x10000") != std::string::npos)
      named = true;
  EXPECT_TRUE(named);
  EXPECT_EQ(c.count(Severity::Leak), 1u);
  test::expect_same_check(*i, img);
}

TEST(Qcow2Hostile, RefcountMismatchAndLeak) {
  TempDir d;
  const std::string img = fresh(d);
  // Refcount block at 0x20000, 16-bit entries: cluster 5 → 0, cluster 2 → 2.
  test::poke(img, 0x20000 + 5 * 2, std::string("\0\0", 2));
  test::poke(img, 0x20000 + 2 * 2, std::string("\0\2", 2));
  auto i = open_qcow2(img);
  CheckReport c = i->check();
  bool err = false, leak = false;
  for (const auto& f : c.findings) {
    err |= f.message.find("ERROR cluster 5 refcount=0 reference=1") != std::string::npos;
    leak |= f.message.find("Leaked cluster 2 refcount=2 reference=1") != std::string::npos;
  }
  EXPECT_TRUE(err);
  EXPECT_TRUE(leak);
  test::expect_same_check(*i, img);
}

TEST(Qcow2Hostile, GarbageCompressedData) {
  TempDir d;
  for (const char* type : {"zlib", "zstd"}) {
    SCOPED_TRACE(type);
    const std::string raw = d.file("src.raw");
    test::run_ok("yes compressible | head -c 200000 > " + raw);
    const std::string img = d.file("c.qcow2");
    qemu_img("convert -f raw -c -O qcow2 -o compression_type=" + std::string(type) + " " + raw + " " + img);
    qcow2::Run r;
    uint64_t host = 0;
    {
      auto i = open_qcow2(img);
      auto* q = dynamic_cast<const qcow2::Qcow2Image*>(i.get());
      ASSERT_NE(q, nullptr);
      r = q->resolve(0, 65536, true);
      ASSERT_TRUE(r.compressed);
      host = qcow2::compressed_ref(q->header(), r.l2_entry).host_offset;
    }
    test::poke(img, host, std::string(64, '\xff'));
    auto i = open_qcow2(img);
    std::vector<std::byte> buf(4096);
    expect_error([&] { i->read(0, buf); }, ErrorKind::Format, "does not decompress");
    expect_error([&] { i->read(0, buf); }, ErrorKind::Format, "guest offset 0x0 at host offset");
  }
}

TEST(Qcow2Hostile, SnapshotTableGarbage) {
  TempDir d;
  const std::string img = fresh(d);
  qemu_img("snapshot -c s " + img);
  auto i0 = open_qcow2(img);
  (void)i0;
  poke_be32(img, 60, 65537);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "65537 snapshots (limit 65536)");
  poke_be32(img, 60, 5000);  // entries run past the end of the file
  expect_error([&] { open_qcow2(img); }, ErrorKind::Format, "");
}

// Bitmaps: qemu (block/qcow2-bitmap.c check_dir_entry, load_bitmap) refuses
// to open an image whose bitmap directory breaks its caps; imgtool refuses
// the same images, so `info` agrees with qemu-img, and never allocates a
// table from an unchecked size.
class Qcow2HostileBitmap : public ::testing::Test {
 protected:
  void SetUp() override {
    img_ = d_.file("b.qcow2");
    qemu_img("create -q -f qcow2 " + img_ + " 64M");
    qemu_io(img_, "qcow2", "write -P 3 0 64k");
    qemu_img("bitmap --add " + img_ + " b0");
    auto i = open_qcow2(img_);
    auto* q = dynamic_cast<const qcow2::Qcow2Image*>(i.get());
    ASSERT_NE(q, nullptr);
    ASSERT_EQ(q->bitmaps().size(), 1u);
    entry_ = q->header().bitmap_directory_offset;
    table_ = q->bitmaps()[0].table_offset;
  }
  int qemu_info_rc() { return test::run("qemu-img info " + test::sh_quote(img_)).exit_code; }
  void expect_refused(const std::string& needle) {
    expect_error([&] { open_qcow2(img_); }, ErrorKind::Format, needle);
    EXPECT_EQ(qemu_info_rc(), 1) << "qemu-img opens it";
  }
  void set_in_use() { poke_be32(img_, entry_ + 12, 3); }  // in_use | auto

  TempDir d_;
  std::string img_;
  uint64_t entry_ = 0;  // first bitmap directory entry
  uint64_t table_ = 0;  // its bitmap table
};

TEST_F(Qcow2HostileBitmap, TableSizeOverQemuCap) {
  poke_be32(img_, entry_ + 8, 0x7fffffff);
  expect_refused("bitmap 'b0': table of 2147483647 entries (limit 134217728)");
}

TEST_F(Qcow2HostileBitmap, PhysicalSizeOverQemuCap) {
  set_in_use();  // even a bitmap in use may not claim more than 512 MiB
  poke_be32(img_, entry_ + 8, 0x10000);
  expect_refused("bitmap 'b0': 65536 table entries of 65536 B clusters (4294967296 B, limit 536870912 B)");
}

TEST_F(Qcow2HostileBitmap, TableSizeDisagreesWithVirtualSize) {
  poke_be32(img_, entry_ + 8, 2);
  expect_refused("bitmap 'b0': table of 2 entries, but 67108864 B at granularity 65536 needs 1");
  set_in_use();  // qemu does not load a bitmap in use: its table size is not checked
  auto i = open_qcow2(img_);
  EXPECT_EQ(qemu_info_rc(), 0);
}

TEST_F(Qcow2HostileBitmap, ZeroOrUnalignedTable) {
  poke_be32(img_, entry_ + 8, 0);
  expect_refused("bitmap 'b0': table of 0 entries");
  poke_be32(img_, entry_ + 8, 1);
  poke_be64(img_, entry_, table_ + 512);
  expect_refused("bitmap 'b0': table offset " + io::hex(table_ + 512) + " is not cluster aligned");
}

TEST_F(Qcow2HostileBitmap, ReservedFlagsTypeAndExtraData) {
  poke_be32(img_, entry_ + 12, 0x10002);
  expect_refused("bitmap 'b0': reserved flags 0x10000");
  poke_be32(img_, entry_ + 12, 2);
  test::poke(img_, entry_ + 16, std::string(1, '\2'));
  expect_refused("bitmap 'b0': type 2 (only 1, dirty tracking, is defined)");
}

TEST_F(Qcow2HostileBitmap, TableEntryWithReservedBits) {
  poke_be64(img_, table_, 0x10000002);
  expect_refused("bitmap 'b0': table entry 0 (0x10000002) has reserved bits set");
  set_in_use();  // qemu opens it, and its check counts a corruption
  auto i = open_qcow2(img_);
  CheckReport c = i->check();
  EXPECT_EQ(c.count(Severity::Corruption), 1u);
}

TEST_F(Qcow2HostileBitmap, InUseTablePastEndOfFile) {
  set_in_use();
  poke_be64(img_, entry_, uint64_t(1) << 40);
  auto i = open_qcow2(img_);
  EXPECT_EQ(qemu_info_rc(), 0);
  CheckReport c = i->check();
  bool past = false;
  for (const auto& f : c.findings)
    past |= f.kind == FindingKind::PastEof && f.message.find("bitmap 'b0' table") != std::string::npos;
  EXPECT_TRUE(past);
}

}  // namespace
}  // namespace imgtool
