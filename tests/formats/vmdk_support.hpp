#pragma once
// Helpers shared by the vmdk tests: compare imgtool's view of an image with
// qemu-img's (info JSON, map JSON, convert -O raw) and build images by hand.
#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/verdict.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::vmdk {

using json = nlohmann::json;

inline std::string q(const std::string& s) {
  return sh_quote(s);
}

// Pseudo-random bytes (deterministic per seed).
inline std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// A raw file of `size` bytes with data at a few places and zero runs between.
inline void make_scattered_raw(const std::string& path, uint64_t size) {
  write_file(path, "");
  truncate_file(path, size);
  poke(path, 100000, "hello vmdk");
  poke(path, 3000000 % size, random_bytes(300000, 1));
  poke(path, size - 70000, std::string(70000, 'a'));
  poke(path, 1 << 20, std::string(65536, '\0'));  // explicit zeros
}

inline std::string read_all(const Image& img) {
  std::string s(static_cast<size_t>(img.info().virtual_size), '\0');
  img.read(0, std::span<std::byte>(reinterpret_cast<std::byte*>(s.data()), s.size()));
  return s;
}

inline std::string read_range(const Image& img, uint64_t off, size_t len) {
  std::string s(len, '\0');
  img.read(off, std::span<std::byte>(reinterpret_cast<std::byte*>(s.data()), s.size()));
  return s;
}

// ImageInfo vs `qemu-img info --output=json` on the same path.
inline void expect_info_matches_qemu(const ImageInfo& i, const std::string& path) {
  json j = json::parse(run_ok("qemu-img info --output=json " + q(path)));
  EXPECT_EQ(i.format, Format::Vmdk);
  EXPECT_EQ(i.virtual_size, j["virtual-size"].get<uint64_t>());
  ASSERT_TRUE(i.actual_size.has_value());
  EXPECT_EQ(*i.actual_size, j["actual-size"].get<uint64_t>());
  EXPECT_EQ(i.cluster_size.has_value(), j.contains("cluster-size"));
  if (i.cluster_size && j.contains("cluster-size")) {
    EXPECT_EQ(*i.cluster_size, j["cluster-size"].get<uint64_t>());
  }
  EXPECT_EQ(i.backing_filename.has_value(), j.contains("backing-filename"));
  if (j.contains("backing-filename")) {
    EXPECT_EQ(i.backing_filename.value_or(""), j["backing-filename"].get<std::string>());
    EXPECT_EQ(i.full_backing_filename.value_or(""), j["full-backing-filename"].get<std::string>());
    EXPECT_EQ(i.backing_filename_format.value_or(""), j["backing-filename-format"].get<std::string>());
  }
  EXPECT_EQ(i.format_specific_type, "vmdk");
  const json& d = j["format-specific"]["data"];
  const InfoNode& n = i.format_specific_data;
  ASSERT_NE(n.find("create-type"), nullptr);
  EXPECT_EQ(n.find("create-type")->as_string(), d["create-type"].get<std::string>());
  EXPECT_EQ(n.find("cid")->as_int(), d["cid"].get<int64_t>());
  EXPECT_EQ(n.find("parent-cid")->as_int(), d["parent-cid"].get<int64_t>());
  const auto& ours = n.find("extents")->items();
  ASSERT_EQ(ours.size(), d["extents"].size());
  for (size_t k = 0; k < ours.size(); ++k) {
    const json& e = d["extents"][k];
    SCOPED_TRACE("extent " + std::to_string(k));
    EXPECT_EQ(ours[k].find("filename")->as_string(), e["filename"].get<std::string>());
    EXPECT_EQ(ours[k].find("format")->as_string(), e["format"].get<std::string>());
    EXPECT_EQ(ours[k].find("virtual-size")->as_int(), e["virtual-size"].get<int64_t>());
    EXPECT_EQ(ours[k].find("cluster-size") != nullptr, e.contains("cluster-size"));
    if (e.contains("cluster-size") && ours[k].find("cluster-size")) {
      EXPECT_EQ(ours[k].find("cluster-size")->as_int(), e["cluster-size"].get<int64_t>());
    }
    EXPECT_EQ(ours[k].find("compressed") != nullptr, e.contains("compressed"));
    // QAPI order of VmdkExtentInfo (the renderer reorders for qemu's output).
    std::vector<std::string> keys;
    for (const auto& kv : ours[k].entries()) keys.push_back(kv.first);
    EXPECT_EQ(keys[0], "filename");
    EXPECT_EQ(keys[1], "format");
    EXPECT_EQ(keys[2], "virtual-size");
  }
  std::vector<std::string> top;
  for (const auto& kv : n.entries()) top.push_back(kv.first);
  EXPECT_EQ(top, (std::vector<std::string>{"create-type", "cid", "parent-cid", "extents"}));
}

// map() vs `qemu-img map --output=json`: Data exactly where qemu says data and not zero.
inline void expect_map_matches_qemu(const Image& img, const std::string& path,
                                    const std::string& qemu_opts = "") {
  std::string out = run_ok("qemu-img map --output=json " + qemu_opts + " " + q(path));
  json arr = json::parse(out);
  ASSERT_FALSE(arr.empty());
  uint64_t covered = 0;
  for (const auto& m : arr) {
    const uint64_t start = m["start"].get<uint64_t>(), len = m["length"].get<uint64_t>();
    // qemu reports holes of flat extents as data+zero (BDRV_BLOCK_RECURSE).
    const bool data = m["data"].get<bool>() && !m["zero"].get<bool>();
    for (uint64_t off = start; off < start + len;) {
      Extent e = img.map(off, start + len - off);
      ASSERT_GT(e.length, 0u);
      EXPECT_EQ(e.kind == ExtentKind::Data, data)
          << "at guest offset " << off << " (qemu range " << start << "+" << len << ")";
      off += e.length;
    }
    covered = start + len;
  }
  EXPECT_EQ(covered, img.info().virtual_size);
}

// Guest bytes vs `qemu-img convert -O raw` (whole image; small images only).
inline void expect_data_matches_qemu(const Image& img, const std::string& path, const TempDir& tmp) {
  const std::string raw = tmp.file("qemu-out.raw");
  qemu_img("convert -O raw " + q(path) + " " + q(raw));
  std::string theirs = read_file(raw);
  std::string ours = read_all(img);
  ASSERT_EQ(ours.size(), theirs.size());
  EXPECT_TRUE(ours == theirs) << "guest bytes differ from qemu-img convert -O raw";
}

// Guest bytes vs qemu-img convert, comparing only our Data extents plus a
// zero sample per non-data extent (multi-GiB sparse images).
inline void expect_sparse_data_matches_qemu(const Image& img, const std::string& path, const TempDir& tmp) {
  const std::string raw = tmp.file("qemu-out.raw");
  qemu_img("convert -O raw " + q(path) + " " + q(raw));
  auto src = open_file_source(raw);
  ASSERT_EQ(src->size(), img.info().virtual_size);
  for_each_extent(img, [&](const Extent& e) {
    const size_t n = e.kind == ExtentKind::Data ? static_cast<size_t>(std::min<uint64_t>(e.length, 8 << 20))
                                                : static_cast<size_t>(std::min<uint64_t>(e.length, 4096));
    std::string ours = read_range(img, e.offset, n);
    std::string theirs(n, '\0');
    src->read_exact(e.offset, std::span<std::byte>(reinterpret_cast<std::byte*>(theirs.data()), n));
    EXPECT_TRUE(ours == theirs) << "bytes differ at guest offset " << e.offset;
    if (e.kind != ExtentKind::Data) {
      EXPECT_TRUE(ours == std::string(n, '\0'));
    }
    return true;
  });
}

inline bool has_finding(const CheckReport& r, Severity k, const std::string& a,
                        const std::string& b = "") {
  for (const auto& f : r.findings)
    if (f.severity == k && f.message.find(a) != std::string::npos && f.message.find(b) != std::string::npos)
      return true;
  return false;
}

inline std::string findings_text(const CheckReport& r) {
  std::string s;
  for (const auto& f : r.findings)
    s += std::string(to_string(f.severity)) + ": " + f.message + "\n";
  return s;
}

// Expects `fn` to throw imgtool::Error of `kind` whose text contains all words.
template <class Fn>
void expect_error(Fn&& fn, ErrorKind kind, std::initializer_list<const char*> words) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const char* w : words)
      EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << "'" << w << "' not in: " << e.what();
  }
}

inline std::string le_bytes(uint64_t v, int n) {
  std::string s(static_cast<size_t>(n), '\0');
  for (int i = 0; i < n; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return s;
}

inline uint64_t load_le(const std::string& s, size_t off, int n) {
  uint64_t v = 0;
  for (int i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[off + static_cast<size_t>(i)]);
  return v;
}

// zlib stream (RFC 1950), as qemu's vmdk_write_extent and VMware write grains.
inline std::string zlib_compress(const std::string& in) {
  uLongf n = compressBound(static_cast<uLong>(in.size()));
  std::string out(n, '\0');
  compress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()),
           static_cast<uLong>(in.size()));
  out.resize(n);
  return out;
}

}  // namespace imgtool::test::vmdk
