// Deterministic output (docs/convert.md, "Deterministic output"): the same
// source and options give the same bytes whatever the number of workers, for
// every target, on files and on streams; vmdk's CID comes from the data. The
// clock is varied by tests/cli/determinism_test.sh (faketime), which cannot
// be done inside this process.
#include <gtest/gtest.h>

#include <filesystem>

#include "convert/content_digest.hpp"
#include "convert/convert_fixture.hpp"
#include "formats/vmdk/vmdk_writer.hpp"

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

struct Target {
  const char* label;
  const char* format;
  std::map<std::string, std::string> options;
  bool compress = false;
  bool streamable = true;  // qcow2 -c needs a seekable sink
};

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"raw", "raw", {}},
      {"qcow2", "qcow2", {}},
      {"qcow2_c_zlib", "qcow2", {{"compression_type", "zlib"}}, true, false},
      {"qcow2_c_zstd", "qcow2", {{"compression_type", "zstd"}}, true, false},
      {"vmdk_sparse", "vmdk", {{"subformat", "monolithicSparse"}}},
      {"vmdk_stream", "vmdk", {{"subformat", "streamOptimized"}}},
  };
  return t;
}

ConvertOptions opts(const Target& t, unsigned threads) {
  ConvertOptions r;
  r.target_format = *format_from_name(t.format);
  r.options = t.options;
  r.compress = t.compress;
  r.threads = threads;
  return r;
}

bool same_bytes(const std::string& a, const std::string& b) {
  return run("cmp " + sh_quote(a) + " " + sh_quote(b)).exit_code == 0;
}

// qemu-img's view of the output: clean, and the same guest data as the source.
void expect_qemu_reads(const SourceImage& src, const std::string& out, const char* fmt) {
  if (std::string(fmt) != "raw") {
    auto c = run("qemu-img check -f " + std::string(fmt) + " " + sh_quote(out));
    EXPECT_EQ(c.exit_code, 0) << out << "\n" << c.out << c.err;
  }
  auto r = run("qemu-img compare -f " + src.format + " -F " + fmt + " " + sh_quote(src.path) + " " +
               sh_quote(out));
  EXPECT_EQ(r.exit_code, 0) << out << "\n" << r.out << r.err;
}

// The descriptor's CID as qemu-img reads it.
std::string qemu_cid(const std::string& vmdk) {
  return run_ok("qemu-img info --output=json " + sh_quote(vmdk) +
                " | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)"
                "[\"format-specific\"][\"data\"][\"cid\"])'");
}

TEST(Determinism, FilesDoNotDependOnThreadCount) {
  // A plain and a compressed source (the latter decompresses on the workers).
  for (const char* s : {"raw", "qcow2_zstd"}) {
    const SourceImage& src = convert_source(s);
    for (const Target& t : targets()) {
      TempDir out;
      std::vector<std::string> files;
      for (unsigned threads : {1u, 2u, 8u}) {
        // Same basename in each directory: vmdk's descriptor names the file.
        fs::create_directory(out.file(std::to_string(threads)));
        files.push_back(out.file(std::to_string(threads) + "/out." + t.format));
        convert_file(src.path, files.back(), opts(t, threads));
      }
      EXPECT_TRUE(same_bytes(files[0], files[1])) << s << " -> " << t.label << ": -m 1 vs -m 2";
      EXPECT_TRUE(same_bytes(files[0], files[2])) << s << " -> " << t.label << ": -m 1 vs -m 8";
      expect_qemu_reads(src, files[2], t.format);
    }
  }
}

TEST(Determinism, StreamsDoNotDependOnThreadCountAndVmdkCidMatchesTheFile) {
  const SourceImage& src = convert_source("qcow2_v3");
  for (const Target& t : targets()) {
    if (!t.streamable) continue;
    TempDir out;
    std::vector<std::string> files;
    for (unsigned threads : {1u, 8u}) {
      fs::create_directory(out.file(std::to_string(threads)));
      files.push_back(out.file(std::to_string(threads) + "/out." + t.format));
      StreamSink sink(files.back());
      auto img = open_image(src.path);
      convert_image(*img, sink, opts(t, threads));
    }
    EXPECT_TRUE(same_bytes(files[0], files[1])) << t.label << " streamed: -m 1 vs -m 8";
    expect_qemu_reads(src, files[1], t.format);
    if (std::string(t.format) == "vmdk") {
      // Streams take the CID from the plan pass, files from the copy pass:
      // the same digest.
      const std::string file = out.file("file." + std::string(t.format));
      convert_file(src.path, file, opts(t, 2));
      EXPECT_EQ(qemu_cid(files[0]), qemu_cid(file)) << t.label;
    }
  }
}

// The output depends on the guest data, not on the container it came in:
// map() and the zero scan find the same data clusters in each.
TEST(Determinism, SameGuestDataInAnyContainerGivesTheSameFile) {
  for (const Target& t : targets()) {
    TempDir out;
    std::vector<std::string> files;
    for (const char* s : {"raw", "qcow2_v3", "qcow2_zstd", "vmdk_stream"}) {
      fs::create_directory(out.file(s));
      files.push_back(out.file(std::string(s) + "/out." + t.format));
      convert_file(convert_source(s).path, files.back(), opts(t, 2));
    }
    for (size_t i = 1; i < files.size(); ++i)
      EXPECT_TRUE(same_bytes(files[0], files[i])) << t.label << ": " << files[i];
  }
}

TEST(Determinism, VmdkCidChangesWithTheContentOnly) {
  TempDir dir;
  const std::string a = dir.file("a.raw"), b = dir.file("b.raw");
  run_ok("cp --sparse=always " + sh_quote(convert_source("raw").path) + " " + sh_quote(a));
  run_ok("cp --sparse=always " + sh_quote(a) + " " + sh_quote(b));
  // One byte differs, inside a data cluster.
  run_ok("printf 'X' | dd of=" + sh_quote(b) + " bs=1 seek=100 conv=notrunc status=none");
  for (const Target& t : targets()) {
    if (std::string(t.format) != "vmdk") continue;
    fs::create_directory(dir.file(std::string("a_") + t.label));
    fs::create_directory(dir.file(std::string("b_") + t.label));
    const std::string oa = dir.file(std::string("a_") + t.label + "/d.vmdk");
    const std::string ob = dir.file(std::string("b_") + t.label + "/d.vmdk");
    convert_file(a, oa, opts(t, 2));
    convert_file(b, ob, opts(t, 2));
    const std::string ca = qemu_cid(oa), cb = qemu_cid(ob);
    EXPECT_NE(ca, cb) << t.label << ": different data, same CID";
    // The CID is the documented function of the content digest: the file's
    // descriptor line agrees with qemu's reading of it.
    const std::string desc =
        run_ok("dd if=" + sh_quote(oa) + " bs=512 skip=1 count=20 status=none | tr -d '\\0'");
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08lx", std::stoul(ca));
    EXPECT_NE(desc.find(std::string("\nCID=") + hex + "\n"), std::string::npos) << desc;
    EXPECT_NE(desc.find(std::string(hex) + "\"\n"), std::string::npos) << "longContentID ends with the CID";
  }
}

TEST(Determinism, CidAvoidsTheReservedValues) {
  convert::ContentDigest d{};
  for (size_t i = 0; i < 4; ++i) d[i] = std::byte{0xff};
  EXPECT_EQ(vmdk::content_ids(d).cid, 0xfffffffdu);
  d[3] = std::byte{0xfe};
  EXPECT_EQ(vmdk::content_ids(d).cid, 0xfffffffcu);
  d[3] = std::byte{0xfd};
  EXPECT_EQ(vmdk::content_ids(d).cid, 0xfffffffdu);
  d[0] = std::byte{0x12}, d[1] = std::byte{0x34}, d[2] = std::byte{0x56}, d[3] = std::byte{0x78};
  d[4] = std::byte{0xab};
  const vmdk::ContentIds ids = vmdk::content_ids(d);
  EXPECT_EQ(ids.cid, 0x12345678u);
  EXPECT_EQ(ids.long_content_id,
            "ab0000000000000000000000"
            "12345678");
}

}  // namespace
}  // namespace imgtool::test
