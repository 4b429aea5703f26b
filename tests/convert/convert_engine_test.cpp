// The convert engine beyond the format matrix: sparseness, streams (forward-only
// layouts), -S, threads, option errors, checksums, interrupts, refusals.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "convert/convert_fixture.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"

namespace imgtool::test {
namespace {

namespace fs = std::filesystem;

// A forward-only sink (like an HTTP upload body) that stores into a file.
class StreamSink final : public ByteSink {
 public:
  explicit StreamSink(std::string path) : path_(std::move(path)), out_(create_atomic_file(path_)) {}
  const std::string& name() const override { return path_; }
  void write(std::span<const std::byte> d) override { out_->write(d); }
  void write_zeros(uint64_t n) override { ByteSink::write_zeros(n); }  // real zero bytes, as a stream would
  uint64_t position() const override { return out_->position(); }
  void finish() override { out_->finish(); }

 private:
  std::string path_;
  std::unique_ptr<ByteSink> out_;
};

ConvertOptions opts(const std::string& fmt, std::map<std::string, std::string> o = {}, bool c = false) {
  ConvertOptions r;
  r.target_format = *format_from_name(fmt);
  r.options = std::move(o);
  r.compress = c;
  return r;
}

const SourceImage& raw_src() {
  return convert_source("raw");
}

int compare(const std::string& a, const std::string& fa, const std::string& b, const std::string& fb) {
  return run("qemu-img compare -f " + fa + " -F " + fb + " " + sh_quote(a) + " " + sh_quote(b)).exit_code;
}
int check(const std::string& f) {
  return run("qemu-img check " + sh_quote(f)).exit_code;
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(ConvertEngine, RawOutputIsSparseAndRoundedTo512) {
  TempDir out;
  const std::string dst = out.file("o.raw");
  ConvertStats st = convert_file(raw_src().path, dst, opts("raw"));
  struct stat sb {};
  ASSERT_EQ(::stat(dst.c_str(), &sb), 0);
  EXPECT_EQ(static_cast<uint64_t>(sb.st_size), kConvertVsize);
  EXPECT_LT(static_cast<uint64_t>(sb.st_blocks) * 512, kConvertVsize / 4) << "raw output is not sparse";
  EXPECT_EQ(run("cmp " + sh_quote(raw_src().path) + " " + sh_quote(dst)).exit_code, 0);
  EXPECT_LT(st.data_bytes, kConvertVsize / 4);
  EXPECT_EQ(st.bytes_written, kConvertVsize);
}

TEST(ConvertEngine, OddSizedRawIsRoundedUpLikeQemu) {
  TempDir out;
  const std::string src = out.file("odd.raw"), a = out.file("a.raw"), b = out.file("b.raw");
  run_ok("printf 'hello' > " + sh_quote(src));
  convert_file(src, a, opts("raw"));
  run_ok("qemu-img convert -f raw -O raw " + sh_quote(src) + " " + sh_quote(b));
  EXPECT_EQ(fs::file_size(a), fs::file_size(b));
  EXPECT_EQ(run("cmp " + sh_quote(a) + " " + sh_quote(b)).exit_code, 0);
}

TEST(ConvertEngine, StreamSinkGetsForwardOnlyQcow2) {
  for (const char* compat : {"0.10", "1.1"}) {
    TempDir out;
    const std::string dst = out.file("s.qcow2");
    StreamSink sink(dst);
    auto img = open_image(raw_src().path);
    ConvertStats st = convert_image(*img, sink, opts("qcow2", {{"compat", compat}}));
    EXPECT_TRUE(st.two_pass) << "a non-seekable sink needs the planning pass";
    EXPECT_EQ(check(dst), 0) << compat;
    EXPECT_EQ(compare(raw_src().path, "raw", dst, "qcow2"), 0) << compat;
  }
}

TEST(ConvertEngine, PreallocMetadataIsForwardOnlyInOnePass) {
  TempDir out;
  const std::string dst = out.file("p.qcow2");
  StreamSink sink(dst);
  auto img = open_image(raw_src().path);
  ConvertStats st = convert_image(*img, sink, opts("qcow2", {{"preallocation", "metadata"}}));
  EXPECT_FALSE(st.two_pass);
  EXPECT_EQ(check(dst), 0);
  EXPECT_EQ(compare(raw_src().path, "raw", dst, "qcow2"), 0);
  // Every cluster is allocated.
  RunResult m = run("qemu-img map --output=json " + sh_quote(dst));
  EXPECT_EQ(m.out.find("\"data\": false"), std::string::npos) << m.out;
}

TEST(ConvertEngine, CompressedQcow2RefusesAStream) {
  TempDir out;
  StreamSink sink(out.file("c.qcow2"));
  auto img = open_image(raw_src().path);
  try {
    convert_image(*img, sink, opts("qcow2", {}, true));
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(e.message().find("seekable"), std::string::npos) << e.what();
  }
}

TEST(ConvertEngine, SeekableFileIsOnePass) {
  TempDir out;
  ConvertStats st = convert_file(raw_src().path, out.file("o.qcow2"), opts("qcow2"));
  EXPECT_FALSE(st.two_pass);
}

TEST(ConvertEngine, CompressedOutputDoesNotDependOnThreadCount) {
  TempDir out;
  for (unsigned t : {1u, 3u}) {
    ConvertOptions o = opts("qcow2", {{"compression_type", "zlib"}}, true);
    o.threads = t;
    convert_file(raw_src().path, out.file("t" + std::to_string(t) + ".qcow2"), o);
  }
  EXPECT_EQ(run("cmp " + sh_quote(out.file("t1.qcow2")) + " " + sh_quote(out.file("t3.qcow2"))).exit_code, 0);
  EXPECT_EQ(check(out.file("t3.qcow2")), 0);
}

TEST(ConvertEngine, SmallRefcountsAndClusterSizes) {
  TempDir out;
  for (const char* rb : {"1", "4", "64"}) {
    for (const char* cs : {"512", "2M"}) {
      const std::string dst = out.file(std::string("r") + rb + "c" + cs + ".qcow2");
      convert_file(raw_src().path, dst, opts("qcow2", {{"refcount_bits", rb}, {"cluster_size", cs}}, true));
      EXPECT_EQ(check(dst), 0) << rb << " " << cs;
      EXPECT_EQ(compare(raw_src().path, "raw", dst, "qcow2"), 0) << rb << " " << cs;
    }
  }
}

TEST(ConvertEngine, ZeroDetectionOffAllocatesEverything) {
  TempDir out;
  ConvertOptions o = opts("raw");
  o.zero_granularity = 0;
  const std::string dst = out.file("full.raw");
  convert_file(raw_src().path, dst, o);
  struct stat sb {};
  ASSERT_EQ(::stat(dst.c_str(), &sb), 0);
  EXPECT_GE(static_cast<uint64_t>(sb.st_blocks) * 512, kConvertVsize);
  ConvertOptions q = opts("qcow2");
  q.zero_granularity = 0;
  convert_file(raw_src().path, out.file("full.qcow2"), q);
  EXPECT_EQ(check(out.file("full.qcow2")), 0);
  EXPECT_EQ(compare(raw_src().path, "raw", out.file("full.qcow2"), "qcow2"), 0);
}

TEST(ConvertEngine, QemuSizeSyntax) {
  EXPECT_EQ(parse_qemu_size("4096"), 4096u);
  EXPECT_EQ(parse_qemu_size("4k"), 4096u);
  EXPECT_EQ(parse_qemu_size("64K"), 65536u);
  EXPECT_EQ(parse_qemu_size("2M"), uint64_t{2} << 20);
  EXPECT_EQ(parse_qemu_size("1g"), uint64_t{1} << 30);
  EXPECT_EQ(parse_qemu_size("512b"), 512u);
  EXPECT_EQ(parse_qemu_size("0"), 0u);
  EXPECT_EQ(parse_qemu_size("8589934592G"), uint64_t{1} << 63);  // 2^33 GiB = 2^63: the largest
  EXPECT_EQ(parse_qemu_size("4T"), uint64_t{4} << 40);           // qemu_strtosz takes T (measure --size 3T)
  for (const char* bad :
       {"", "k", "4kb", "4 k", "-1", "4P", "1.5M", "8589934593G", "8388609T", "99999999999999999999"})
    EXPECT_FALSE(parse_qemu_size(bad).has_value()) << bad;
}

TEST(ConvertEngine, OptionErrorsNameTheValidChoices) {
  TempDir out;
  auto msg = [&](ConvertOptions o) -> std::string {
    try {
      convert_file(raw_src().path, out.file("x"), o);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(msg(opts("qcow2", {{"bogus", "1"}})).find("valid: compat, cluster_size"), std::string::npos);
  EXPECT_NE(msg(opts("qcow2", {{"compat", "2"}})).find("expected 0.10 or 1.1"), std::string::npos);
  EXPECT_NE(msg(opts("qcow2", {{"compression_type", "lz4"}})).find("zlib or zstd"), std::string::npos);
  EXPECT_NE(msg(opts("qcow2", {{"cluster_size", "1000"}})).find("power of two"), std::string::npos);
  EXPECT_NE(msg(opts("qcow2", {{"cluster_size", "64x"}})).find("expected a size such as 65536 or 64k"),
            std::string::npos);
  EXPECT_NE(msg(opts("qcow2", {{"compat", "0.10"}, {"lazy_refcounts", "on"}})).find("compat=1.1"),
            std::string::npos);
  EXPECT_NE(msg(opts("vpc")).find("valid: raw, qcow2, vmdk"), std::string::npos);
  EXPECT_NE(msg(opts("raw", {{"size", "1"}})).find("takes none"), std::string::npos);
  ConvertOptions s = opts("raw");
  s.zero_granularity = 1000;
  EXPECT_NE(msg(s).find("multiple of 512"), std::string::npos);
  EXPECT_EQ(files_in(out.path()), 0u) << "a refused conversion leaves nothing";
}

TEST(ConvertEngine, ChecksumEqualsMd5sumAndSha512sum) {
  TempDir out;
  struct Case {
    std::string name;
    ConvertOptions o;
  };
  std::vector<Case> cases{
      {"r.raw", opts("raw")}, {"q.qcow2", opts("qcow2")}, {"c.qcow2", opts("qcow2", {}, true)}};
  for (auto& c : cases) {
    c.o.checksum = true;
    const std::string dst = out.file(c.name);
    ConvertStats st = convert_file(raw_src().path, dst, c.o);
    ASSERT_TRUE(st.md5 && st.sha512) << c.name;
    EXPECT_EQ(*st.md5, run_ok("md5sum " + sh_quote(dst) + " | cut -d' ' -f1").substr(0, 32)) << c.name;
    EXPECT_EQ(*st.sha512, run_ok("sha512sum " + sh_quote(dst) + " | cut -d' ' -f1").substr(0, 128)) << c.name;
    EXPECT_EQ(check(dst), c.name.ends_with(".raw") ? 63 : 0);
  }
}

TEST(ConvertEngine, InterruptLeavesNoOutputAndNoTemporaryFile) {
  TempDir out;
  ConvertOptions o = opts("qcow2", {}, true);
  o.progress = [](uint64_t done, uint64_t) {
    if (done > 0) request_interrupt(2);
  };
  try {
    convert_file(raw_src().path, out.file("i.qcow2"), o);
    clear_interrupt();
    FAIL() << "expected Error(Interrupted)";
  } catch (const Error& e) {
    clear_interrupt();
    EXPECT_EQ(e.kind(), ErrorKind::Interrupted) << e.what();
  }
  EXPECT_EQ(files_in(out.path()), 0u);
}

TEST(ConvertEngine, SameFileIsRefused) {
  TempDir out;
  const std::string src = out.file("s.raw");
  run_ok("cp " + sh_quote(raw_src().path) + " " + sh_quote(src) + " && ln -s s.raw " +
         sh_quote(out.file("link")) + " && ln " + sh_quote(src) + " " + sh_quote(out.file("hard")));
  const std::string before = run_ok("md5sum < " + sh_quote(src));
  for (const char* dst : {"s.raw", "link", "hard"}) {
    try {
      convert_file(src, out.file(dst), opts("qcow2"));
      ADD_FAILURE() << dst << ": expected a refusal";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
      EXPECT_NE(e.message().find("same file"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(run_ok("md5sum < " + sh_quote(src)), before);
  EXPECT_EQ(files_in(out.path()), 3u);
}

TEST(ConvertEngine, MissingTargetDirectoryIsAClearError) {
  TempDir out;
  try {
    convert_file(raw_src().path, out.file("no/such/dir/x.qcow2"), opts("qcow2"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("x.qcow2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace imgtool::test
