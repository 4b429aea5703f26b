// Unit tests of the qemu-img 7.2 compatible renderers on hand-built ImageInfo
// values. Expected texts were captured from Debian 12's qemu-img 7.2 on the
// same images (TZ=UTC); tests/cli/info_golden_test.cpp compares live.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "imgtool/info.hpp"
#include "imgtool/verdict.hpp"
#include "info/qobject.hpp"

namespace imgtool {
namespace {

std::vector<std::string> ordered(const std::vector<std::string>& qapi_order) {
  std::vector<std::string> out;
  for (size_t i : info::qdict_order(qapi_order)) out.push_back(qapi_order[i]);
  return out;
}

TEST(InfoRenderSize, MatchesQemuSizeToStr) {
  EXPECT_EQ(size_to_str(0), "0 B");
  EXPECT_EQ(size_to_str(1), "1 B");
  EXPECT_EQ(size_to_str(512), "512 B");
  EXPECT_EQ(size_to_str(999), "999 B");
  EXPECT_EQ(size_to_str(1000), "0.977 KiB");
  EXPECT_EQ(size_to_str(200704), "196 KiB");
  EXPECT_EQ(size_to_str(1022976), "999 KiB");
  EXPECT_EQ(size_to_str(1023488), "1e+03 KiB");  // the %0.3g edge, as qemu prints it
  EXPECT_EQ(size_to_str(1024000), "0.977 MiB");
  EXPECT_EQ(size_to_str(41126400), "39.2 MiB");
  EXPECT_EQ(size_to_str(uint64_t(1) << 30), "1 GiB");
  EXPECT_EQ(size_to_str(uint64_t(1) << 40), "1 TiB");
  EXPECT_EQ(size_to_str(UINT64_MAX), "16 EiB");
}

// The QDict orders qemu-img 7.2 prints (qobject/qdict.c bucket order), derived from the hash and the QAPI
// declaration (insertion) order.
TEST(InfoRenderQDict, ImageInfoOrder) {
  EXPECT_EQ(ordered({"filename", "format", "dirty-flag", "actual-size", "virtual-size", "cluster-size",
                     "encrypted", "compressed", "backing-filename", "full-backing-filename",
                     "backing-filename-format", "snapshots", "backing-image", "format-specific"}),
            (std::vector<std::string>{"backing-image", "compressed", "backing-filename-format", "snapshots",
                                      "virtual-size", "filename", "cluster-size", "format", "actual-size",
                                      "format-specific", "full-backing-filename", "encrypted",
                                      "backing-filename", "dirty-flag"}));
  EXPECT_EQ(ordered({"type", "data"}), (std::vector<std::string>{"type", "data"}));
}

TEST(InfoRenderQDict, Qcow2AndVmdkOrders) {
  EXPECT_EQ(
      ordered({"compat", "data-file", "data-file-raw", "extended-l2", "lazy-refcounts", "corrupt",
               "refcount-bits", "encrypt", "bitmaps", "compression-type"}),
      (std::vector<std::string>{"compat", "compression-type", "lazy-refcounts", "bitmaps", "refcount-bits",
                                "data-file", "encrypt", "data-file-raw", "corrupt", "extended-l2"}));
  EXPECT_EQ(ordered({"create-type", "cid", "parent-cid", "extents"}),
            (std::vector<std::string>{"cid", "parent-cid", "create-type", "extents"}));
  EXPECT_EQ(ordered({"filename", "format", "virtual-size", "cluster-size", "compressed"}),
            (std::vector<std::string>{"compressed", "virtual-size", "filename", "cluster-size", "format"}));
  EXPECT_EQ(ordered({"name", "granularity", "flags"}),
            (std::vector<std::string>{"flags", "name", "granularity"}));
}

TEST(InfoRenderQDict, SnapshotAndCheckOrders) {
  EXPECT_EQ(ordered({"id", "name", "vm-state-size", "date-sec", "date-nsec", "vm-clock-sec", "vm-clock-nsec",
                     "icount"}),
            (std::vector<std::string>{"icount", "vm-clock-nsec", "name", "date-sec", "date-nsec",
                                      "vm-clock-sec", "id", "vm-state-size"}));
  EXPECT_EQ(
      ordered({"filename", "format", "check-errors", "image-end-offset", "corruptions", "leaks",
               "corruptions-fixed", "leaks-fixed", "total-clusters", "allocated-clusters",
               "fragmented-clusters", "compressed-clusters"}),
      (std::vector<std::string>{"image-end-offset", "compressed-clusters", "total-clusters", "corruptions",
                                "corruptions-fixed", "check-errors", "leaks", "leaks-fixed",
                                "allocated-clusters", "filename", "format", "fragmented-clusters"}));
}

TEST(InfoRenderQDict, SameBucketNewestFirst) {
  // Find two distinct keys in one bucket and check both insertion orders.
  std::string a = "k0", b;
  for (int i = 1; i < 100000 && b.empty(); ++i) {
    std::string k = "k" + std::to_string(i);
    if (info::tdb_hash(k) % 512 == info::tdb_hash(a) % 512) b = k;
  }
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(ordered({a, b}), (std::vector<std::string>{b, a}));
  EXPECT_EQ(ordered({b, a}), (std::vector<std::string>{a, b}));
}

TEST(InfoRenderJson, EscapesLikeQemu) {
  std::string out;
  info::append_json_string(out, std::string("w\"e\\\xc3\xbc\x01\n\t/\xff\xf0\x9f\x98\x80", 15));
  EXPECT_EQ(out, "\"w\\\"e\\\\\\u00FC\\u0001\\n\\t/\\uFFFD\\uD83D\\uDE00\"");
  out.clear();
  info::append_json_string(out, "\x7f\xc0\x80\xe2\x82");  // DEL, modified-UTF-8 NUL, truncated sequence
  EXPECT_EQ(out, "\"\\u007F\\u0000\\uFFFD\"");
}

TEST(InfoRenderJson, RawMatchesQemu) {
  ImageInfo i;
  i.filename = "r.raw";
  i.format = Format::Raw;
  i.virtual_size = 41126400;
  i.actual_size = 0;
  EXPECT_EQ(render_info_json(i),
            "{\n    \"virtual-size\": 41126400,\n    \"filename\": \"r.raw\",\n    \"format\": \"raw\",\n"
            "    \"actual-size\": 0,\n    \"dirty-flag\": false\n}\n");
  EXPECT_EQ(render_info_human(i),
            "image: r.raw\nfile format: raw\nvirtual size: 39.2 MiB (41126400 bytes)\ndisk size: 0 B\n");
  i.actual_size.reset();
  EXPECT_NE(render_info_human(i).find("disk size: unavailable\n"), std::string::npos);
}

ImageInfo qcow2_with_bitmaps() {
  ImageInfo i;
  i.filename = "s.qcow2";
  i.format = Format::Qcow2;
  i.virtual_size = 67108864;
  i.actual_size = 225280;
  i.cluster_size = 65536;
  i.format_specific_type = "qcow2";
  InfoNode& d = i.format_specific_data;
  d.set("compat", InfoNode::string("1.1"));
  d.set("data-file", InfoNode::string("s.data"));
  d.set("data-file-raw", InfoNode::boolean(false));
  d.set("extended-l2", InfoNode::boolean(false));
  d.set("lazy-refcounts", InfoNode::boolean(true));
  d.set("corrupt", InfoNode::boolean(false));
  d.set("refcount-bits", InfoNode::integer(16));
  InfoNode bitmaps = InfoNode::list();
  InfoNode b0 = InfoNode::dict();
  b0.set("name", InfoNode::string("bm0"));
  b0.set("granularity", InfoNode::integer(65536));
  b0.set("flags", InfoNode::list()).push(InfoNode::string("auto"));
  bitmaps.push(std::move(b0));
  InfoNode b1 = InfoNode::dict();
  b1.set("name", InfoNode::string("b1"));
  b1.set("granularity", InfoNode::integer(131072));
  b1.set("flags", InfoNode::list());
  bitmaps.push(std::move(b1));
  d.set("bitmaps", std::move(bitmaps));
  d.set("compression-type", InfoNode::string("zlib"));
  return i;
}

TEST(InfoRenderHuman, Qcow2BitmapsNestedListsAndEmptyList) {
  EXPECT_EQ(
      render_info_human(qcow2_with_bitmaps()),
      "image: s.qcow2\nfile format: qcow2\nvirtual size: 64 MiB (67108864 bytes)\ndisk size: 220 KiB\n"
      "cluster_size: 65536\nFormat specific information:\n    compat: 1.1\n    compression type: zlib\n"
      "    lazy refcounts: true\n    bitmaps:\n        [0]:\n            flags:\n                [0]: auto\n"
      "            name: bm0\n            granularity: 65536\n        [1]:\n            flags:\n"
      "            name: b1\n            granularity: 131072\n    refcount bits: 16\n"
      "    data file: s.data\n    data file raw: false\n    corrupt: false\n    extended l2: false\n");
}

TEST(InfoRenderJson, Qcow2BitmapsNestedListsAndEmptyList) {
  EXPECT_EQ(render_info_json(qcow2_with_bitmaps()),
            R"({
    "virtual-size": 67108864,
    "filename": "s.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 225280,
    "format-specific": {
        "type": "qcow2",
        "data": {
            "compat": "1.1",
            "compression-type": "zlib",
            "lazy-refcounts": true,
            "bitmaps": [
                {
                    "flags": [
                        "auto"
                    ],
                    "name": "bm0",
                    "granularity": 65536
                },
                {
                    "flags": [
                    ],
                    "name": "b1",
                    "granularity": 131072
                }
            ],
            "refcount-bits": 16,
            "data-file": "s.data",
            "data-file-raw": false,
            "corrupt": false,
            "extended-l2": false
        }
    },
    "dirty-flag": false
}
)");
}

TEST(InfoRenderHuman, VmdkEmptyFormatKeepsTrailingSpace) {
  ImageInfo i;
  i.filename = "v.vmdk";
  i.format = Format::Vmdk;
  i.virtual_size = 104857600;
  i.actual_size = 12288;
  i.cluster_size = 65536;
  i.format_specific_type = "vmdk";
  i.format_specific_data.set("create-type", InfoNode::string("monolithicSparse"));
  i.format_specific_data.set("cid", InfoNode::integer(3180269519));
  i.format_specific_data.set("parent-cid", InfoNode::integer(4294967295));
  InfoNode e = InfoNode::dict();
  e.set("filename", InfoNode::string("v.vmdk"));
  e.set("format", InfoNode::string(""));
  e.set("virtual-size", InfoNode::integer(104857600));
  e.set("cluster-size", InfoNode::integer(65536));
  i.format_specific_data.set("extents", InfoNode::list()).push(std::move(e));
  EXPECT_EQ(
      render_info_human(i),
      "image: v.vmdk\nfile format: vmdk\nvirtual size: 100 MiB (104857600 bytes)\ndisk size: 12 KiB\n"
      "cluster_size: 65536\nFormat specific information:\n    cid: 3180269519\n    parent cid: 4294967295\n"
      "    create type: monolithicSparse\n    extents:\n        [0]:\n            virtual size: 104857600\n"
      "            filename: v.vmdk\n            cluster size: 65536\n            format: \n");
}

TEST(InfoRenderHuman, BackingFileAndSnapshots) {
  setenv("TZ", "UTC", 1);
  tzset();
  ImageInfo i;
  i.filename = "sn.qcow2";
  i.format = Format::Qcow2;
  i.virtual_size = 1048576;
  i.actual_size = 348160;
  i.cluster_size = 65536;
  i.dirty = true;
  i.backing_filename = "d/base.qcow2";
  i.full_backing_filename = "/abs/d/base.qcow2";
  i.backing_filename_format = "qcow2";
  i.snapshots.push_back({"1", "snap1", 0, 1795621524, 588944000, 0, 0});
  i.snapshots.push_back({"2", "second-snap", 1536, 1795621524, 692554000, 3723004000000ull, std::nullopt});
  EXPECT_EQ(render_info_human(i),
            "image: sn.qcow2\nfile format: qcow2\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 340 KiB\n"
            "cluster_size: 65536\ncleanly shut down: no\n"
            "backing file: d/base.qcow2 (actual path: /abs/d/base.qcow2)\nbacking file format: qcow2\n"
            "Snapshot list:\n"
            "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n"
            "1         snap1                 0 B 2026-11-25 15:45:24 00:00:00.000          0\n"
            "2         second-snap       1.5 KiB 2026-11-25 15:45:24 01:02:03.004           \n");
  i.full_backing_filename.reset();
  EXPECT_NE(render_info_human(i).find("backing file: d/base.qcow2 (cannot determine actual path)\n"),
            std::string::npos);
  i.full_backing_filename = "d/base.qcow2";
  EXPECT_NE(render_info_human(i).find("backing file: d/base.qcow2\n"), std::string::npos);
  const std::string j = render_info_json(i);
  EXPECT_NE(j.find("\"full-backing-filename\": \"d/base.qcow2\""), std::string::npos);
  EXPECT_NE(j.find("            \"vm-clock-nsec\": 4000000,\n"), std::string::npos);
  EXPECT_NE(j.find("            \"vm-clock-sec\": 3723,\n"), std::string::npos);
  EXPECT_EQ(j.find("\"icount\": 0,", j.find("second-snap")), std::string::npos);
  EXPECT_NE(j.find("\"dirty-flag\": true\n"), std::string::npos);
}

TEST(InfoRenderExtra, AppendsAfterQemuPart) {
  ImageInfo i;
  i.filename = "r.raw";
  i.format = Format::Raw;
  i.extra.set("partition-table", InfoNode::string("gpt"));
  i.named_files = {{FileRole::BackingFile, "base\x1b[2J.qcow2"}};
  EXPECT_EQ(render_info_extra_human(i),
            "imgtool:\n    glance disk format: raw\n    named files (opened only through the gate):\n"
            "        [0]: backing-file: base\\x1b[2J.qcow2\n"
            "    partition table: gpt\n");
  std::string j = render_info_json_with_extra(i);
  EXPECT_NE(j.find("\"imgtool\": {"), std::string::npos);
  EXPECT_NE(j.find("\"partition-table\": \"gpt\""), std::string::npos);
}

// The renderers take an Assessment: the verdict decides the words.
Assessment with(CheckReport r, Verdict v) {
  Assessment a;
  a.report = std::move(r);
  a.verdict = v;
  return a;
}

TEST(CheckRender, HumanSummaryLikeQemu) {
  CheckReport r;
  r.filename = "x.qcow2";
  r.format = Format::Qcow2;
  r.total_clusters = 16384;
  r.allocated_clusters = 3;
  r.fragmented_clusters = 1;
  r.compressed_clusters = 0;
  r.image_end_offset = 393216;
  EXPECT_EQ(render_check_human(with(r, Verdict::Clean)),
            "No errors were found on the image.\n"
            "3/16384 = 0.02% allocated, 33.33% fragmented, 0.00% compressed clusters\n"
            "Image end offset: 393216\n");
  r.findings.push_back({Severity::Corruption, FindingKind::Metadata, "a"});
  r.findings.push_back({Severity::Leak, FindingKind::Leak, "b"});
  r.findings.push_back({Severity::Unsafe, FindingKind::NamedFile, "backing file 'base.qcow2'"});
  EXPECT_EQ(render_check_human(with(r, Verdict::Unsafe)),
            "\n1 errors were found on the image.\n"
            "Data may be corrupted, or further writes to the image may corrupt it.\n"
            "\n1 leaked clusters were found on the image.\n"
            "This means waste of disk space, but no harm to data.\n"
            "3/16384 = 0.02% allocated, 33.33% fragmented, 0.00% compressed clusters\n"
            "Image end offset: 393216\n"
            "x.qcow2: unsafe: backing file 'base.qcow2'\n");
}

// An unsafe image is not "No errors were found": the summary says nothing
// clean above the unsafe line.
TEST(CheckRender, UnsafeWithoutErrorsIsNotCalledClean) {
  CheckReport r;
  r.filename = "x.raw";
  r.findings.push_back({Severity::Unsafe, FindingKind::PartitionTable, "MBR has no partitions defined"});
  EXPECT_EQ(render_check_human(with(r, Verdict::Unsafe)), "x.raw: unsafe: MBR has no partitions defined\n");
  r.findings.clear();
  r.findings.push_back({Severity::Note, FindingKind::GlanceRule, "createType 'monolithicFlat'"});
  EXPECT_EQ(render_check_human(with(r, Verdict::Clean)),
            "No errors were found on the image.\nx.raw: note: createType 'monolithicFlat'\n");
}

TEST(CheckRender, JsonKeysLikeQemuPlusOurs) {
  CheckReport r;
  r.filename = "x.qcow2";
  r.format = Format::Qcow2;
  r.total_clusters = 16384;
  r.allocated_clusters = 3;
  r.fragmented_clusters = 0;
  r.image_end_offset = 393216;
  const std::string j = render_check_json(with(r, Verdict::Clean));
  // qemu-img check --output=json order for the qemu keys; zero counters absent.
  EXPECT_LT(j.find("\"image-end-offset\": 393216"), j.find("\"total-clusters\": 16384"));
  EXPECT_LT(j.find("\"check-errors\": 0"), j.find("\"allocated-clusters\": 3"));
  EXPECT_EQ(j.find("fragmented-clusters"), std::string::npos);
  EXPECT_EQ(j.find("\"corruptions\""), std::string::npos);
  EXPECT_NE(j.find("\"verdict\": \"clean\""), std::string::npos);
  EXPECT_NE(j.find("\"unsafe\": [\n    ]"), std::string::npos);
}

}  // namespace
}  // namespace imgtool
