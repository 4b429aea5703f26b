// `imgtool info` on files imgtool converted prints exactly what `qemu-img
// info` prints on them (human and JSON).
#include <gtest/gtest.h>

#include "convert/convert_fixture.hpp"

namespace imgtool::test {
namespace {

struct InfoCase {
  std::string name, format;
  std::map<std::string, std::string> options;
  bool compress = false;
};

TEST(ConvertInfo, ImgtoolInfoEqualsQemuImgInfoOnConvertedFiles) {
  const std::vector<InfoCase> cases{
      {"raw", "raw", {}, false},
      {"v2.qcow2", "qcow2", {{"compat", "0.10"}}, false},
      {"v3.qcow2", "qcow2", {{"lazy_refcounts", "on"}, {"cluster_size", "128k"}}, false},
      {"zstd.qcow2", "qcow2", {{"compression_type", "zstd"}, {"refcount_bits", "8"}}, true},
      {"sparse.vmdk", "vmdk", {{"subformat", "monolithicSparse"}}, false},
      {"stream.vmdk", "vmdk", {{"subformat", "streamOptimized"}}, false},
  };
  TempDir out;
  for (const auto& c : cases) {
    ConvertOptions o;
    o.target_format = *format_from_name(c.format);
    o.options = c.options;
    o.compress = c.compress;
    const std::string dst = out.file(c.name);
    try {
      convert_file(convert_source("raw").path, dst, o);
    } catch (const Error& e) {
      ADD_FAILURE() << c.name << ": " << e.what();
      continue;
    }
    for (const char* output : {"human", "json"}) {
      RunResult q = run("qemu-img info --output=" + std::string(output) + " " + sh_quote(dst));
      RunResult i = run(sh_quote(imgtool_bin()) + " info --output=" + output + " " + sh_quote(dst));
      ASSERT_EQ(q.exit_code, 0) << q.err;
      EXPECT_EQ(i.exit_code, 0) << c.name << " " << i.err;
      EXPECT_EQ(i.out, q.out) << c.name << " --output=" << output;
    }
  }
}

}  // namespace
}  // namespace imgtool::test
