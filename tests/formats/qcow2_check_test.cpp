// qcow2 check: the bounded walk. Tables named many times are walked once (one
// finding when their refcount does not allow it), images with snapshots that
// share L2 tables still agree with `qemu-img check`, and guest data or
// metadata past the end of the file is corrupt.
#include <algorithm>

#include "formats/qcow2/qcow2_reader.hpp"
#include "formats/qcow2_support.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::expect_same_check;
using test::open_qcow2;
using test::poke_be64;
using test::qemu_img;
using test::qemu_io;
using test::run;
using test::sh_quote;
using test::TempDir;

// A fresh qemu image with 64 KiB clusters: refcount table at 0x10000,
// refcount block at 0x20000 (16-bit entries), L1 at 0x30000; the first write
// puts the L2 table at 0x40000 and data from 0x50000.
constexpr uint64_t kReftable = 0x10000, kRefblock = 0x20000, kL1 = 0x30000, kL2 = 0x40000;
constexpr uint64_t kCopied = uint64_t(1) << 63;

std::string all_messages(const CheckReport& c) {
  std::string s;
  for (const auto& f : c.findings) s += f.message + "\n";
  return s;
}

void poke_refcount(const std::string& img, uint64_t cluster, uint16_t v) {
  test::poke(img, kRefblock + 2 * cluster, std::string{char(v >> 8), char(v & 0xff)});
}

TEST(Qcow2Check, SnapshotsSharingL2TablesAgreeWithQemu) {
  TempDir d;
  for (const char* cs : {"65536", "4096"}) {
    SCOPED_TRACE(cs);
    const std::string img = d.file(std::string("s") + cs + ".qcow2");
    qemu_img("create -q -f qcow2 -o cluster_size=" + std::string(cs) + " " + img + " 2G");
    qemu_io(img, "qcow2", "write -P 1 0 256k;write -P 2 600M 64k;write -P 3 1300M 128k");
    qemu_img("snapshot -c a " + img);
    qemu_io(img, "qcow2", "write -P 4 64k 64k;write -P 5 1300M 4k");
    qemu_img("snapshot -c b " + img);
    qemu_img("snapshot -c c " + img);
    qemu_io(img, "qcow2", "write -P 6 0 4k;write -z 600M 64k");
    qemu_img("snapshot -d b " + img);
    auto i = open_qcow2(img);
    ASSERT_EQ(i->info().snapshots.size(), 2u);
    expect_same_check(*i, img);
  }
}

TEST(Qcow2Check, L2TableNamedTwiceWithRefcountTwoIsConsistent) {
  // Two active L1 entries name one L2 table whose refcount (and its data's)
  // is 2, without COPIED flags: consistent, for qemu and imgtool alike.
  TempDir d;
  const std::string img = d.file("w.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 4G");
  qemu_io(img, "qcow2", "write -P 7 0 64k");
  poke_be64(img, kL1, kL2);
  poke_be64(img, kL1 + 8, kL2);
  poke_be64(img, kL2, 0x50000);
  poke_refcount(img, 4, 2);
  poke_refcount(img, 5, 2);
  auto i = open_qcow2(img);
  CheckReport c = i->check();
  EXPECT_TRUE(c.findings.empty()) << all_messages(c);
  expect_same_check(*i, img);
}

TEST(Qcow2Check, L2TableNamedMoreOftenThanItsRefcountIsOneFinding) {
  TempDir d;
  const std::string img = d.file("m.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 4G");  // 8 L1 entries
  qemu_io(img, "qcow2", "write -P 7 0 128k");
  for (uint64_t k = 1; k < 8; ++k) poke_be64(img, kL1 + 8 * k, kCopied | kL2);
  CheckReport c = open_qcow2(img)->check();
  ASSERT_EQ(c.findings.size(), 1u) << all_messages(c);
  const Finding& f = c.findings[0];
  EXPECT_EQ(f.severity, Severity::Corruption);
  EXPECT_EQ(f.kind, FindingKind::Overlap);
  EXPECT_NE(f.message.find("L2 table at 0x40000 is named by 8 L1 entries"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("refcount is 1"), std::string::npos) << f.message;
}

TEST(Qcow2Check, RefcountBlockNamedTwiceIsOneFinding) {
  TempDir d;
  const std::string img = d.file("r.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 64M");
  qemu_io(img, "qcow2", "write -P 7 0 64k");
  poke_be64(img, kReftable + 8, kRefblock);
  CheckReport c = open_qcow2(img)->check();
  ASSERT_EQ(c.findings.size(), 1u) << all_messages(c);
  EXPECT_EQ(c.findings[0].kind, FindingKind::Overlap);
  EXPECT_NE(c.findings[0].message.find("refcount block at 0x20000 is named by 2 refcount table entries"),
            std::string::npos)
      << c.findings[0].message;
}

TEST(Qcow2Check, OverlappingSnapshotL1TablesAreNotWalkedTwice) {
  TempDir d;
  const std::string img = d.file("o.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 4G");
  qemu_io(img, "qcow2", "write -P 7 0 64k");
  qemu_img("snapshot -c one " + img);
  auto i0 = open_qcow2(img);
  auto* q = dynamic_cast<const qcow2::Qcow2Image*>(i0.get());
  ASSERT_NE(q, nullptr);
  const uint64_t table = q->header().snapshots_offset;
  // The snapshot's L1 table is now the active one plus an entry: the two
  // overlap without being the same table.
  poke_be64(img, table, kL1);
  test::poke_be32(img, table + 8, 9);
  CheckReport c = open_qcow2(img)->check();
  bool named = false;
  for (const auto& f : c.findings)
    named |= f.kind == FindingKind::Overlap && f.message.find("overlaps") != std::string::npos &&
             f.message.find("snapshot 1 (one)") != std::string::npos;
  EXPECT_TRUE(named) << all_messages(c);
  EXPECT_LE(c.findings.size(), 8u) << all_messages(c);
}

// Zeroes the refcount table: no cluster has a refcount any more.
void drop_refcount_blocks(const std::string& img) {
  auto i = open_qcow2(img);
  const auto& h = dynamic_cast<const qcow2::Qcow2Image&>(*i).header();
  test::poke(img, h.refcount_table_offset, std::string(h.refcount_table_clusters * h.cluster_size, '\0'));
}

TEST(Qcow2Check, TablesNoRefcountBlockCoversAgreeWithQemu) {
  // 512-byte clusters: the L1 table of a 64 MiB image spans 32 clusters, one
  // record in the references; without refcount block every cluster of it is
  // a mismatch, as for qemu.
  TempDir d;
  const std::string img = d.file("n.qcow2");
  qemu_img("create -q -f qcow2 -o cluster_size=512 " + img + " 64M");
  qemu_io(img, "qcow2", "write -P 7 0 4k");
  drop_refcount_blocks(img);
  auto i = open_qcow2(img);
  CheckReport c = i->check();
  EXPECT_GE(c.count(Severity::Corruption), 32u);
  expect_same_check(*i, img);
}

TEST(Qcow2Check, FindingsBeyondTheCapAreCountedNotListed) {
  // The same with a 2 GiB image: its L1 table spans 1024 clusters.
  TempDir d;
  const std::string img = d.file("n.qcow2");
  qemu_img("create -q -f qcow2 -o cluster_size=512 " + img + " 2G");
  drop_refcount_blocks(img);
  CheckReport c = open_qcow2(img)->check();
  ASSERT_EQ(c.findings.size(), 1001u);
  EXPECT_NE(c.findings.back().message.find("further errors not listed (limit 1000 findings)"),
            std::string::npos)
      << c.findings.back().message;
  test::RunResult r = run(sh_quote(test::imgtool_bin()) + " check " + sh_quote(img));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1001) << r.err.substr(0, 2000);
}

TEST(Qcow2Check, CheckPollsForInterrupts) {
  TempDir d;
  const std::string img = d.file("i.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 64M");
  qemu_io(img, "qcow2", "write -P 7 0 1M");
  auto i = open_qcow2(img);
  request_interrupt();
  try {
    (void)i->check();
    ADD_FAILURE() << "check ignored the interrupt";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Interrupted) << e.what();
  }
  clear_interrupt();
  EXPECT_TRUE(i->check().findings.empty());
}

// Data in the last clusters, then the file is cut: a download that stopped.
class Qcow2CutDownload : public ::testing::TestWithParam<uint64_t> {};

TEST_P(Qcow2CutDownload, IsCorruptAndConvertRefuses) {
  TempDir d;
  const std::string img = d.file("cut.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 64M");
  qemu_io(img, "qcow2", "write -P 1 0 64k;write -P 2 8M 192k");
  const uint64_t size = std::filesystem::file_size(img);
  ASSERT_EQ(size % 65536, 0u);
  test::truncate_file(img, size - GetParam());
  CheckReport c = open_qcow2(img)->check();
  auto past = std::count_if(c.findings.begin(), c.findings.end(), [](const Finding& f) {
    return f.kind == FindingKind::PastEof && f.severity == Severity::Corruption;
  });
  EXPECT_EQ(past, 1) << all_messages(c);
  EXPECT_EQ(c.count(Severity::Leak), 0u) << all_messages(c);
  const std::string bin = sh_quote(test::imgtool_bin());
  test::RunResult r = run(bin + " check " + sh_quote(img));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("past end of file"), std::string::npos) << r.err;
  r = run(bin + " convert -O raw " + sh_quote(img) + " " + sh_quote(d.file("out.raw")));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("refusing to convert"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Qcow2Check, Qcow2CutDownload, ::testing::Values(65536u, 32768u),
                         [](const auto& p) { return p.param == 65536 ? "OneCluster" : "HalfCluster"; });

TEST(Qcow2Check, CompressedClusterPastEndOfFile) {
  TempDir d;
  auto expect_one_past_eof = [](const std::string& img) {
    CheckReport c = open_qcow2(img)->check();
    ASSERT_FALSE(c.findings.empty());
    EXPECT_EQ(c.findings[0].kind, FindingKind::PastEof) << all_messages(c);
    EXPECT_NE(c.findings[0].message.find("compressed"), std::string::npos) << all_messages(c);
    EXPECT_EQ(c.count(Severity::Corruption), 1u) << all_messages(c);
    EXPECT_EQ(c.count(Severity::Leak), 0u) << all_messages(c);
  };
  // qemu-io writes the compressed bytes and no more: the file ends inside the
  // last sector of a cluster's sector-rounded length. That is fine ...
  const std::string img = d.file("w.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 1M");
  qemu_io(img, "qcow2", "write -c -P 3 0 64k;write -c -P 3 64k 64k");  // both at 0x50000, back to back
  const uint64_t size = std::filesystem::file_size(img), data = size - 0x50000;
  ASSERT_NE(size % 512, 0u);
  ASSERT_EQ(data % 2, 0u);
  CheckReport whole = open_qcow2(img)->check();
  EXPECT_TRUE(whole.findings.empty()) << all_messages(whole);
  expect_same_check(*open_qcow2(img), img);
  // ... the second one's first byte at the end of the file is not.
  test::truncate_file(img, 0x50000 + data / 2);
  expect_one_past_eof(img);

  // qemu-img convert -c: the last guest cluster is compressed into the end of
  // the file; cut 1 KiB of it.
  const std::string raw = d.file("src.raw");
  test::run_ok("seq 1 100000 | head -c 400000 > " + sh_quote(raw));
  const std::string conv = d.file("c.qcow2");
  qemu_img("convert -f raw -c -O qcow2 " + raw + " " + conv);
  CheckReport fine = open_qcow2(conv)->check();
  EXPECT_TRUE(fine.findings.empty()) << all_messages(fine);
  test::truncate_file(conv, std::filesystem::file_size(conv) - 1024);
  expect_one_past_eof(conv);
}

}  // namespace
}  // namespace imgtool
