// Golden tests: `imgtool info FILE` must print exactly what `qemu-img info
// FILE` prints (Debian 12's qemu-img 7.2), human and --output=json, byte for
// byte, with the same path string. Images are made at test time with
// qemu-img/qemu-io. Files the image names (backing file, external data file)
// are deleted after the reference is taken: imgtool must print the same text
// without them, because it never opens them.
//
// Deliberate difference (masked in that one case): "disk size"/"actual-size"
// of a qcow2 whose external data file is missing. qemu adds the data file's
// allocation (and cannot open the image at all without it); imgtool stat()s
// the data file when it exists (same number as qemu) and otherwise reports the
// image file alone, because it never opens files named inside an image.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

struct GoldenCase {
  std::string name;
  std::string setup;                      // shell commands run inside the temp dir
  std::string path;                       // path given to both tools; "@" is replaced by the temp dir
  std::vector<std::string> remove_after;  // deleted after the qemu-img reference
  std::vector<std::string> mask;          // lines containing these are dropped from both outputs
};

const std::string kData =  // some guest data at a few offsets
    "qemu-io -f qcow2 -c 'write -P 0x11 0 64k' -c 'write -P 0x22 1M 4k' -c 'write -z 2M 64k' img.qcow2 "
    ">/dev/null";

std::vector<GoldenCase> cases() {
  const std::string mk = "qemu-img create -q -f qcow2 ";
  const std::string ref_raw =
      "qemu-img create -q -f raw src.raw 8M && "
      "qemu-io -f raw -c 'write -P 0x5a 0 1M' -c 'write -P 0 2M 64k' src.raw >/dev/null && ";
  return {
      {"qcow2_compat010", mk + "-o compat=0.10 img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_compat11", mk + "-o compat=1.1 img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_cluster512", mk + "-o cluster_size=512 img.qcow2 8M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_cluster4k", mk + "-o cluster_size=4k img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_cluster64k", mk + "-o cluster_size=64k img.qcow2 1G", "img.qcow2", {}, {}},
      {"qcow2_cluster2M", mk + "-o cluster_size=2M img.qcow2 1G && " + kData, "img.qcow2", {}, {}},
      {"qcow2_lazy_refcounts", mk + "-o lazy_refcounts=on img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_refcount_bits1", mk + "-o refcount_bits=1 img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_refcount_bits64", mk + "-o refcount_bits=64 img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_extended_l2", mk + "-o extended_l2=on img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_zlib", ref_raw + "qemu-img convert -c -O qcow2 src.raw img.qcow2", "img.qcow2", {}, {}},
      {"qcow2_zstd",
       ref_raw + "qemu-img convert -c -O qcow2 -o compression_type=zstd src.raw img.qcow2",
       "img.qcow2",
       {},
       {}},
      {"qcow2_prealloc_metadata", mk + "-o preallocation=metadata img.qcow2 64M", "img.qcow2", {}, {}},
      {"qcow2_backing_relative",
       mk + "base.qcow2 64M && " + mk + "-b base.qcow2 -F qcow2 img.qcow2 && " + kData,
       "img.qcow2",
       {"base.qcow2"},
       {}},
      {"qcow2_backing_absolute",
       mk + "base.qcow2 64M && " + mk + "-b \"$PWD/base.qcow2\" -F qcow2 img.qcow2",
       "img.qcow2",
       {"base.qcow2"},
       {}},
      {"qcow2_backing_in_subdir",
       "mkdir sub && " + mk + "sub/base.qcow2 64M && " + mk + "-b base.qcow2 -F qcow2 sub/img.qcow2",
       "sub/img.qcow2",
       {"sub/base.qcow2"},
       {}},
      {"qcow2_backing_absolute_path_arg",
       mk + "base.qcow2 64M && " + mk + "-b base.qcow2 -F qcow2 img.qcow2",
       "@/img.qcow2",
       {"base.qcow2"},
       {}},
      // No backing format: hide the backing-format header extension (an
      // unknown extension type is ignored); qemu 7.2 refuses to create one.
      {"qcow2_backing_no_format",
       mk + "base.qcow2 64M && " + mk + "-b base.qcow2 -F qcow2 img.qcow2 && " +
           "off=$(LC_ALL=C grep -obUaP '\\xe2\\x79\\x2a\\xca' img.qcow2 | head -n1 | cut -d: -f1) && "
           "printf '\\022\\064\\126\\170' | dd of=img.qcow2 bs=1 seek=$off conv=notrunc status=none",
       "img.qcow2",
       {"base.qcow2"},
       {}},
      // qemu opens the data file; imgtool only stat()s it for "disk size".
      {"qcow2_data_file", mk + "-o data_file=img.data img.qcow2 64M && " + kData, "img.qcow2", {}, {}},
      {"qcow2_data_file_raw",
       mk + "-o data_file=img.data,data_file_raw=on img.qcow2 64M",
       "img.qcow2",
       {},
       {}},
      // Without the data file, only "disk size" can differ (see the top).
      {"qcow2_data_file_deleted",
       mk + "-o data_file=img.data img.qcow2 64M && " + kData,
       "img.qcow2",
       {"img.data"},
       {"disk size: ", "\"actual-size\": "}},
      {"qcow2_snapshots",
       mk + "img.qcow2 64M && " + kData +
           " && qemu-img snapshot -c first img.qcow2 && qemu-io -c 'write 0 4k' img.qcow2 >/dev/null && "
           "qemu-img snapshot -c second-with-a-long-name img.qcow2",
       "img.qcow2",
       {},
       {}},
      {"qcow2_bitmaps",
       mk + "img.qcow2 64M && qemu-img bitmap --add img.qcow2 bm0 && "
            "qemu-img bitmap --add -g 128K --disable img.qcow2 b1",
       "img.qcow2",
       {},
       {}},
      {"vmdk_monolithic_sparse",
       "qemu-img create -q -f vmdk img.vmdk 100M && qemu-io -f vmdk -c 'write -P 1 0 64k' img.vmdk "
       ">/dev/null",
       "img.vmdk",
       {},
       {}},
      {"vmdk_stream_optimized",
       ref_raw + "qemu-img convert -O vmdk -o subformat=streamOptimized src.raw img.vmdk",
       "img.vmdk",
       {},
       {}},
      {"vmdk_monolithic_flat",
       "qemu-img create -q -f vmdk -o subformat=monolithicFlat img.vmdk 10M",
       "img.vmdk",
       {},
       {}},
      {"vmdk_two_gb_max_extent_sparse",
       "qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse img.vmdk 5G",
       "img.vmdk",
       {},
       {}},
      {"raw_41126400", "truncate -s 41126400 img.raw", "img.raw", {}, {}},
      {"raw_1_byte", "printf x > img.raw", "img.raw", {}, {}},
      {"raw_65537", "head -c 65537 /dev/urandom > img.raw", "img.raw", {}, {}},
      {"raw_0_bytes", ": > img.raw", "img.raw", {}, {}},
  };
}

void PrintTo(const GoldenCase& c, std::ostream* os) {
  *os << c.name;
}

std::string masked(const std::string& text, const std::vector<std::string>& mask) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    std::string line = text.substr(pos, end - pos);
    bool drop = false;
    for (const auto& m : mask) drop = drop || line.find(m) != std::string::npos;
    if (!drop) out += line;
    pos = end;
  }
  return out;
}

class InfoGolden : public ::testing::TestWithParam<std::tuple<GoldenCase, std::string>> {};

TEST_P(InfoGolden, ByteForByteLikeQemuImg) {
  const auto& [c, output] = GetParam();
  IMGTOOL_REQUIRE_TOOL("qemu-img");
  TempDir dir;
  const std::string cd = "cd " + sh_quote(dir.path().string()) + " && ";
  RunResult made = run(cd + "(" + c.setup + ")");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string path = c.path;
  if (path[0] == '@') path = dir.path().string() + path.substr(1);
  const std::string args = " info --output=" + output + " " + sh_quote(path);
  RunResult ref = run(cd + "qemu-img" + args);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  for (const auto& f : c.remove_after) std::filesystem::remove(dir.file(f));
  RunResult got = run(cd + sh_quote(imgtool_bin()) + args);
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.err, "");
  EXPECT_EQ(masked(got.out, c.mask), masked(ref.out, c.mask)) << "case " << c.name << " --output=" << output;
}

INSTANTIATE_TEST_SUITE_P(Qemu72, InfoGolden,
                         ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Values("human", "json")),
                         [](const auto& p) {
                           return std::get<0>(p.param).name + "_" + std::get<1>(p.param);
                         });

}  // namespace
}  // namespace imgtool::test
