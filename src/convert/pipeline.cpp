// convert_image(): the streaming engine between an Image and a TargetWriter.
//
// A planner walks Image::map() and turns the ranges that hold data into
// chunks (aligned to the zero-detection unit, at most kChunkBytes), skipping
// unallocated/zero ranges without reading them. Workers (OrderedPool) read a
// chunk, find its all-zero units and, for compressing writers, run prepare()
// on every non-zero cluster; the calling thread hands the results to the
// writer strictly in guest order. So reads, compression and writes overlap,
// and memory is (window x chunk) whatever the image size.
//
// Writers that lay out metadata before the data on a forward-only sink ask
// for a plan (needs_plan): a first pass with the same chunking and the same
// zero test collects the data clusters, then the copy pass runs.
//
// Determinism: the writer sees the clusters in guest order whatever the
// number of workers and whichever finishes first, so host offsets follow
// guest order. Writers that stamp an identifier into their output (vmdk's
// CID) get it from a digest of the data (content_digest.hpp): the workers
// hash each data cluster, the consumer chains the digests in guest order.
//
// Interrupts: the planner, the consumer and the workers poll
// throw_if_interrupted() (the workers before the read and between clusters
// they compress), so after a signal the consumer throws within one chunk or
// one poll of OrderedPool::next(), and the pool's destructor joins workers that
// each stop at their next cluster instead of finishing a whole chunk: with
// many workers compressing, finishing every job in flight took over 1 s.
#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>

#include "convert/content_digest.hpp"
#include "convert/ordered_pool.hpp"
#include "convert/writers.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool {
namespace {

using convert::TargetWriter;

constexpr uint64_t kChunkBytes = uint64_t{2} << 20;  // 2 MiB per job
constexpr uint64_t kMapStep = uint64_t{1} << 30;     // map() look-ahead
constexpr unsigned kMaxThreads = 64;

bool is_zero(const std::byte* p, size_t n) {
  // 256 bytes at a time, OR-reduced in 64-bit words (vectorised by the compiler).
  while (n >= 256) {
    uint64_t acc = 0;
    for (size_t i = 0; i < 256; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      acc |= w;
    }
    if (acc != 0) return false;
    p += 256;
    n -= 256;
  }
  for (size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

struct Job {
  uint64_t off = 0;
  uint64_t len = 0;
};

struct Done {
  Job job;
  std::vector<std::byte> buf;
  std::span<std::byte> data;                     // the chunk's bytes, inside buf (page aligned)
  std::vector<uint8_t> nonzero;                  // one flag per zero-detection unit
  std::vector<std::vector<std::byte>> prepared;  // compressing writers: one per non-zero cluster
  std::vector<convert::ClusterDigest> digests;   // when hashing: one per non-zero cluster
};

// Turns the extent map into chunks that cover every Data extent (widened to
// whole units); ranges without data are skipped without reading them.
class ChunkPlanner {
 public:
  ChunkPlanner(const Image& img, uint64_t unit, uint64_t chunk, bool everything)
      : img_(img), vsize_(img.info().virtual_size), unit_(unit), chunk_(chunk), everything_(everything) {}

  std::optional<Job> next() {
    for (;;) {
      if (pos_ < data_end_) {
        Job j{pos_, std::min(chunk_, data_end_ - pos_)};
        pos_ += j.len;
        return j;
      }
      if (scan_ >= vsize_) return std::nullopt;
      // Every pass: one map() may walk many metadata tables (a sparse
      // image with small clusters), so it costs far more than the poll.
      throw_if_interrupted();
      if (everything_) {
        data_end_ = vsize_;
        scan_ = vsize_;
        continue;
      }
      Extent e = img_.map(scan_, std::min(kMapStep, vsize_ - scan_));
      if (e.length == 0 || e.offset != scan_)
        throw Error(ErrorKind::Format, img_.info().filename,
                    "map() returned a bad extent (offset " + std::to_string(e.offset) + ", length " +
                        std::to_string(e.length) + ")",
                    scan_);
      const uint64_t e_end = scan_ + std::min(e.length, vsize_ - scan_);
      if (e.kind == ExtentKind::Data) {
        const uint64_t start = std::max(scan_ / unit_ * unit_, data_end_);
        const uint64_t end = std::min(io::align_up(e_end, unit_), vsize_);
        pos_ = std::max(pos_, start);
        data_end_ = std::max(data_end_, end);
      }
      scan_ = e_end;
    }
  }

 private:
  const Image& img_;
  const uint64_t vsize_, unit_, chunk_;
  const bool everything_;
  uint64_t scan_ = 0;      // map() walked up to here
  uint64_t pos_ = 0;       // chunks emitted up to here
  uint64_t data_end_ = 0;  // known data (in whole units) ends here
};

class Pipeline {
 public:
  Pipeline(const Image& src, TargetWriter& w, const ConvertOptions& o, ConvertStats& st)
      : src_(src), w_(w), o_(o), st_(st), vsize_(src.info().virtual_size) {
    const uint64_t c = w_.cluster_size();
    if (c == 0 || c % 512 != 0 || c > (uint64_t{64} << 20))
      throw Error(ErrorKind::Usage, "",
                  "target writer cluster size " + std::to_string(c) + " is not supported");
    detect_ = o_.zero_granularity != 0;
    unit_ = detect_ ? io::align_up(std::max(o_.zero_granularity, c), c) : c;
    chunk_ = io::align_up(std::max(kChunkBytes, unit_), unit_);
    unsigned t = o_.threads ? o_.threads : std::max(1u, std::thread::hardware_concurrency());
    workers_ = std::min(t, kMaxThreads);
    window_ = workers_ + 2;
    st_.threads = workers_;
  }

  // Plan pass: the guest ranges (whole clusters) the copy pass will write,
  // and with `digest` the content digest of their data.
  std::vector<std::pair<uint64_t, uint64_t>> plan(uint64_t progress_total,
                                                  std::optional<convert::ContentDigest>* digest) {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    if (!detect_ && !digest) {
      // -S 0: every cluster is data, whatever it holds; reading would only
      // confirm it.
      if (vsize_ > 0) ranges.emplace_back(0, vsize_);
      report(vsize_, progress_total);
      return ranges;
    }
    std::optional<convert::ContentHasher> hasher;
    if (digest) hasher.emplace(vsize_);
    run(true, hasher.has_value(), [&](Done& d) {
      for_each_run(d, [&](uint64_t off, uint64_t len) {
        if (!ranges.empty() && ranges.back().first + ranges.back().second == off)
          ranges.back().second += len;
        else
          ranges.emplace_back(off, len);
      });
      if (hasher) chain_digests(*hasher, d);
      report(d.job.off + d.job.len, progress_total);
    });
    if (digest) *digest = hasher->finish();
    return ranges;
  }

  // Copy pass; with `hash`, returns the content digest of what it wrote.
  std::optional<convert::ContentDigest> copy(uint64_t progress_base, uint64_t progress_total, bool hash) {
    const uint64_t c = w_.cluster_size();
    std::optional<convert::ContentHasher> hasher;
    if (hash) hasher.emplace(vsize_);
    run(false, hash, [&](Done& d) {
      if (hasher) chain_digests(*hasher, d);
      if (w_.compresses()) {
        size_t k = 0;
        for_each_run(d, [&](uint64_t off, uint64_t len) {
          for (uint64_t x = off; x < off + len; x += c) {
            throw_if_interrupted();  // one write per cluster: a slow sink makes a run of them long
            if (k >= d.prepared.size())
              throw Error(ErrorKind::Usage, "", "internal: prepared clusters missing");
            w_.write_prepared(x, std::min(c, off + len - x), std::move(d.prepared[k++]));
          }
        });
      } else {
        for_each_run(d, [&](uint64_t off, uint64_t len) {
          w_.write_data(off, std::span<const std::byte>(d.data).subspan(static_cast<size_t>(off - d.job.off),
                                                                        static_cast<size_t>(len)));
        });
      }
      report(progress_base + d.job.off + d.job.len, progress_total);
    });
    if (!hasher) return std::nullopt;
    return hasher->finish();
  }

 private:
  // Feeds the chunk's cluster digests to `h` in guest order (the order
  // work() computed them in: non-zero units, then clusters within each).
  void chain_digests(convert::ContentHasher& h, const Done& d) {
    const uint64_t c = w_.cluster_size();
    size_t k = 0;
    for_each_run(d, [&](uint64_t off, uint64_t len) {
      for (uint64_t x = off; x < off + len; x += c) {
        if (k >= d.digests.size()) throw Error(ErrorKind::Usage, "", "internal: cluster digests missing");
        h.add(x, std::min(c, off + len - x), d.digests[k++]);
      }
    });
  }

  // Calls fn(off, len) for each maximal run of non-zero units of a chunk.
  template <class Fn>
  void for_each_run(const Done& d, Fn&& fn) {
    const uint64_t n = d.nonzero.size();
    for (uint64_t u = 0; u < n;) {
      if (!d.nonzero[u]) {
        ++u;
        continue;
      }
      throw_if_interrupted();  // one write per run: a chunk of scattered runs to a slow sink adds up
      uint64_t v = u;
      while (v < n && d.nonzero[v]) ++v;
      const uint64_t off = d.job.off + u * unit_;
      const uint64_t end = std::min(d.job.off + v * unit_, d.job.off + d.job.len);
      fn(off, end - off);
      u = v;
    }
  }

  Done work(Job& j, bool scan_only, bool hash, convert::BufferPool& buffers) const {
    throw_if_interrupted();  // a queued job is not worth reading after a signal
    Done d;
    d.job = j;
    d.buf = buffers.get();
    std::span<std::byte> data = convert::BufferPool::page_aligned(d.buf, static_cast<size_t>(j.len));
    d.data = data;
    src_.read(j.off, data);
    const uint64_t units = io::div_round_up(j.len, unit_);
    d.nonzero.assign(static_cast<size_t>(units), 1);
    if (detect_) {
      for (uint64_t u = 0; u < units; ++u) {
        const uint64_t a = u * unit_, b = std::min(a + unit_, j.len);
        d.nonzero[static_cast<size_t>(u)] = !is_zero(data.data() + a, static_cast<size_t>(b - a));
      }
    }
    const bool prepare = !scan_only && w_.compresses();
    if (prepare || hash) {
      const uint64_t c = w_.cluster_size();
      for (uint64_t u = 0; u < units; ++u) {
        if (!d.nonzero[static_cast<size_t>(u)]) continue;
        const uint64_t a = u * unit_, b = std::min(a + unit_, j.len);
        for (uint64_t x = a; x < b; x += c) {
          throw_if_interrupted();  // compression is the slow part of a job
          const auto cluster = data.subspan(static_cast<size_t>(x), static_cast<size_t>(std::min(c, b - x)));
          if (hash) d.digests.push_back(convert::cluster_digest(cluster));
          if (prepare) d.prepared.push_back(w_.prepare(j.off + x, cluster));
        }
      }
    }
    return d;
  }

  template <class Consume>
  void run(bool scan_only, bool hash, Consume&& consume) {
    ChunkPlanner planner(src_, unit_, chunk_, !detect_);
    convert::BufferPool buffers(static_cast<size_t>(chunk_));
    convert::OrderedPool<Job, Done> pool(workers_, window_,
                                         [&](Job& j) { return work(j, scan_only, hash, buffers); });
    bool more = true;
    for (;;) {
      while (more && pool.can_submit()) {
        std::optional<Job> j = planner.next();
        if (!j) {
          more = false;
          break;
        }
        pool.submit(*j);
      }
      if (!pool.pending()) break;
      Done d = pool.next();
      throw_if_interrupted();
      consume(d);
      buffers.put(std::move(d.buf));
    }
  }

  void report(uint64_t done, uint64_t total) {
    if (o_.progress) o_.progress(std::min(done, total), total);
  }

  const Image& src_;
  TargetWriter& w_;
  const ConvertOptions& o_;
  ConvertStats& st_;
  const uint64_t vsize_;
  bool detect_ = true;
  uint64_t unit_ = 0, chunk_ = 0;
  unsigned workers_ = 1;
  size_t window_ = 3;
};

// Counts the guest bytes the target received as data.
class CountingWriter final : public TargetWriter {
 public:
  CountingWriter(TargetWriter& inner, uint64_t& data) : in_(inner), data_(data) {}
  uint64_t cluster_size() const override { return in_.cluster_size(); }
  bool needs_plan() const override { return in_.needs_plan(); }
  bool compresses() const override { return in_.compresses(); }
  bool wants_content_digest() const override { return in_.wants_content_digest(); }
  void set_content_digest(const convert::ContentDigest& d) override { in_.set_content_digest(d); }
  void begin(const convert::TargetPlan& p) override { in_.begin(p); }
  std::vector<std::byte> prepare(uint64_t off, std::span<const std::byte> d) const override {
    return in_.prepare(off, d);
  }
  void write_prepared(uint64_t off, uint64_t len, std::vector<std::byte> p) override {
    data_ += len;
    in_.write_prepared(off, len, std::move(p));
  }
  void write_data(uint64_t off, std::span<const std::byte> d) override {
    data_ += d.size();
    in_.write_data(off, d);
  }
  void end() override { in_.end(); }

 private:
  TargetWriter& in_;
  uint64_t& data_;
};

}  // namespace

// What plan_output() fixed: the image and options it planned (a plan is
// for those only) and the writer's plan, when it needs one.
struct OutputPlan::Detail {
  const Image* image = nullptr;
  uint64_t virtual_size = 0;
  Format target_format = Format::Raw;
  std::map<std::string, std::string> options;
  bool compress = false;
  uint64_t zero_granularity = 0;
  std::optional<convert::TargetPlan> plan;

  Detail(const Image& src, const ConvertOptions& o)
      : image(&src),
        virtual_size(src.info().virtual_size),
        target_format(o.target_format),
        options(o.options),
        compress(o.compress),
        zero_granularity(o.zero_granularity) {}
  bool same(const Image& src, const ConvertOptions& o) const {
    return image == &src && virtual_size == src.info().virtual_size && target_format == o.target_format &&
           options == o.options && compress == o.compress && zero_granularity == o.zero_granularity;
  }
};

namespace {

// Refusals shared by the conversion and its planning.
void check_readable(const Image& src) {
  if (!src.readable())
    throw Error(ErrorKind::Unsupported, src.info().filename,
                "imgtool detects " + std::string(format_name(src.info().format)) +
                    " images but cannot read their data, so it cannot convert them");
}

ConvertStats run_conversion(const Image& src, ByteSink& sink, const ConvertOptions& opts,
                            const OutputPlan* given) {
  CancelScope cancel_scope(opts.cancel);
  if (src.info().virtual_size_pending)
    throw Error(ErrorKind::Usage, src.info().filename,
                "the image's size is not known yet (raw read once from a stream): read the source to its end "
                "(ByteSource::size()) and open it again before converting it");
  check_readable(src);
  if (given) {
    if (!given->detail || !given->detail->same(src, opts))
      throw Error(ErrorKind::Usage, sink.name(),
                  "internal: the output plan was made for another image or options");
    if (sink.seekable())
      throw Error(ErrorKind::Usage, sink.name(), "internal: an output plan is for a non-seekable sink");
  }
  std::unique_ptr<convert::TargetWriter> inner = convert::make_writer(sink, opts);
  ConvertStats st;
  st.virtual_size = src.info().virtual_size;
  CountingWriter w(*inner, st.data_bytes);
  Pipeline p(src, w, opts, st);
  convert::TargetPlan plan;
  plan.virtual_size = st.virtual_size;
  const uint64_t total = st.virtual_size * (w.needs_plan() ? 2 : 1);
  const bool planned = w.needs_plan() && given && given->detail->plan;
  if (opts.progress) opts.progress(planned ? st.virtual_size : 0, total);
  if (planned) {
    plan = *given->detail->plan;  // the plan pass ran in plan_output()
    st.two_pass = true;
  } else if (w.needs_plan()) {
    plan.data_ranges = p.plan(total, w.wants_content_digest() ? &plan.content_digest : nullptr);
    plan.data_ranges_known = true;
    st.two_pass = true;
  }
  const uint64_t start = sink.position();
  w.begin(plan);
  const std::optional<convert::ContentDigest> digest =
      p.copy(st.two_pass ? st.virtual_size : 0, total, w.wants_content_digest() && !plan.content_digest);
  if (digest) w.set_content_digest(*digest);
  w.end();
  throw_if_interrupted();
  // The size was announced before the first byte (an upload's
  // Content-Length): any other count is a broken promise, never a file.
  if (given && given->size && sink.position() - start != *given->size)
    throw Error(ErrorKind::Io, sink.name(),
                "the conversion wrote " + std::to_string(sink.position() - start) + " bytes, " +
                    std::to_string(*given->size) + " were planned");
  sink.finish();
  if (opts.progress) opts.progress(total, total);
  st.bytes_written = sink.position();
  st.skipped_bytes = st.virtual_size - std::min(st.virtual_size, st.data_bytes);
  return st;
}

}  // namespace

OutputPlan plan_output(const Image& src, const ConvertOptions& opts) {
  CancelScope cancel_scope(opts.cancel);
  validate_convert_options(opts);
  auto detail = std::make_shared<OutputPlan::Detail>(src, opts);
  OutputPlan out;
  out.detail = detail;
  if (src.info().virtual_size_pending) return out;  // no size, no map yet
  check_readable(src);
  // -c qcow2 refuses a non-seekable sink: compressed sizes decide its layout.
  if (convert_needs_seekable_output(opts)) return out;
  // The writer that convert_image() would make for a non-seekable sink.
  convert::DiscardSink discard(/*seekable=*/false);
  std::unique_ptr<TargetWriter> w = convert::make_writer(discard, opts);
  // A deflating writer's size depends on every byte: nothing to read for.
  if (w->compresses()) return out;
  convert::TargetPlan plan;
  plan.virtual_size = src.info().virtual_size;
  if (w->needs_plan()) {
    ConvertStats st;
    Pipeline p(src, *w, opts, st);
    const bool digest = w->wants_content_digest();
    plan.data_ranges = p.plan(2 * plan.virtual_size, digest ? &plan.content_digest : nullptr);
    plan.data_ranges_known = true;
    out.read_source = opts.zero_granularity != 0 || digest;
    detail->plan = plan;
  }
  out.size = w->planned_size(plan);
  return out;
}

std::optional<uint64_t> planned_output_size(const Image& src, const ConvertOptions& opts) {
  return plan_output(src, opts).size;
}

ConvertStats convert_image(const Image& src, ByteSink& sink, const ConvertOptions& opts) {
  return run_conversion(src, sink, opts, nullptr);
}

ConvertStats convert_image(const Image& src, ByteSink& sink, const ConvertOptions& opts,
                           const OutputPlan& plan) {
  return run_conversion(src, sink, opts, &plan);
}

}  // namespace imgtool
