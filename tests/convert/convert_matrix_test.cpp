// Every source variant x every target: `qemu-img compare` says identical and
// `qemu-img check` is clean; plus the round trip qcow2 -> vmdk -> raw -> qcow2.
#include <gtest/gtest.h>

#include <tuple>

#include "convert/convert_fixture.hpp"

namespace imgtool::test {
namespace {

struct Target {
  std::string name;
  std::string format;
  std::map<std::string, std::string> options;
  bool compress = false;
};

const std::vector<Target>& targets() {
  static const std::vector<Target> t{
      {"raw", "raw", {}, false},
      {"qcow2_v2", "qcow2", {{"compat", "0.10"}}, false},
      {"qcow2_v3", "qcow2", {{"compat", "1.1"}}, false},
      {"qcow2_zlib", "qcow2", {{"compression_type", "zlib"}}, true},
      {"qcow2_zstd", "qcow2", {{"compression_type", "zstd"}}, true},
      {"vmdk_sparse", "vmdk", {{"subformat", "monolithicSparse"}}, false},
      {"vmdk_stream", "vmdk", {{"subformat", "streamOptimized"}}, false},
  };
  return t;
}

const std::vector<std::string> kSources{"raw",        "qcow2_v2",   "qcow2_v3",    "qcow2_extl2",
                                        "qcow2_zlib", "qcow2_zstd", "vmdk_sparse", "vmdk_stream"};

// Converts with the library. Every source reader and target writer is real,
// so any error of the engine (Unsupported included) fails the test.
bool convert(const SourceImage& s, const Target& t, const std::string& dst) {
  ConvertOptions o;
  o.target_format = *format_from_name(t.format);
  o.options = t.options;
  o.compress = t.compress;
  OpenOptions open;
  open.format = format_from_name(s.format);
  try {
    convert_file(s.path, dst, o, open);
    return true;
  } catch (const Error& e) {
    ADD_FAILURE() << s.name << " -> " << t.name << ": " << e.what();
    return false;
  }
}

void expect_identical(const SourceImage& s, const std::string& dst, const std::string& dst_fmt) {
  RunResult r = run("qemu-img compare -f " + s.format + " -F " + dst_fmt + " " + sh_quote(s.path) + " " +
                    sh_quote(dst));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Images are identical."), std::string::npos) << r.out;
}

void expect_check_clean(const std::string& dst, const std::string& fmt) {
  if (fmt == "raw") return;
  RunResult r = run("qemu-img check -f " + fmt + " " + sh_quote(dst));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("No errors were found on the image."), std::string::npos) << r.out << r.err;
}

class ConvertMatrix : public ::testing::TestWithParam<std::tuple<std::string, size_t>> {};

TEST_P(ConvertMatrix, IdenticalToSourceAndClean) {
  const SourceImage& s = convert_source(std::get<0>(GetParam()));
  const Target& t = targets()[std::get<1>(GetParam())];
  TempDir out;
  const std::string dst = out.file("out." + t.format);
  ASSERT_TRUE(convert(s, t, dst));
  expect_identical(s, dst, t.format);
  expect_check_clean(dst, t.format);
  if (t.compress) {  // the output really holds compressed clusters
    RunResult r = run("qemu-img check " + sh_quote(dst));
    // The summary line must be there: without it the second check proves nothing.
    EXPECT_NE(r.out.find("% compressed clusters"), std::string::npos) << r.out << r.err;
    EXPECT_EQ(r.out.find(" 0.00% compressed clusters"), std::string::npos) << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(AllPairs, ConvertMatrix,
                         ::testing::Combine(::testing::ValuesIn(kSources), ::testing::Range<size_t>(0, 7)),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_to_" + targets()[std::get<1>(p.param)].name;
                         });

TEST(ConvertRoundTrip, Qcow2VmdkRawQcow2KeepsGuestBytes) {
  const SourceImage& s = convert_source("qcow2_v3");
  TempDir out;
  const std::string vmdk = out.file("a.vmdk"), raw = out.file("b.raw"), q = out.file("c.qcow2");
  ASSERT_TRUE(convert(s, targets()[6], vmdk));
  ASSERT_TRUE(convert({"vmdk", vmdk, "vmdk"}, targets()[0], raw));
  ASSERT_TRUE(convert({"raw", raw, "raw"}, targets()[2], q));
  expect_identical(s, q, "qcow2");
  expect_check_clean(q, "qcow2");
}

// The raw source round trip needs no other helper's code: raw -> qcow2 ->
// raw is byte-identical (sizes included) to the original.
TEST(ConvertRoundTrip, RawQcow2RawIsByteIdentical) {
  const SourceImage& s = convert_source("raw");
  TempDir out;
  const std::string q = out.file("a.qcow2"), raw = out.file("b.raw");
  ASSERT_TRUE(convert(s, targets()[3], q));
  expect_check_clean(q, "qcow2");
  RunResult r = run("qemu-img convert -f qcow2 -O raw " + sh_quote(q) + " " + sh_quote(raw) + " && cmp " +
                    sh_quote(s.path) + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace imgtool::test
