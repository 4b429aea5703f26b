// The vmdk target writer (src/formats/vmdk/vmdk_*writer*), driven directly through the
// TargetWriter interface by a small loop over a raw file (what the pipeline
// does, minus threads), then judged by independent readers: qemu-img check /
// compare / info, libvmdk's vmdkinfo and Glance's format inspector.
#include "formats/vmdk/vmdk_writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "formats/driver.hpp"
#include "formats/target_writer.hpp"
#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "io/bytes.hpp"
#include "support/test_util.hpp"

namespace imgtool::convert {
namespace {

using formats::make_vmdk_writer;
using formats::vmdk_option_keys;

using test::run;
using test::sh_quote;
using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kG = 65536;

// A forward-only sink (an upload body, a pipe): appends to a string.
class StringSink final : public ByteSink {
 public:
  explicit StringSink(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> d) override {
    data_.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  uint64_t position() const override { return data_.size(); }
  void finish() override { finished_ = true; }
  const std::string& data() const { return data_; }
  bool finished() const { return finished_; }

 private:
  std::string name_;
  std::string data_;
  bool finished_ = false;
};

// A raw source: a sparse file plus the data written into it.
struct RawImage {
  std::string path;
  uint64_t size;
};

RawImage make_raw(const TempDir& dir, uint64_t size,
                  const std::vector<std::pair<uint64_t, std::string>>& writes) {
  RawImage r{dir.file("src.raw"), size};
  test::write_file(r.path, "");
  test::truncate_file(r.path, size);
  for (const auto& [off, bytes] : writes) test::poke(r.path, off, bytes);
  return r;
}

std::string pattern(size_t n, uint32_t seed, bool random = false) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = random ? char(rng()) : char('A' + (i + seed) % 23);
  return s;
}

struct DriveOptions {
  bool plan_known = true;
  bool drop_from_plan_is_zero = false;  // plan lists all clusters; zero ones are skipped when passed
};

// The pipeline's job in miniature: plan (non-zero clusters), prepare, write
// in order, end, finish.
void drive(TargetWriter& w, ByteSink& sink, const RawImage& raw, DriveOptions o = {}) {
  const uint64_t cs = w.cluster_size();
  std::ifstream in(raw.path, std::ios::binary);
  std::vector<std::pair<uint64_t, std::string>> clusters;
  TargetPlan plan;
  plan.virtual_size = raw.size;
  // As the pipeline: a plan only for writers that ask for one.
  plan.data_ranges_known = o.plan_known && w.needs_plan();
  for (uint64_t off = 0; off < raw.size; off += cs) {
    std::string buf(std::min(cs, raw.size - off), '\0');
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    bool zero = buf.find_first_not_of('\0') == std::string::npos;
    if (!zero) clusters.emplace_back(off, buf);
    if (plan.data_ranges_known && (!zero || o.drop_from_plan_is_zero)) {
      if (!plan.data_ranges.empty() && plan.data_ranges.back().first + plan.data_ranges.back().second == off)
        plan.data_ranges.back().second += buf.size();
      else
        plan.data_ranges.emplace_back(off, buf.size());
    }
  }
  // The content digest (the CID comes from it), as the pipeline computes it:
  // from the plan pass on streams, after the copy pass on files.
  ContentHasher hasher(raw.size);
  for (const auto& [off, buf] : clusters)
    hasher.add(off, buf.size(), cluster_digest(std::as_bytes(std::span(buf.data(), buf.size()))));
  const ContentDigest digest = hasher.finish();
  if (w.wants_content_digest() && plan.data_ranges_known) plan.content_digest = digest;
  w.begin(plan);
  if (w.compresses()) {
    for (const auto& [off, buf] : clusters) {
      auto span = std::as_bytes(std::span(buf.data(), buf.size()));
      w.write_prepared(off, buf.size(), w.prepare(off, span));
    }
  } else {
    // Runs of consecutive data clusters (at most 2 MiB, like the pipeline's
    // chunks) through write_data().
    for (size_t i = 0; i < clusters.size();) {
      std::string run = clusters[i].second;
      size_t j = i + 1;
      while (j < clusters.size() && clusters[j].first == clusters[i].first + run.size() &&
             run.size() < (2u << 20))
        run += clusters[j++].second;
      w.write_data(clusters[i].first, std::as_bytes(std::span(run.data(), run.size())));
      i = j;
    }
  }
  if (w.wants_content_digest() && !plan.content_digest) w.set_content_digest(digest);
  w.end();
  sink.finish();
}

TargetOptions opts(std::map<std::string, std::string> kv) {
  return TargetOptions{std::move(kv), false};
}

// Writes `raw` as vmdk to `out`; non-seekable output goes through StringSink.
void convert(const RawImage& raw, const std::string& out, const TargetOptions& to, bool seekable,
             DriveOptions o = {}) {
  if (seekable) {
    auto sink = create_atomic_file(out);
    auto w = make_vmdk_writer(*sink, to);
    drive(*w, *sink, raw, o);
  } else {
    StringSink sink(out);
    auto w = make_vmdk_writer(sink, to);
    drive(*w, sink, raw, o);
    ASSERT_TRUE(sink.finished());
    test::write_file(out, sink.data());
  }
}

// Glance's own format inspector (Debian 12: glance 25 + CVE-2024-32498
// backport) over the file, as glance-api runs it over an upload. The module
// file is loaded as is; only its logger import (oslo_log, 1.5 s of imports)
// is replaced by the standard logging module.
std::string glance_inspect(const std::string& path) {
  const std::string py =
      "import sys, types, logging, importlib.util\n"
      "log = types.ModuleType('oslo_log')\n"
      "log.log = types.SimpleNamespace(getLogger=logging.getLogger)\n"
      "sys.modules['oslo_log'] = log\n"
      "spec = importlib.util.spec_from_file_location('fi', "
      "'/usr/lib/python3/dist-packages/glance/common/format_inspector.py')\n"
      "fi = importlib.util.module_from_spec(spec)\n"
      "spec.loader.exec_module(fi)\n"
      "try:\n"
      "    i = fi.get_inspector('vmdk')()\n"
      "    with open(sys.argv[1], 'rb') as f:\n"
      "        for chunk in fi.chunked_reader(f, 65536):\n"
      "            i.eat_chunk(chunk)\n"
      "    print('match=%s size=%d safe=%s' % (i.format_match, i.virtual_size, i.safety_check()))\n"
      "except Exception as e:\n"
      "    print('error=%s' % e)\n";
  auto r = run("/usr/bin/python3 -c " + sh_quote(py) + " " + sh_quote(path));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

uint64_t le64(const std::string& s, size_t off) {
  return io::load_le64(std::as_bytes(std::span(s)), off);
}
uint32_t le32(const std::string& s, size_t off) {
  return io::load_le32(std::as_bytes(std::span(s)), off);
}

// The footer rules of oslo.utils' VMDK inspector (Glance ≥ 2024.2) and
// qemu's vmdk_open_vmdk4: last 1536 B = footer marker, header copy with a real
// gdOffset, EOS marker; the copy agrees with the header.
void expect_valid_footer(const std::string& f) {
  ASSERT_GE(f.size(), 2048u);
  ASSERT_EQ(f.size() % 512, 0u);
  const std::string hdr = f.substr(0, 512);
  const std::string marker = f.substr(f.size() - 1536, 512);
  const std::string foot = f.substr(f.size() - 1024, 512);
  const std::string eos = f.substr(f.size() - 512, 512);
  EXPECT_EQ(le64(marker, 0), 1u);
  EXPECT_EQ(le32(marker, 8), 0u);
  EXPECT_EQ(le32(marker, 12), 3u);
  EXPECT_EQ(marker.find_first_not_of('\0', 16), std::string::npos);
  EXPECT_EQ(eos, std::string(512, '\0'));
  EXPECT_EQ(foot.substr(0, 4), "KDMV");
  EXPECT_EQ(le32(foot, 4), le32(hdr, 4));    // version
  EXPECT_EQ(le64(foot, 28), le64(hdr, 28));  // descriptorOffset
  EXPECT_EQ(le64(foot, 36), le64(hdr, 36));  // descriptorSize
  EXPECT_NE(le64(foot, 56), ~uint64_t{0});   // footer gdOffset is real
  // ... and points just after a GD marker.
  const uint64_t gd = le64(foot, 56);
  ASSERT_LT(gd * 512, f.size());
  EXPECT_EQ(le32(f, (gd - 1) * 512 + 12), 2u);
}

// libvmdk (python3-libvmdk) reads every byte of the vmdk and compares it
// with the raw file: a third-party reader of grains, tables and footer.
std::string libvmdk_compare(const std::string& vmdk, const std::string& raw) {
  const std::string py =
      "import sys, pyvmdk\n"
      "h = pyvmdk.handle()\n"
      "h.open(sys.argv[1])\n"
      "h.open_extent_data_files()\n"
      "size = h.get_media_size()\n"
      "raw = open(sys.argv[2], 'rb')\n"
      "off = 0\n"
      "while off < size:\n"
      "    n = min(1 << 20, size - off)\n"
      "    a = h.read_buffer_at_offset(n, off)\n"
      "    b = raw.read(n)\n"
      "    b += bytes(n - len(b))\n"
      "    if a != b:\n"
      "        print('mismatch in %d..%d' % (off, off + n))\n"
      "        sys.exit(0)\n"
      "    off += n\n"
      "print('ok %d' % size)\n";
  auto r = run("/usr/bin/python3 -c " + sh_quote(py) + " " + sh_quote(vmdk) + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// 7-Zip (package 7zip, its own VMDK reader: sparse and stream-optimized
// extents) extracts the disk; it must be the raw image padded to the capacity.
std::string sevenzip_compare(const std::string& vmdk, const std::string& raw, uint64_t vsize) {
  const std::string x = vmdk + ".7z.img", r = vmdk + ".raw.img";
  auto res = run("7zz e -so -tvmdk " + sh_quote(vmdk) + " > " + sh_quote(x) + " && cp " + sh_quote(raw) +
                 " " + sh_quote(r) + " && truncate -s " + std::to_string(vsize) + " " + sh_quote(r) +
                 " && cmp " + sh_quote(x) + " " + sh_quote(r) + " && echo ok");
  std::filesystem::remove(x);
  std::filesystem::remove(r);
  return res.out + res.err;
}

// Every reader agrees the vmdk holds exactly the raw image.
void expect_good_vmdk(const RawImage& raw, const std::string& vmdk, const std::string& create_type) {
  auto check = run("qemu-img check -f vmdk " + sh_quote(vmdk));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("No errors were found on the image."));
  auto cmp = run("qemu-img compare -f raw -F vmdk " + sh_quote(raw.path) + " " + sh_quote(vmdk));
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out << cmp.err;
  EXPECT_THAT(cmp.out, HasSubstr("Images are identical."));
  const uint64_t vsize = (raw.size + 511) / 512 * 512;
  auto info = run("qemu-img info --output=json -f vmdk " + sh_quote(vmdk));
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_THAT(info.out, HasSubstr("\"virtual-size\": " + std::to_string(vsize) + ","));
  EXPECT_THAT(info.out, HasSubstr("\"create-type\": \"" + create_type + "\""));
  auto vi = run("vmdkinfo " + sh_quote(vmdk));
  EXPECT_EQ(vi.exit_code, 0) << vi.out << vi.err;
  EXPECT_THAT(vi.out,
              HasSubstr(std::string("Disk type:\t\t\t") +
                        (create_type == "streamOptimized" ? "Stream optimized" : "Monolithic sparse")));
  EXPECT_THAT(vi.out, HasSubstr("(" + std::to_string(vsize) + " bytes)"));
  EXPECT_EQ(libvmdk_compare(vmdk, raw.path), "ok " + std::to_string(vsize) + "\n");
  EXPECT_EQ(sevenzip_compare(vmdk, raw.path, vsize), "ok\n");
}

void expect_glance_ok(const std::string& vmdk, uint64_t vsize) {
  EXPECT_EQ(glance_inspect(vmdk), "match=True size=" + std::to_string(vsize) + " safe=True\n");
}

struct Case {
  std::string name;
  uint64_t size;
  std::vector<std::pair<uint64_t, std::string>> writes;
};

std::vector<Case> cases() {
  const uint64_t odd = 41126400;  // 627 grains + a 34 KiB tail
  return {
      {"scattered",
       odd,
       {{0, pattern(4096, 1)},
        {1 * 1024 * 1024 + 123, pattern(70000, 2)},          // straddles two grains
        {5 * 1024 * 1024, std::string(3 * kG, '\0')},        // explicit zeros: stay unallocated
        {9 * 1024 * 1024, pattern(kG, 3, /*random=*/true)},  // incompressible grain
        {odd - 1000, pattern(1000, 4)}}},                    // short last grain
      {"multi_gt",
       100 * 1024 * 1024 + 512,  // 4 GTs, GT 1 without data
       {{100, pattern(200, 5)},
        {32 * 1024 * 1024 - 10, pattern(20, 6)},  // last grain of GT 0 + first of GT 1
        {70 * 1024 * 1024, pattern(2 * kG, 7)},
        {100 * 1024 * 1024, pattern(512, 8)}}},
      {"one_sector", 512, {{0, pattern(512, 9)}}},
      {"all_zero", 10 * 1024 * 1024, {}},
      {"unaligned_size", 1000, {{10, pattern(990, 10)}}},
  };
}

class VmdkWriterCase : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(VmdkWriterCase, ReadersAgreeForEveryShape) {
  const auto& [subformat, seekable] = GetParam();
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name + " " + subformat + (seekable ? " file" : " stream"));
    TempDir dir;
    RawImage raw = make_raw(dir, c.size, c.writes);
    const std::string out = dir.file("out.vmdk");
    ASSERT_NO_THROW(convert(raw, out, opts({{"subformat", subformat}}), seekable));
    expect_good_vmdk(raw, out, subformat);
    const std::string f = test::read_file(out);
    const uint64_t vsize = (c.size + 511) / 512 * 512;
    if (subformat == "streamOptimized") {
      expect_valid_footer(f);
      EXPECT_EQ(le32(f, 4), 3u);
      EXPECT_EQ(le32(f, 8), 0x30001u);
      if (seekable) {
        // The header got the real gdOffset: Glance 25 accepts it.
        EXPECT_EQ(f.substr(0, 512), f.substr(f.size() - 1024, 512));
        expect_glance_ok(out, vsize);
      } else {
        // Spec layout, forward-only: GD_AT_END in the header. Glance ≥ 2024.2
        // validates the footer (expect_valid_footer); Debian 12's glance 25
        // refuses every footer.
        EXPECT_EQ(le64(f, 56), ~uint64_t{0});
        EXPECT_EQ(glance_inspect(out), "error=Unsupported VMDK footer\n");
      }
    } else {
      EXPECT_EQ(le32(f, 8), 0x3u);
      expect_glance_ok(out, vsize);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, VmdkWriterCase,
                         ::testing::Combine(::testing::Values("monolithicSparse", "streamOptimized"),
                                            ::testing::Bool()),
                         [](const auto& p) {
                           return std::get<0>(p.param) + (std::get<1>(p.param) ? "_File" : "_Stream");
                         });

TEST(VmdkWriter, StreamOptimizedLayoutIsForwardOnlyAndSkipsEmptyGrainTables) {
  TempDir dir;
  RawImage raw = make_raw(dir, 100 * 1024 * 1024, {{70 * 1024 * 1024, pattern(kG, 1)}});
  StringSink sink("disk.vmdk");
  auto w = make_vmdk_writer(sink, opts({{"subformat", "streamOptimized"}}));
  EXPECT_TRUE(w->compresses());
  EXPECT_EQ(w->cluster_size(), 65536u);
  drive(*w, sink, raw);
  const std::string& f = sink.data();
  EXPECT_EQ(le64(f, 28), 1u);             // descriptorOffset
  EXPECT_EQ(le64(f, 36), 20u);            // descriptorSize
  EXPECT_EQ(le32(f, 44), 512u);           // numGTEsPerGT
  EXPECT_EQ(le64(f, 64), 128u);           // overHead: first grain at 64 KiB
  EXPECT_EQ(f.substr(73, 4), "\n \r\n");  // newline test
  EXPECT_EQ(le32(f, 77) & 0xffff, 1u);    // deflate
  // Grain marker at 64 KiB: lba of 70 MiB, zlib stream (0x78 header).
  EXPECT_EQ(le64(f, 65536), 70u * 2048);
  EXPECT_EQ(static_cast<unsigned char>(f[65536 + 12]), 0x78);
  // The GD: 4 GTs, only GT 2 written.
  const uint64_t gd = le64(f.substr(f.size() - 1024, 512), 56);
  EXPECT_EQ(le32(f, gd * 512 + 0), 0u);
  EXPECT_EQ(le32(f, gd * 512 + 4), 0u);
  EXPECT_NE(le32(f, gd * 512 + 8), 0u);
  EXPECT_EQ(le32(f, gd * 512 + 12), 0u);
  const uint64_t gt = le32(f, gd * 512 + 8);
  EXPECT_EQ(le64(f, (gt - 1) * 512), 4u);                    // GT marker: 4 sectors
  EXPECT_EQ(le32(f, (gt - 1) * 512 + 12), 1u);               // type GT
  EXPECT_EQ(le32(f, gt * 512 + (70 * 16 % 512) * 4), 128u);  // GTE → grain marker sector
  // Descriptor text.
  std::string desc = f.substr(512, 20 * 512);
  desc.resize(desc.find_last_not_of('\0') + 1);  // NUL padding
  EXPECT_THAT(desc, HasSubstr("createType=\"streamOptimized\"\n"));
  EXPECT_THAT(desc, HasSubstr("RW 204800 SPARSE \"disk.vmdk\"\n"));
  EXPECT_THAT(desc, HasSubstr("ddb.geometry.heads = \"16\"\n"));
  EXPECT_THAT(desc, HasSubstr("ddb.geometry.cylinders = \"203\"\n"));  // 204800 / (16·63)
  EXPECT_THAT(desc, HasSubstr("ddb.adapterType = \"ide\"\n"));
  EXPECT_THAT(desc, HasSubstr("ddb.virtualHWVersion = \"4\"\n"));
  EXPECT_THAT(desc, HasSubstr("ddb.toolsVersion = \"2147483647\"\n"));
  EXPECT_THAT(desc, Not(HasSubstr("\nCID=ffffffff\n")));
  EXPECT_THAT(desc, HasSubstr("\nparentCID=ffffffff\n"));
}

TEST(VmdkWriter, SparseWithoutPlanPatchesTablesOnFiles) {
  TempDir dir;
  RawImage raw =
      make_raw(dir, 70 * 1024 * 1024, {{5, pattern(100, 1)}, {40 * 1024 * 1024, pattern(kG + 7, 2)}});
  const std::string out = dir.file("np.vmdk");
  {
    auto file = create_atomic_file(out);
    EXPECT_FALSE(make_vmdk_writer(*file, opts({}))->needs_plan());  // one pass on files
  }
  convert(raw, out, opts({}), /*seekable=*/true, DriveOptions{/*plan_known=*/false});
  expect_good_vmdk(raw, out, "monolithicSparse");
  expect_glance_ok(out, raw.size);

  StringSink sink("np.vmdk");
  auto w = make_vmdk_writer(sink, opts({}));
  EXPECT_TRUE(w->needs_plan());
  try {
    drive(*w, sink, raw, DriveOptions{false});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_THAT(e.message(), HasSubstr("subformat=streamOptimized"));
  }
}

TEST(VmdkWriter, SparsePlannedGrainThatTurnsOutZeroKeepsItsSlot) {
  TempDir dir;
  // Plan lists every cluster; the zero ones are never passed.
  RawImage raw = make_raw(dir, 2 * 1024 * 1024, {{kG * 3, pattern(10, 1)}, {kG * 20, pattern(10, 2)}});
  const std::string out = dir.file("z.vmdk");
  convert(raw, out, opts({{"adapter_type", "lsilogic"}, {"compat6", "on"}, {"zeroed_grain", "on"}}), false,
          DriveOptions{true, true});
  expect_good_vmdk(raw, out, "monolithicSparse");
  const std::string f = test::read_file(out);
  EXPECT_EQ(le32(f, 4), 2u);    // zeroed_grain → version 2
  EXPECT_EQ(le32(f, 8), 0x7u);  // + zeroed-grain flag
  std::string desc = f.substr(512, 20 * 512);
  desc.resize(desc.find_last_not_of('\0') + 1);
  EXPECT_THAT(desc, HasSubstr("ddb.geometry.heads = \"255\"\n"));
  EXPECT_THAT(desc, HasSubstr("ddb.adapterType = \"lsilogic\"\n"));
  EXPECT_THAT(desc, HasSubstr("ddb.virtualHWVersion = \"6\"\n"));
  // 32 grains planned, all with slots: file = overhead + 32 grains.
  EXPECT_EQ(f.size(), le64(f, 64) * 512 + 32 * kG);
}

TEST(VmdkWriter, EmptyImageIsRefused) {
  for (const char* sub : {"monolithicSparse", "streamOptimized"}) {
    StringSink sink("e.vmdk");
    auto w = make_vmdk_writer(sink, opts({{"subformat", sub}}));
    TargetPlan plan;
    plan.data_ranges_known = true;
    try {
      w->begin(plan);
      FAIL() << "expected an error for " << sub;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
      EXPECT_THAT(e.message(), HasSubstr("0-byte disk"));
    }
  }
}

TEST(VmdkWriter, OptionErrorsNameTheChoices) {
  StringSink sink("x.vmdk");
  auto expect_usage = [&](TargetOptions to, const std::string& text) {
    try {
      make_vmdk_writer(sink, to);
      ADD_FAILURE() << "expected a usage error containing " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_THAT(e.message(), HasSubstr(text));
    }
  };
  expect_usage(opts({{"cluster_size", "65536"}}),
               "unknown option 'cluster_size' for vmdk; valid: subformat, adapter_type, hwversion, compat6, "
               "toolsversion, zeroed_grain");
  expect_usage(opts({{"subformat", "monolithicFlat"}}),
               "supported: monolithicSparse (default), streamOptimized");
  expect_usage(opts({{"adapter_type", "pvscsi"}}), "expected one of ide, lsilogic, buslogic, legacyESX");
  expect_usage(opts({{"compat6", "on"}, {"hwversion", "7"}}), "compat6 cannot be enabled with hwversion set");
  expect_usage(opts({{"compat6", "maybe"}}), "expected on or off");
  expect_usage(opts({{"toolsversion", "1\"\nddb.x=1"}}), "characters from [A-Za-z0-9._-]");
  TargetOptions c = opts({});
  c.compress = true;
  expect_usage(c, "-c needs -o subformat=streamOptimized");
  c.options["subformat"] = "streamOptimized";
  EXPECT_NO_THROW(make_vmdk_writer(sink, c));
  EXPECT_EQ(vmdk_option_keys().size(), 6u);
}

TEST(VmdkWriter, ExtentNameIsASafeBasename) {
  EXPECT_EQ(vmdk::extent_file_name("/tmp/x/disk.vmdk"), "disk.vmdk");
  EXPECT_EQ(vmdk::extent_file_name("/tmp/x/my disk\".vmdk"), "my_disk_.vmdk");
  EXPECT_EQ(vmdk::extent_file_name("https://glance/v2/images/abc/"), "disk.vmdk");
  EXPECT_EQ(vmdk::extent_file_name(""), "disk.vmdk");
}

TEST(VmdkWriter, OutOfOrderGrainsAreRejected) {
  for (const char* sub : {"monolithicSparse", "streamOptimized"}) {
    StringSink sink("o.vmdk");
    auto w = make_vmdk_writer(sink, opts({{"subformat", sub}}));
    TargetPlan plan;
    plan.virtual_size = 4 * kG;
    plan.data_ranges_known = true;
    plan.data_ranges = {{0, 4 * kG}};
    plan.content_digest = ContentDigest{};
    w->begin(plan);
    std::vector<std::byte> g(kG, std::byte{1});
    w->write_prepared(kG, kG, w->prepare(kG, g));
    EXPECT_THROW(w->write_prepared(0, kG, w->prepare(0, g)), Error) << sub;
  }
}

}  // namespace
}  // namespace imgtool::convert
