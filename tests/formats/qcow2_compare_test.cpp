// The qemu-img comparison helpers of the qcow2 tests (declared in
// qcow2_support.hpp), plus the tests of the helpers' own edge cases.
#include <cstring>
#include <fstream>

#include "formats/qcow2_support.hpp"
#include "imgtool/verdict.hpp"
#include "imgtool/error.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {

nlohmann::json qemu_json(const std::string& cmd) {
  RunResult r = run("qemu-img " + cmd);
  EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
  return nlohmann::json::parse(r.out);
}

nlohmann::json info_node_json(const InfoNode& n) {
  switch (n.type()) {
    case InfoNode::Type::Bool: return n.as_bool();
    case InfoNode::Type::Int: return n.as_int();
    case InfoNode::Type::String: return n.as_string();
    case InfoNode::Type::List: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& i : n.items()) a.push_back(info_node_json(i));
      return a;
    }
    case InfoNode::Type::Dict: break;
  }
  nlohmann::json o = nlohmann::json::object();
  for (const auto& [k, v] : n.entries()) o[k] = info_node_json(v);
  return o;
}

std::shared_ptr<const Image> open_qcow2(const std::string& path, bool allow_external) {
  if (!allow_external) return open_image(path, OpenOptions{Format::Qcow2});
  AssessOptions o;
  o.format = Format::Qcow2;
  o.gate.allow_external_files = true;
  return assess(path, o).image;
}

void expect_same_data(const Image& img, const std::string& path, const std::string& tmp_raw) {
  qemu_img("convert -O raw " + sh_quote(path) + " " + sh_quote(tmp_raw));
  std::ifstream f(tmp_raw, std::ios::binary);
  const uint64_t size = img.info().virtual_size;
  constexpr size_t kChunk = 1 << 20;
  std::vector<std::byte> mine(kChunk);
  std::vector<char> theirs(kChunk);
  for (uint64_t off = 0; off < size; off += kChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size - off));
    img.read(off, std::span(mine.data(), n));
    f.read(theirs.data(), static_cast<std::streamsize>(n));
    ASSERT_EQ(static_cast<size_t>(f.gcount()), n) << "qemu output shorter at " << off;
    if (std::memcmp(mine.data(), theirs.data(), n) != 0) {
      size_t i = 0;
      while (mine[i] == std::byte(theirs[i])) ++i;
      FAIL() << path << ": guest data differs from qemu-img convert at offset " << off + i;
    }
  }
}

void expect_same_map(const Image& img, const std::string& path) {
  nlohmann::json m = qemu_json("map --output=json " + sh_quote(path));
  for (const auto& e : m) {
    const uint64_t start = e["start"], len = e["length"];
    const bool present = e["present"], data = e["data"];
    for (uint64_t off = start; off < start + len;) {
      Extent x = img.map(off, start + len - off);
      ASSERT_GT(x.length, 0u);
      EXPECT_EQ(x.kind == ExtentKind::Data, data) << path << " at " << off << " (qemu: " << e.dump() << ")";
      EXPECT_EQ(x.kind != ExtentKind::Unallocated, present)
          << path << " at " << off << " (qemu: " << e.dump() << ")";
      off += x.length;
    }
  }
}

void expect_same_check(const Image& img, const std::string& path) {
  RunResult r = run("qemu-img check --output=json " + sh_quote(path));
  nlohmann::json q = nlohmann::json::parse(r.out);
  CheckReport c = img.check();
  EXPECT_EQ(c.total_clusters, q.value("total-clusters", uint64_t(0))) << path;
  EXPECT_EQ(c.allocated_clusters, q.value("allocated-clusters", uint64_t(0))) << path;
  EXPECT_EQ(c.fragmented_clusters, q.value("fragmented-clusters", uint64_t(0))) << path;
  EXPECT_EQ(c.compressed_clusters, q.value("compressed-clusters", uint64_t(0))) << path;
  EXPECT_EQ(c.image_end_offset, q.value("image-end-offset", uint64_t(0))) << path;
  EXPECT_EQ(c.count(Severity::Corruption), q.value("corruptions", uint64_t(0))) << path;
  EXPECT_EQ(c.count(Severity::Leak), q.value("leaks", uint64_t(0))) << path;
  // A clean image (by qemu) has no findings but notes (Glance's rules).
  if (q.value("corruptions", 0) == 0 && q.value("leaks", 0) == 0)
    for (const auto& f : c.findings)
      if (f.severity != Severity::Note)
        ADD_FAILURE() << path << ": finding: " << f.message << "\nqemu: " << r.err;
}

void expect_same_info(const Image& img, const std::string& path) {
  nlohmann::json q = qemu_json("info -U --output=json " + sh_quote(path));
  const ImageInfo& i = img.info();
  EXPECT_EQ(i.format, Format::Qcow2);
  EXPECT_EQ(i.virtual_size, q["virtual-size"].get<uint64_t>());
  EXPECT_EQ(i.cluster_size, q["cluster-size"].get<uint64_t>());
  EXPECT_EQ(i.dirty, q["dirty-flag"].get<bool>());
  EXPECT_EQ(i.encrypted, q.value("encrypted", false));
  if (!q.contains("format-specific") || !q["format-specific"]["data"].contains("data-file")) {
    EXPECT_EQ(i.actual_size, q["actual-size"].get<uint64_t>());  // qemu adds the data file's size
  }
  EXPECT_EQ(i.format_specific_type, "qcow2");
  nlohmann::json spec = q["format-specific"]["data"];
  if (spec.contains("encrypt"))
    spec["encrypt"] = {{"format", spec["encrypt"]["format"]}};  // we report the format only
  EXPECT_EQ(info_node_json(i.format_specific_data), spec) << path;
  EXPECT_EQ(i.backing_filename.value_or(""), q.value("backing-filename", ""));
  EXPECT_EQ(i.full_backing_filename.value_or(""), q.value("full-backing-filename", ""));
  EXPECT_EQ(i.backing_filename_format.value_or(""), q.value("backing-filename-format", ""));
  nlohmann::json snaps = q.value("snapshots", nlohmann::json::array());
  ASSERT_EQ(i.snapshots.size(), snaps.size());
  for (size_t k = 0; k < snaps.size(); ++k) {
    const auto& s = i.snapshots[k];
    const auto& t = snaps[k];
    EXPECT_EQ(s.id, t["id"].get<std::string>());
    EXPECT_EQ(s.name, t["name"].get<std::string>());
    EXPECT_EQ(s.vm_state_size, t["vm-state-size"].get<uint64_t>());
    EXPECT_EQ(s.date_sec, t["date-sec"].get<uint64_t>());
    EXPECT_EQ(s.date_nsec, t["date-nsec"].get<uint64_t>());
    EXPECT_EQ(s.vm_clock_nsec,
              t["vm-clock-sec"].get<uint64_t>() * 1000000000 + t["vm-clock-nsec"].get<uint64_t>());
    EXPECT_EQ(s.icount.has_value(), t.contains("icount"));
    if (s.icount && t.contains("icount")) {
      EXPECT_EQ(*s.icount, t["icount"].get<uint64_t>());
    }
  }
}

void expect_like_qemu(const std::string& path, const std::string& tmp_raw) {
  auto img = open_qcow2(path);
  expect_same_info(*img, path);
  expect_same_map(*img, path);
  expect_same_check(*img, path);
  expect_same_data(*img, path, tmp_raw);
}

namespace {

TEST(Qcow2Compare, InfoNodeJsonRoundTrip) {
  InfoNode d = InfoNode::dict();
  d.set("a", InfoNode::integer(3));
  InfoNode l = InfoNode::list();
  l.push(InfoNode::string("x"));
  d.set("b", std::move(l));
  EXPECT_EQ(info_node_json(d), nlohmann::json::parse(R"({"b":["x"],"a":3})"));
}

}  // namespace
}  // namespace imgtool::test
