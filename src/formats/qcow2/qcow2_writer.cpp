// The qcow2 target writer. Two layouts, both valid qcow2 that `qemu-img check`
// finds clean (every refcount exact, OFLAG_COPIED set where refcount is 1):
//
//  forward  [header][reftable][refblocks][L1] then per L1 entry in use:
//           [its data clusters][its L2 table]
//           Everything is computed in begin() from TargetPlan::data_ranges
//           (or from "every cluster" with preallocation=metadata), so the
//           file is written strictly forward: any ByteSink, hash tees,
//           uploads. Used when the sink is not seekable.
//  data-first  [header placeholder] per L1 entry: [data][L2] then
//           [L1][reftable][refblocks] and the header is patched with pwrite.
//           One read of the source; needs a seekable sink. Compressed output
//           (-c) always uses it: compressed sizes are known only after the
//           fact.
//
// L2 tables follow their data so that only one L2 table is in memory.
#include "formats/qcow2/qcow2_writer.hpp"

#include <algorithm>
#include <climits>
#include <optional>

#include "formats/driver.hpp"
#include "formats/qcow2/qcow2_header.hpp"
#include "formats/qcow2/qcow2_layout.hpp"
#include "formats/qcow2/qcow2_tables.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {
namespace {

class Qcow2Writer final : public convert::TargetWriter {
 public:
  Qcow2Writer(ByteSink& sink, WriterOptions o)
      : sink_(sink), o_(o), c_(o.cluster_size()), l2_entries_(c_ / kL2EntryBytes) {
    if (o_.compress && !sink_.seekable())
      throw Error(ErrorKind::Unsupported, sink_.name(),
                  "compressed qcow2 (-c) needs a seekable output (its tables follow data whose "
                  "compressed size is known only after compression); write to a file, or use "
                  "vmdk streamOptimized for a stream");
    forward_ = o_.prealloc_metadata || !sink_.seekable();
  }

  uint64_t cluster_size() const override { return c_; }
  bool needs_plan() const override { return forward_ && !o_.prealloc_metadata; }
  bool compresses() const override { return o_.compress; }

  // Forward layout only: the other one places its tables after data whose
  // compressed size (-c) or order of arrival decides where they go.
  std::optional<uint64_t> planned_size(const convert::TargetPlan& plan) const override {
    if (!forward_) return std::nullopt;
    return forward_layout(plan).end;
  }

  void begin(const convert::TargetPlan& plan) override {
    const Geometry geo = geometry(plan.virtual_size);
    vsize_ = geo.vsize;
    l1_.assign(static_cast<size_t>(geo.l1_entries), 0);
    l1_clusters_ = geo.l1_clusters;
    if (forward_) {
      begin_forward(forward_layout(plan));
    } else {
      sink_.write_zeros(c_);  // header, patched in end()
      note_meta_cluster();
    }
  }

  // Compressing writer: [1][compressed bytes] or, when compression does not
  // shrink the cluster, [0][the cluster as is].
  std::vector<std::byte> prepare(uint64_t, std::span<const std::byte> data) const override {
    std::vector<std::byte> z;
    if (data.size() == c_) {
      z = compress_cluster(o_.zstd, data);
    } else {  // the last cluster of the disk: compress a zero-padded cluster
      std::vector<std::byte> full(c_);
      std::copy(data.begin(), data.end(), full.begin());
      z = compress_cluster(o_.zstd, full);
    }
    std::vector<std::byte> out;
    out.reserve((z.empty() ? data.size() : z.size()) + 1);
    out.push_back(std::byte{z.empty() ? uint8_t{0} : uint8_t{1}});
    if (z.empty())
      out.insert(out.end(), data.begin(), data.end());
    else
      out.insert(out.end(), z.begin(), z.end());
    return out;
  }

  void write_prepared(uint64_t off, uint64_t len, std::vector<std::byte> prepared) override {
    if (!o_.compress) return write_data(off, prepared);
    if (prepared.empty() || prepared.size() - 1 > c_)
      throw Error(ErrorKind::Usage, sink_.name(), "internal: bad prepared cluster", off);
    (void)len;
    const uint64_t g = enter_cluster(off);
    std::span<const std::byte> payload = std::span<const std::byte>(prepared).subspan(1);
    if (prepared[0] == std::byte{1}) return write_compressed(g, payload);
    pad_to_cluster();
    set_l2(g, sink_.position() | kOflagCopied);
    note_data_clusters(1);
    sink_.write(payload);
    if (payload.size() < c_) sink_.write_zeros(c_ - payload.size());
  }

  // A run of data clusters. The clusters of one L2 table's range get
  // consecutive host clusters (the table itself follows them), so each such
  // piece of the run goes out with one sink write instead of one per
  // cluster (a 2 MiB chunk of 64 KiB clusters: 1 write instead of 32).
  void write_data(uint64_t off, std::span<const std::byte> data) override {
    for (uint64_t done = 0; done < data.size();) {
      const uint64_t g = enter_cluster(off + done);
      pad_to_cluster();
      const uint64_t host = sink_.position();
      const uint64_t table_end = (g / l2_entries_ + 1) * l2_entries_;
      // Compressed images count references per host cluster as they go:
      // one cluster at a time there.
      const uint64_t clusters =
          o_.compress ? 1 : std::min(io::div_round_up(data.size() - done, c_), table_end - g);
      const uint64_t n = std::min(clusters * c_, data.size() - done);
      for (uint64_t k = 0; k < clusters; ++k) {
        const uint64_t gk = k == 0 ? g : enter_cluster(off + done + k * c_);
        set_l2(gk, (host + k * c_) | kOflagCopied);
      }
      note_data_clusters(1);
      sink_.write(data.subspan(static_cast<size_t>(done), static_cast<size_t>(n)));
      if (n < clusters * c_) sink_.write_zeros(clusters * c_ - n);
      done += n;
    }
  }

  void end() override {
    finish_l2_upto(l1_.size());
    if (forward_) {
      if (sink_.position() != expected_end_)
        throw Error(ErrorKind::Io, sink_.name(),
                    "internal: qcow2 layout ended at " + std::to_string(sink_.position()) + ", planned " +
                        std::to_string(expected_end_));
      return;
    }
    pad_to_cluster();
    const uint64_t l1_off = sink_.position();
    write_l1_table();
    const uint64_t before = sink_.position() / c_;
    RefcountLayout rl = refcount_layout(before, c_, o_.refcount_order);
    const uint64_t table_off = sink_.position();
    write_refcounts(rl, table_off, before + rl.table_clusters + rl.block_clusters);
    std::vector<std::byte> header = encode_header(o_, header_layout(l1_off, table_off, rl));
    header.resize(hdr::kV3Length);  // the rest of cluster 0 is already zero
    sink_.pwrite(0, header);
  }

 private:
  // ---- forward layout ------------------------------------------------------
  struct Geometry {
    uint64_t vsize = 0;  // whole sectors
    uint64_t l1_entries = 0;
    uint64_t l1_clusters = 0;
  };
  Geometry geometry(uint64_t virtual_size) const {
    Geometry g;
    g.vsize = io::align_up(virtual_size, kSector);
    const uint64_t cov = l2_entries_ * c_;
    g.l1_entries = io::div_round_up(g.vsize, cov);
    // qemu: the L1 table may hold at most 32 MiB (QCOW_MAX_L1_SIZE).
    if (g.l1_entries > kMaxL1Bytes / kL1EntryBytes)
      throw Error(ErrorKind::Unsupported, sink_.name(),
                  "virtual size " + std::to_string(g.vsize) + " needs " + std::to_string(g.l1_entries) +
                      " L1 entries; qcow2 allows " + std::to_string(kMaxL1Bytes / kL1EntryBytes) +
                      " with cluster_size " + std::to_string(c_));
    // A 0-byte disk has no L1 cluster at all (qemu-img check would count one as leaked).
    g.l1_clusters = io::div_round_up(g.l1_entries * kL1EntryBytes, c_);
    return g;
  }

  // Every offset of the forward layout, from the plan alone: what
  // begin_forward() writes and what planned_size() tells ahead.
  struct ForwardLayout {
    std::vector<uint64_t> counts;  // data clusters per L1 entry
    std::vector<uint64_t> l1;      // L1 entries: each L2 table right after its data
    RefcountLayout rl;
    uint64_t table_off = 0;
    uint64_t l1_off = 0;
    uint64_t end = 0;  // the file's size
  };
  ForwardLayout forward_layout(const convert::TargetPlan& plan) const {
    if (!plan.data_ranges_known && !o_.prealloc_metadata)
      throw Error(ErrorKind::Usage, sink_.name(), "qcow2 forward layout needs the data plan");
    const Geometry geo = geometry(plan.virtual_size);
    ForwardLayout f;
    f.counts.assign(static_cast<size_t>(geo.l1_entries), 0);
    f.l1.assign(static_cast<size_t>(geo.l1_entries), 0);
    const uint64_t clusters = io::div_round_up(geo.vsize, c_);
    if (o_.prealloc_metadata) {
      for (size_t i = 0; i < f.counts.size(); ++i)
        f.counts[i] = std::min<uint64_t>(l2_entries_, clusters - i * l2_entries_);
    } else {
      for (const auto& [off, len] : plan.data_ranges) {
        uint64_t a = off / c_, b = io::div_round_up(std::min(off + len, geo.vsize), c_);
        while (a < b) {
          uint64_t i = a / l2_entries_;
          uint64_t n = std::min(b, (i + 1) * l2_entries_) - a;
          f.counts[static_cast<size_t>(i)] += n;
          a += n;
        }
      }
    }
    uint64_t data = 0, l2s = 0;
    for (uint64_t n : f.counts) {
      data += n;
      l2s += n > 0;
    }
    const uint64_t before = 1 + geo.l1_clusters;
    // Host order: header, reftable, refblocks, L1, then [data_i][L2_i].
    f.rl = refcount_layout(before + data + l2s, c_, o_.refcount_order);
    f.table_off = c_;
    f.l1_off = (1 + f.rl.table_clusters + f.rl.block_clusters) * c_;
    uint64_t cur = f.l1_off / c_ + geo.l1_clusters;
    for (size_t i = 0; i < f.counts.size(); ++i) {
      if (f.counts[i] == 0) continue;
      cur += f.counts[i];
      f.l1[i] = (cur * c_) | kOflagCopied;
      ++cur;
    }
    f.end = cur * c_;
    return f;
  }

  void begin_forward(ForwardLayout f) {
    counts_ = std::move(f.counts);
    l1_ = std::move(f.l1);
    expected_end_ = f.end;
    sink_.write(encode_header(o_, header_layout(f.l1_off, f.table_off, f.rl)));
    write_refcounts(f.rl, f.table_off, f.end / c_);
    write_l1_table();
  }

  HeaderLayout header_layout(uint64_t l1_off, uint64_t table_off, const RefcountLayout& rl) const {
    HeaderLayout h;
    h.virtual_size = vsize_;
    h.l1_offset = l1_off;
    h.l1_size = static_cast<uint32_t>(l1_.size());
    h.reftable_offset = table_off;
    h.reftable_clusters = static_cast<uint32_t>(rl.table_clusters);
    return h;
  }

  // ---- shared --------------------------------------------------------------
  // Positions the writer on guest cluster of `off`; finishes L2 tables of
  // earlier L1 entries. Returns the guest cluster index.
  uint64_t enter_cluster(uint64_t off) {
    if (off % c_ != 0 || off >= vsize_)
      throw Error(ErrorKind::Usage, sink_.name(), "qcow2 writer: unaligned or out-of-range cluster", off);
    const uint64_t g = off / c_;
    if (have_last_ && g <= last_g_)
      throw Error(ErrorKind::Usage, sink_.name(), "qcow2 writer: clusters out of order", off);
    const uint64_t i = g / l2_entries_;
    finish_l2_upto(i);
    if (!l2_open_) {
      l2_.assign(static_cast<size_t>(l2_entries_), 0);
      l2_open_ = true;
      l2_index_ = i;
      written_in_l2_ = 0;
      if (forward_ && counts_[static_cast<size_t>(i)] == 0) source_changed(off);
    }
    if (o_.prealloc_metadata) fill_prealloc_until(g);
    have_last_ = true;
    last_g_ = g;
    return g;
  }

  // Closes every open/pending L2 table below L1 index `upto`.
  void finish_l2_upto(uint64_t upto) {
    if (l2_open_ && l2_index_ < upto) close_l2();
    if (o_.prealloc_metadata) {
      // Every L1 entry is in use: L1 entries with no source data still get
      // their (allocated, unwritten) clusters and L2 table.
      while (next_prealloc_l1_ < upto && next_prealloc_l1_ < l1_.size()) {
        l2_.assign(static_cast<size_t>(l2_entries_), 0);
        l2_open_ = true;
        l2_index_ = next_prealloc_l1_;
        written_in_l2_ = 0;
        close_l2();
      }
    }
  }

  void fill_prealloc_until(uint64_t g) {
    const uint64_t first = l2_index_ * l2_entries_;
    for (uint64_t k = first + written_in_l2_; k < g; ++k) {
      set_l2(k, sink_.position() | kOflagCopied);
      note_data_clusters(1);
      sink_.write_zeros(c_);
    }
  }

  void close_l2() {
    if (o_.prealloc_metadata) {
      const uint64_t first = l2_index_ * l2_entries_;
      const uint64_t clusters = io::div_round_up(vsize_, c_);
      fill_prealloc_until(std::min(first + l2_entries_, clusters));
      next_prealloc_l1_ = l2_index_ + 1;
    }
    if (forward_ && written_in_l2_ != counts_[static_cast<size_t>(l2_index_)])
      source_changed(l2_index_ * l2_entries_ * c_);
    pad_to_cluster();
    const uint64_t at = sink_.position();
    if (forward_ && (l1_[static_cast<size_t>(l2_index_)] & ~kOflagCopied) != at)
      throw Error(ErrorKind::Io, sink_.name(), "internal: L2 table not at its planned offset", at);
    l1_[static_cast<size_t>(l2_index_)] = at | kOflagCopied;
    std::vector<std::byte> buf(static_cast<size_t>(c_));
    for (size_t k = 0; k < l2_.size(); ++k) io::store_be64(buf, k * kL2EntryBytes, l2_[k]);
    sink_.write(buf);
    note_meta_cluster();
    l2_open_ = false;
  }

  void set_l2(uint64_t g, uint64_t entry) {
    l2_[static_cast<size_t>(g % l2_entries_)] = entry;
    ++written_in_l2_;
    if (forward_ && written_in_l2_ > counts_[static_cast<size_t>(l2_index_)]) source_changed(g * c_);
  }

  [[noreturn]] void source_changed(uint64_t off) const {
    throw Error(ErrorKind::Io, sink_.name(),
                "the source changed between the planning pass and the copy (guest data at this "
                "offset was not in the plan)",
                off);
  }

  void write_compressed(uint64_t g, std::span<const std::byte> z) {
    // Refcount widths below 16 bits cap how many compressed clusters may
    // share a host cluster: start a new host cluster when the cap is reached.
    const uint64_t bits = uint64_t{1} << o_.refcount_order;
    const uint64_t cap = bits >= 16 ? 65535 : (uint64_t{1} << bits) - 1;
    uint64_t p = sink_.position();
    if (p % c_ != 0 && refs_at(p / c_) >= cap) pad_to_cluster(), p = sink_.position();
    // qcow2.txt "Compressed Clusters Descriptor" (compressed_offset_bits):
    // host offset, then the additional sectors the data touches.
    const uint64_t shift = compressed_offset_bits(o_.cluster_bits);
    const uint64_t sectors = (p + z.size() - 1) / kSector - p / kSector;
    set_l2(g, p | (sectors << shift) | kOflagCompressed);
    for (uint64_t h = p / c_; h <= (p + z.size() - 1) / c_; ++h) add_ref(h);
    sink_.write(z);
  }

  uint64_t refs_at(uint64_t h) const { return h < refs_.size() ? refs_[static_cast<size_t>(h)] : 0; }
  void add_ref(uint64_t h) {
    if (h >= refs_.size()) refs_.resize(static_cast<size_t>(h + 1), 0);
    ++refs_[static_cast<size_t>(h)];
  }
  // Without compression every cluster has refcount 1 and nothing is stored.
  void note_meta_cluster() {
    if (o_.compress) add_ref(io::div_round_up(sink_.position(), c_) - 1);
  }
  void note_data_clusters(uint64_t) {
    if (o_.compress) add_ref(sink_.position() / c_);
  }

  void pad_to_cluster() {
    const uint64_t p = sink_.position();
    if (p % c_ != 0) sink_.write_zeros(c_ - p % c_);
  }

  void write_l1_table() {
    std::vector<std::byte> buf(static_cast<size_t>(c_));
    const uint64_t per_cluster = c_ / kL1EntryBytes;
    size_t k = 0;
    for (uint64_t cl = 0; cl < l1_clusters_; ++cl) {
      std::fill(buf.begin(), buf.end(), std::byte{0});
      for (size_t j = 0; j < per_cluster && k < l1_.size(); ++j, ++k)
        io::store_be64(buf, j * kL1EntryBytes, l1_[k]);
      sink_.write(buf);
      note_meta_cluster();
    }
  }

  // Writes the reftable at `table_off` (the current position) and the
  // refblocks after it, covering `total` host clusters.
  void write_refcounts(const RefcountLayout& rl, uint64_t table_off, uint64_t total) {
    if (sink_.position() != table_off) throw Error(ErrorKind::Io, sink_.name(), "internal: reftable offset");
    const uint64_t per_block = c_ * CHAR_BIT / (uint64_t{1} << o_.refcount_order);
    const uint64_t per_table_cluster = c_ / kReftableEntryBytes;
    const uint64_t first_block = table_off / c_ + rl.table_clusters;
    std::vector<std::byte> buf(static_cast<size_t>(c_));
    uint64_t b = 0;
    for (uint64_t cl = 0; cl < rl.table_clusters; ++cl) {
      std::fill(buf.begin(), buf.end(), std::byte{0});
      for (size_t j = 0; j < per_table_cluster && b < rl.block_clusters; ++j, ++b)
        io::store_be64(buf, j * kReftableEntryBytes, (first_block + b) * c_);
      sink_.write(buf);
    }
    for (b = 0; b < rl.block_clusters; ++b) {
      std::fill(buf.begin(), buf.end(), std::byte{0});
      for (uint64_t j = 0; j < per_block; ++j) {
        const uint64_t h = b * per_block + j;
        if (h >= total) break;
        uint64_t r = o_.compress ? refs_at(h) : 1;
        if (o_.compress && h >= refs_.size()) r = 1;  // the refcount structure itself
        if (r != 0) store_refcount(buf, j, r, o_.refcount_order);
      }
      sink_.write(buf);
    }
  }

  ByteSink& sink_;
  WriterOptions o_;
  const uint64_t c_;
  const uint64_t l2_entries_;
  bool forward_ = false;
  uint64_t vsize_ = 0;
  std::vector<uint64_t> l1_;
  uint64_t l1_clusters_ = 0;
  std::vector<uint64_t> counts_;  // forward: data clusters per L1 entry
  uint64_t expected_end_ = 0;
  std::vector<uint64_t> l2_;
  bool l2_open_ = false;
  uint64_t l2_index_ = 0;
  uint64_t written_in_l2_ = 0;
  uint64_t next_prealloc_l1_ = 0;
  bool have_last_ = false;
  uint64_t last_g_ = 0;
  std::vector<uint16_t> refs_;  // compressed layout: refcount per host cluster
};

}  // namespace
}  // namespace imgtool::qcow2

namespace imgtool::formats {

std::unique_ptr<convert::TargetWriter> make_qcow2_writer(ByteSink& sink, const convert::TargetOptions& opts) {
  return std::make_unique<qcow2::Qcow2Writer>(sink, qcow2::parse_writer_options(opts, sink.name()));
}

// Compressed clusters' sizes are known only after compression, and the tables
// that point at them come after them: the header is patched at the end.
bool qcow2_needs_seekable_sink(const convert::TargetOptions& opts) {
  return opts.compress;
}

}  // namespace imgtool::formats
