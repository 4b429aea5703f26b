// plan_output() / planned_output_size(): the size known before the first
// byte is exactly what convert_image() then writes into a non-seekable sink,
// for every source variant qemu-img makes (raw with holes, qcow2 with holes
// and zero clusters, compressed qcow2 clusters, vmdk sparse and stream) x
// raw, qcow2 with several -o combinations and vmdk monolithicSparse. The
// sizes that depend on the data (qcow2 -c, vmdk streamOptimized) and a
// source whose size is still pending are nullopt. A conversion given the
// plan writes the same bytes as one that plans for itself, without reading
// the source for the plan again; the upload body announces the size and
// fails loudly when the source changes after the plan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>

#include "convert/convert_fixture.hpp"
#include "imgtool/checksum.hpp"
#include "publish/body.hpp"
#include "sources/one_pass_util.hpp"

namespace imgtool::test {
namespace {

constexpr uint64_t MiB = uint64_t{1} << 20;

// A forward-only sink, like an upload body: counts and hashes what comes.
class HashingStream final : public ByteSink {
 public:
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> d) override {
    hasher_.update(d);
    pos_ += d.size();
  }
  void write_zeros(uint64_t n) override { ByteSink::write_zeros(n); }  // real zeros, hashed
  uint64_t position() const override { return pos_; }
  void finish() override { finished_ = true; }
  bool finished() const { return finished_; }
  std::string digest() { return hasher_.finish_hex()[0]; }

 private:
  std::string name_ = "(stream)";
  uint64_t pos_ = 0;
  bool finished_ = false;
  MultiHasher hasher_{{HashAlgo::sha256}};
};

// The source's bytes, counting what is read (the guest data of a raw image
// goes through read_at; map() asks next_data/next_hole).
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(const std::string& path) : in_(open_file_source(path)) {}
  const std::string& name() const override { return in_->name(); }
  uint64_t size() const override { return in_->size(); }
  size_t read_at(uint64_t off, std::span<std::byte> out) const override {
    const size_t n = in_->read_at(off, out);
    read_ += n;
    return n;
  }
  uint64_t next_data(uint64_t off) const override { return in_->next_data(off); }
  uint64_t next_hole(uint64_t off) const override { return in_->next_hole(off); }
  uint64_t allocated_size() const override { return in_->allocated_size(); }
  uint64_t bytes_read() const { return read_; }
  void reset() const { read_ = 0; }

 private:
  std::unique_ptr<ByteSource> in_;
  mutable std::atomic<uint64_t> read_{0};
};

struct Target {
  std::string name;
  Format format;
  std::map<std::string, std::string> options;
  bool compress = false;
  uint64_t zero_granularity = 4096;
  bool planned = true;  // false: nullopt expected
};

const std::vector<Target>& targets() {
  static const std::vector<Target> t{
      {"raw", Format::Raw, {}},
      {"raw_S0", Format::Raw, {}, false, 0},
      {"qcow2", Format::Qcow2, {}},
      {"qcow2_v2", Format::Qcow2, {{"compat", "0.10"}}},
      {"qcow2_c512", Format::Qcow2, {{"cluster_size", "512"}}},
      {"qcow2_c4k_rc1", Format::Qcow2, {{"cluster_size", "4k"}, {"refcount_bits", "1"}}},
      {"qcow2_c2M", Format::Qcow2, {{"cluster_size", "2M"}}},
      {"qcow2_rc64_lazy", Format::Qcow2, {{"refcount_bits", "64"}, {"lazy_refcounts", "on"}}},
      {"qcow2_zstd_type", Format::Qcow2, {{"compression_type", "zstd"}}},
      {"qcow2_prealloc", Format::Qcow2, {{"preallocation", "metadata"}}},
      {"qcow2_prealloc_c4k_v2",
       Format::Qcow2,
       {{"preallocation", "metadata"}, {"cluster_size", "4k"}, {"compat", "0.10"}}},
      {"qcow2_S0", Format::Qcow2, {}, false, 0},
      {"qcow2_S1M", Format::Qcow2, {}, false, MiB},
      {"vmdk_sparse", Format::Vmdk, {}},
      {"vmdk_sparse_opts",
       Format::Vmdk,
       {{"subformat", "monolithicSparse"},
        {"zeroed_grain", "on"},
        {"adapter_type", "lsilogic"},
        {"compat6", "on"}}},
      {"vmdk_sparse_S0", Format::Vmdk, {{"toolsversion", "12345"}}, false, 0},
      // Deflated clusters/grains: their sizes depend on their bytes.
      {"qcow2_c_zlib", Format::Qcow2, {}, true, 4096, false},
      {"qcow2_c_zstd", Format::Qcow2, {{"compression_type", "zstd"}}, true, 4096, false},
      {"vmdk_stream", Format::Vmdk, {{"subformat", "streamOptimized"}}, false, 4096, false},
      {"vmdk_stream_c", Format::Vmdk, {{"subformat", "streamOptimized"}}, true, 4096, false},
  };
  return t;
}

const Target& target(const std::string& name) {
  for (const Target& t : targets())
    if (t.name == name) return t;
  throw std::runtime_error("no target " + name);
}

ConvertOptions options_for(const Target& t) {
  ConvertOptions o;
  o.target_format = t.format;
  o.options = t.options;
  o.compress = t.compress;
  o.zero_granularity = t.zero_granularity;
  o.threads = 2;
  return o;
}

const std::vector<std::string> kSources{"raw",        "qcow2_v2",   "qcow2_v3",    "qcow2_extl2",
                                        "qcow2_zlib", "qcow2_zstd", "vmdk_sparse", "vmdk_stream"};

class PlannedSize : public ::testing::TestWithParam<std::tuple<std::string, size_t>> {};

// planned == produced, and a conversion given the plan writes the very bytes
// of one that plans for itself.
TEST_P(PlannedSize, EqualsTheBytesWrittenToAStream) {
  const SourceImage& s = convert_source(std::get<0>(GetParam()));
  const Target& t = targets()[std::get<1>(GetParam())];
  auto img = open_image(s.path, OpenOptions{format_from_name(s.format)});
  const ConvertOptions o = options_for(t);
  const OutputPlan plan = plan_output(*img, o);
  EXPECT_EQ(planned_output_size(*img, o), plan.size);
  if (!t.planned) {
    EXPECT_FALSE(plan.size.has_value());
    EXPECT_FALSE(plan.read_source);  // nothing is read for a size that cannot be known
    if (convert_needs_seekable_output(o)) {
      HashingStream sink;
      EXPECT_THROW(convert_image(*img, sink, o), Error);  // and the stream is refused anyway
      return;
    }
  } else {
    ASSERT_TRUE(plan.size.has_value()) << s.name << " -> " << t.name;
  }
  HashingStream own;  // the conversion as before: its own plan pass
  const ConvertStats a = convert_image(*img, own, o);
  HashingStream given;
  const ConvertStats b = convert_image(*img, given, o, plan);
  ASSERT_TRUE(own.finished());
  ASSERT_TRUE(given.finished());
  if (plan.size) {
    EXPECT_EQ(own.position(), *plan.size) << s.name << " -> " << t.name;
    EXPECT_EQ(given.position(), *plan.size) << s.name << " -> " << t.name;
  }
  EXPECT_EQ(a.bytes_written, b.bytes_written);
  EXPECT_EQ(own.digest(), given.digest()) << s.name << " -> " << t.name;
  EXPECT_EQ(a.data_bytes, b.data_bytes);
}

INSTANTIATE_TEST_SUITE_P(SourcesByTargets, PlannedSize,
                         ::testing::Combine(::testing::ValuesIn(kSources),
                                            ::testing::Range<size_t>(0, targets().size())),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_to_" + targets()[std::get<1>(p.param)].name;
                         });

// What planning reads: nothing for raw, preallocation=metadata and qcow2
// with -S 0 (the layout needs no zero scan); the data extents once where
// the writer's plan pass scans them for zeros. The conversion given the
// plan then reads the data once (no second plan pass).
TEST(OutputPlan, ReadsOnlyWhatTheWritersPlanPassReads) {
  TempDir d;
  const std::string path = d.file("disk.raw");
  make_raw(path, 48 * MiB, {{0, 4 * MiB}, {16 * MiB, 4 * MiB}, {40 * MiB, 1 * MiB}});
  auto src = std::make_shared<CountingSource>(path);
  auto img = open_image(src, OpenOptions{Format::Raw});
  const uint64_t data = 9 * MiB;
  struct Case {
    Target t;
    bool reads;              // planning reads the data extents
    uint64_t convert_reads;  // then the conversion given the plan
  };
  const std::vector<Case> cases{
      {{"raw", Format::Raw, {}}, false, data},
      {{"qcow2_prealloc", Format::Qcow2, {{"preallocation", "metadata"}}}, false, data},
      {{"qcow2_S0", Format::Qcow2, {}, false, 0}, false, 48 * MiB},  // -S 0 copies every cluster
      {{"qcow2", Format::Qcow2, {}}, true, data},
      {{"vmdk_sparse", Format::Vmdk, {}}, true, data},
      // No size to plan, so no plan pass ahead: the conversion runs its own.
      {{"vmdk_stream", Format::Vmdk, {{"subformat", "streamOptimized"}}, false, 4096, false},
       false,
       2 * data},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.t.name);
    const ConvertOptions o = options_for(c.t);
    src->reset();
    const OutputPlan plan = plan_output(*img, o);
    EXPECT_EQ(plan.read_source, c.reads);
    EXPECT_EQ(src->bytes_read(), c.reads ? data : 0);
    EXPECT_EQ(plan.size.has_value(), c.t.planned);
    src->reset();
    HashingStream sink;
    convert_image(*img, sink, o, plan);
    EXPECT_EQ(src->bytes_read(), c.convert_reads);
    if (plan.size) {
      EXPECT_EQ(sink.position(), *plan.size);
    }
  }
}

// Raw read once from a stream without a size: its end, so its size and its
// map, are not known before it is read: no plan.
TEST(OutputPlan, PendingSourceHasNoPlannedSize) {
  TempDir d;
  const std::string path = d.file("disk.raw");
  make_raw(path, 8 * MiB, {{0, 1 * MiB}});
  auto feeder = SocketFeeder::from_file(path);
  auto spool = std::make_shared<SpoolSource>(feeder->stream("disk.raw"), 64 * MiB);
  spool->set_one_pass(true);
  AssessOptions ao;
  ao.defer_check = true;
  const Assessment a = assess(spool, ao);
  ASSERT_TRUE(a.image->info().virtual_size_pending);
  for (const Target& t : {Target{"raw", Format::Raw, {}}, Target{"qcow2", Format::Qcow2, {}},
                          Target{"vmdk_sparse", Format::Vmdk, {}}}) {
    const OutputPlan plan = plan_output(*a.image, options_for(t));
    EXPECT_FALSE(plan.size.has_value()) << t.name;
    EXPECT_FALSE(plan.read_source) << t.name;
  }
}

// A plan is for one image and one set of options.
TEST(OutputPlan, APlanForOtherOptionsOrAFileIsRefused) {
  auto img = open_image(convert_source("qcow2_v3").path);
  ConvertOptions o;
  o.target_format = Format::Qcow2;
  const OutputPlan plan = plan_output(*img, o);
  ASSERT_TRUE(plan.size.has_value());
  ConvertOptions other = o;
  other.options["cluster_size"] = "4k";
  HashingStream sink;
  EXPECT_THROW(convert_image(*img, sink, other, plan), Error);
  EXPECT_FALSE(sink.finished());
  EXPECT_EQ(sink.position(), 0u);
  auto img2 = open_image(convert_source("qcow2_v3").path);
  EXPECT_THROW(convert_image(*img2, sink, o, plan), Error);
  TempDir d;
  auto file = create_atomic_file(d.file("o.qcow2"));  // seekable: another layout
  EXPECT_THROW(convert_image(*img, *file, o, plan), Error);
}

// A collecting, forward-only sink: what an upload receives.
class Collect final : public ByteSink {
 public:
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> d) override { bytes.insert(bytes.end(), d.begin(), d.end()); }
  void write_zeros(uint64_t n) override { bytes.resize(bytes.size() + n, std::byte{0}); }
  uint64_t position() const override { return bytes.size(); }
  void finish() override {}
  std::vector<std::byte> bytes;

 private:
  std::string name_ = "upload";
};

// publish's body for `img` converted with `o` (src/publish/body.hpp).
publishing::Body body_for(const std::shared_ptr<const Image>& img, const ConvertOptions& o) {
  publishing::PreparedImage p;
  p.image = img;
  p.detected_format = img->info().format;
  PublishOptions po;
  po.convert_to = o.target_format;
  po.convert_options = o.options;
  return publishing::make_body(p, po);
}

// The upload body announces the planned size (a Content-Length) for the
// planned targets, none for the others, and sends exactly that many bytes:
// a valid image (qemu-img compare with the source).
TEST(OutputPlan, PublishBodyAnnouncesAndSendsThePlannedSize) {
  const SourceImage& s = convert_source("qcow2_v3");
  std::shared_ptr<const Image> img = open_image(s.path);
  TempDir d;
  for (const char* name : {"raw", "qcow2", "vmdk_sparse", "vmdk_stream"}) {
    const Target& t = target(name);
    SCOPED_TRACE(t.name);
    const publishing::Body body = body_for(img, options_for(t));
    const std::optional<uint64_t> size = body.size;
    EXPECT_EQ(size.has_value(), t.planned);
    Collect sink;
    body.produce(sink);
    const std::vector<std::byte>& bytes = sink.bytes;
    if (size) {
      EXPECT_EQ(bytes.size(), *size);
    }
    const std::string out = d.file("o." + t.name);
    std::ofstream(out, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    const std::string fmt = t.format == Format::Raw ? "raw" : t.format == Format::Qcow2 ? "qcow2" : "vmdk";
    EXPECT_EQ(
        run("qemu-img compare -f qcow2 -F " + fmt + " " + sh_quote(s.path) + " " + sh_quote(out)).exit_code,
        0);
  }
}

// The source changes after the size was announced (data written into a
// hole the plan did not list): producing the body throws Error, never a
// short, long or silently stale upload (and publish deletes the image).
TEST(OutputPlan, PublishBodyFailsWhenTheSourceChangesAfterThePlan) {
  TempDir d;
  const std::string path = d.file("disk.raw");
  for (const Format f : {Format::Qcow2, Format::Vmdk}) {
    SCOPED_TRACE(format_name(f));
    make_raw(path, 256 * MiB, {{0, 64 * MiB}});  // (a new file each time)
    std::shared_ptr<const Image> img = open_image(path, OpenOptions{Format::Raw});
    ConvertOptions o;
    o.target_format = f;
    o.threads = 1;
    const publishing::Body body = body_for(img, o);
    ASSERT_TRUE(body.size.has_value());
    run_ok("qemu-io -f raw -c 'write -P 0x5a 200M 1M' " + sh_quote(path));
    Collect sink;
    try {
      body.produce(sink);
      ADD_FAILURE() << "the body produced " << sink.bytes.size() << " of " << *body.size
                    << " bytes without an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("plan"), std::string::npos) << e.what();
    }
    EXPECT_LE(sink.bytes.size(), *body.size);
  }
}

}  // namespace
}  // namespace imgtool::test
