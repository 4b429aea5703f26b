// qcow2 reader against qemu-img 7.2: images of every layout qemu can make,
// compared on info, map, check and guest data (qcow2_support.hpp).
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "formats/driver.hpp"
#include "formats/qcow2_support.hpp"
#include "imgtool/verdict.hpp"
#include "imgtool/error.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::expect_error;
using test::expect_like_qemu;
using test::open_qcow2;
using test::qemu_img;
using test::qemu_io;
using test::sh_quote;
using test::TempDir;

// Writes a recognisable pattern at a few places, a zeroed range and a discard.
void scribble(const std::string& img, uint64_t cluster) {
  qemu_io(
      img, "qcow2",
      "write -P 0x11 0 " + std::to_string(cluster) + ";write -P 0x22 " + std::to_string(3 * cluster) +
          " 1536;" +
          "write -P 0x33 1M 64k;write -z 2M 128k;write -P 0x44 3M 4k;write -P 0x55 4095k 1k;discard 3M 4k");
}

struct Layout {
  const char* name;
  const char* opts;
  uint64_t cluster;
};

class Qcow2Layout : public ::testing::TestWithParam<Layout> {};

TEST_P(Qcow2Layout, MatchesQemu) {
  TempDir d;
  const Layout& l = GetParam();
  const std::string img = d.file("a.qcow2");
  qemu_img("create -q -f qcow2 -o " + std::string(l.opts) + " " + img + " 8M");
  scribble(img, l.cluster);
  expect_like_qemu(img, d.file("a.raw"));
}

INSTANTIATE_TEST_SUITE_P(Qcow2, Qcow2Layout,
                         ::testing::Values(Layout{"compat010", "compat=0.10", 65536},
                                           Layout{"compat11", "compat=1.1", 65536},
                                           Layout{"cluster512", "cluster_size=512", 512},
                                           Layout{"cluster4k", "cluster_size=4k", 4096},
                                           Layout{"cluster2M", "cluster_size=2M", 2 << 20},
                                           Layout{"lazy", "lazy_refcounts=on", 65536},
                                           Layout{"refcount1", "refcount_bits=1", 65536},
                                           Layout{"refcount64", "refcount_bits=64", 65536},
                                           Layout{"extl2", "extended_l2=on", 65536},
                                           Layout{"extl2_32k", "extended_l2=on,cluster_size=32k", 32768},
                                           Layout{"prealloc", "preallocation=metadata", 65536},
                                           Layout{"v2_512", "compat=0.10,cluster_size=512", 512}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(Qcow2, ExtendedL2SubclusterKinds) {
  TempDir d;
  const std::string img = d.file("e.qcow2");
  qemu_img("create -q -f qcow2 -o extended_l2=on " + img + " 1M");
  // 64 KiB clusters → 2 KiB subclusters: data, zero, unallocated inside one cluster.
  qemu_io(img, "qcow2", "write -P 0x66 0 2k;write -z 4k 2k;write -P 0x77 10k 1k");
  auto i = open_qcow2(img);
  EXPECT_EQ(i->map(0, 1 << 20).kind, ExtentKind::Data);
  EXPECT_EQ(i->map(0, 1 << 20).length, 2048u);
  EXPECT_EQ(i->map(2048, 1 << 20).kind, ExtentKind::Unallocated);
  EXPECT_EQ(i->map(4096, 1 << 20).kind, ExtentKind::Zero);
  EXPECT_EQ(i->map(4096, 1 << 20).length, 2048u);
  EXPECT_EQ(i->map(10240, 100).kind, ExtentKind::Data);
  expect_like_qemu(img, d.file("e.raw"));
}

TEST(Qcow2, CompressedZlibAndZstd) {
  TempDir d;
  const std::string raw = d.file("src.raw");
  qemu_img("create -q -f raw " + raw + " 3M");
  test::run_ok("head -c 300000 /dev/urandom | dd of=" + raw + " conv=notrunc bs=64k seek=3 2>/dev/null");
  test::run_ok("yes imgtool | head -c 500000 | dd of=" + raw + " conv=notrunc bs=1k seek=1500 2>/dev/null");
  for (const char* type : {"zlib", "zstd"}) {
    SCOPED_TRACE(type);
    const std::string img = d.file(std::string(type) + ".qcow2");
    qemu_img("convert -c -O qcow2 -o compression_type=" + std::string(type) + " " + raw + " " + img);
    auto i = open_qcow2(img);
    bool saw_compressed = false;
    for_each_extent(*i, [&](const Extent& e) {
      saw_compressed |= e.compressed;
      return true;
    });
    EXPECT_TRUE(saw_compressed);
    EXPECT_GT(*i->check().compressed_clusters, 0u);
    expect_like_qemu(img, d.file("out.raw"));
  }
}

TEST(Qcow2, CompressedClustersWithSmallClusters) {
  TempDir d;
  const std::string raw = d.file("src.raw");
  test::run_ok("yes hello | head -c 1000000 > " + raw);
  const std::string img = d.file("c.qcow2");
  qemu_img("convert -c -O qcow2 -o cluster_size=512 -f raw " + raw + " " + img);
  expect_like_qemu(img, d.file("out.raw"));
}

TEST(Qcow2, SnapshotsAndIcount) {
  TempDir d;
  const std::string img = d.file("s.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 4M");
  qemu_io(img, "qcow2", "write -P 1 0 128k");
  qemu_img("snapshot -c first " + img);
  qemu_io(img, "qcow2", "write -P 2 64k 128k;write -P 3 2M 64k");
  qemu_img("snapshot -c second " + img);
  qemu_io(img, "qcow2", "write -P 4 0 64k");
  auto i = open_qcow2(img);
  ASSERT_EQ(i->info().snapshots.size(), 2u);
  EXPECT_EQ(i->info().snapshots[0].name, "first");
  expect_like_qemu(img, d.file("s.raw"));
}

TEST(Qcow2, Bitmaps) {
  TempDir d;
  const std::string img = d.file("b.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 4M");
  qemu_img("bitmap --add " + img + " auto1");
  qemu_img("bitmap --add --granularity 128k --disable " + img + " off2");
  qemu_io(img, "qcow2", "write -P 9 0 1M");
  auto i = open_qcow2(img);
  const InfoNode* bm = i->info().format_specific_data.find("bitmaps");
  ASSERT_NE(bm, nullptr);
  EXPECT_EQ(bm->items().size(), 2u);
  expect_like_qemu(img, d.file("b.raw"));
}

TEST(Qcow2, BackingFileIsReportedNeverOpened) {
  TempDir d;
  const std::string fifo = d.file("fifo.img");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& backing : {std::string("fifo.img"), std::string("../nowhere/base.raw"), fifo}) {
    SCOPED_TRACE(backing);
    const std::string img = d.file("top.qcow2");
    // Data first, then the backing name with an unsafe rebase: neither step
    // opens the backing file (it is a FIFO or missing).
    qemu_img("create -q -f qcow2 " + img + " 4M");
    qemu_io(img, "qcow2", "write -P 5 64k 64k");
    qemu_img("rebase -u -b " + sh_quote(backing) + " -F raw " + img);
    auto i = open_qcow2(img);  // would block on the FIFO if it opened it
    EXPECT_EQ(i->info().backing_filename, backing);
    EXPECT_EQ(i->info().backing_filename_format, "raw");
    test::expect_same_info(*i, img);  // (qemu-img map would open the backing file)
    CheckReport c = assess(img).report;  // the verdict never opens it either
    ASSERT_EQ(c.count(Severity::Unsafe), 1u);
    EXPECT_NE(c.findings[0].message.find(backing), std::string::npos) << c.findings[0].message;
    EXPECT_EQ(c.findings[0].file, (FileRef{FileRole::BackingFile, backing}));
    // Only a plain name beside the image can be admitted (by --allow-backing).
    EXPECT_EQ(c.findings[0].override_with, backing.find('/') == std::string::npos ? Override::AllowBacking : Override::None);
    EXPECT_EQ(c.count(Severity::Corruption), 0u);
    EXPECT_EQ(i->map(0, 1 << 20).kind, ExtentKind::Unallocated);
    std::vector<std::byte> buf(128 << 10);
    i->read(0, buf);
    EXPECT_EQ(buf[0], std::byte{0});
    EXPECT_EQ(buf[65536], std::byte{5});
  }
}

TEST(Qcow2, ExternalDataFile) {
  TempDir d;
  const std::string img = d.file("x.qcow2");
  // qemu 7.2 resolves a relative data file name against its working
  // directory, so qemu runs from the image's directory here.
  struct Cwd {
    std::filesystem::path old = std::filesystem::current_path();
    ~Cwd() { std::filesystem::current_path(old); }
  } restore;
  std::filesystem::current_path(d.path());
  qemu_img("create -q -f qcow2 -o data_file=x.data x.qcow2 4M");
  qemu_io(img, "qcow2", "write -P 7 0 64k;write -P 8 1M 4k");
  auto i = open_qcow2(img);
  test::expect_same_info(*i, img);
  test::expect_same_map(*i, img);
  EXPECT_EQ(i->map(0, 4 << 20).kind, ExtentKind::Data);
  std::vector<std::byte> buf(4096);
  expect_error([&] { i->read(0, buf); }, ErrorKind::Unsafe, "x.data");
  CheckReport c = assess(img).report;
  ASSERT_EQ(c.count(Severity::Unsafe), 1u);
  EXPECT_NE(c.findings[0].message.find("x.data"), std::string::npos);
  EXPECT_EQ(c.findings[0].file, (FileRef{FileRole::DataFile, "x.data"}));
  EXPECT_EQ(c.findings[0].override_with, Override::AllowExternalFiles);
  EXPECT_EQ(c.count(Severity::Corruption), 0u);
  // Allowed: the data file beside the image is opened and read.
  auto j = open_qcow2(img, true);
  test::expect_same_data(*j, img, d.file("x.raw"));
}

TEST(Qcow2, DirtyAndCorruptFlags) {
  TempDir d;
  const std::string img = d.file("f.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 1M");
  test::poke_be64(img, 72, 3);  // dirty + corrupt
  auto i = open_qcow2(img);
  EXPECT_TRUE(i->info().dirty);
  EXPECT_TRUE(i->info().format_specific_data.find("corrupt")->as_bool());
}

TEST(Qcow2, EncryptedInfoOnly) {
  TempDir d;
  const std::string img = d.file("enc.qcow2");
  qemu_img(
      "create -q -f qcow2 --object secret,id=s0,data=pw -o encrypt.format=luks,encrypt.key-secret=s0,"
      "encrypt.iter-time=10 " +
      img + " 1M");
  auto i = open_qcow2(img);
  EXPECT_TRUE(i->info().encrypted);
  EXPECT_EQ(i->info().format_specific_data.find("encrypt")->find("format")->as_string(), "luks");
  test::expect_same_info(*i, img);
  std::vector<std::byte> buf(512);
  expect_error([&] { i->read(0, buf); }, ErrorKind::Unsupported, "encrypted");
  EXPECT_EQ(i->check().count(Severity::Corruption), 0u);
}

TEST(Qcow2, ProbeAndDetect) {
  TempDir d;
  const std::string img = d.file("p.qcow2");
  qemu_img("create -q -f qcow2 -o compat=0.10 " + img + " 1M");
  auto src = open_file_source(img);
  EXPECT_EQ(detect_format(*src), Format::Qcow2);
  std::string h = test::read_file(img).substr(0, 512);
  auto probe = [](std::string bytes) {
    std::vector<std::byte> b(bytes.size());
    std::memcpy(b.data(), bytes.data(), bytes.size());
    formats::ProbeInput in{b, {}, b.size()};
    return formats::qcow2_probe(in);
  };
  EXPECT_EQ(probe(h), 100);
  EXPECT_EQ(probe(h.substr(0, 7)), 0);
  std::string v1 = h;
  v1[7] = 1;
  EXPECT_EQ(probe(v1), 0);
  std::string v9 = h;
  v9[7] = 9;
  EXPECT_EQ(probe(v9), 100);  // qemu: version >= 2 claims it; open then refuses
  test::write_file(img, v9);
  expect_error([&] { open_qcow2(img); }, ErrorKind::Unsupported, "version 9");
}

TEST(Qcow2, OneTebibyteSparseOpensInMilliseconds) {
  TempDir d;
  const std::string img = d.file("big.qcow2");
  qemu_img("create -q -f qcow2 " + img + " 1T");
  auto t0 = std::chrono::steady_clock::now();
  auto i = open_qcow2(img);
  EXPECT_EQ(i->info().virtual_size, uint64_t(1) << 40);
  auto t1 = std::chrono::steady_clock::now();
  uint64_t n = 0;
  for_each_extent(*i, [&](const Extent& e) {
    EXPECT_EQ(e.kind, ExtentKind::Unallocated);
    ++n;
    return true;
  });
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_LT(std::chrono::duration<double>(t1 - t0).count(), 0.05);
  EXPECT_LT(std::chrono::duration<double>(t2 - t1).count(), 0.2);
  EXPECT_LE(n, 1024u);  // 1 GiB chunks of for_each_extent
  EXPECT_EQ(*i->check().total_clusters, (uint64_t(1) << 40) / 65536);
}

TEST(Qcow2, ConcurrentReadsAgree) {
  TempDir d;
  const std::string img = d.file("t.qcow2");
  qemu_img("create -q -f qcow2 -o cluster_size=4k " + img + " 8M");
  qemu_io(img, "qcow2", "write -P 0x5a 0 3M;write -P 0xa5 5M 2M");
  auto i = open_qcow2(img);
  std::vector<std::byte> whole(8 << 20);
  i->read(0, whole);
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      std::vector<std::byte> b(12345);
      for (uint64_t off = uint64_t(t) * 7777; off + b.size() <= whole.size(); off += 300000) {
        i->read(off, b);
        if (std::memcmp(b.data(), whole.data() + off, b.size()) != 0) ++bad;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace imgtool
