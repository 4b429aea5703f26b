// qcow2 check: the consistency walk of qemu block/qcow2-refcount.c
// (calculate_refcounts, check_refcounts_l1/l2, check_refblocks,
// compare_refcounts, check_oflag_copied) with the same statistics and
// message style, plus imgtool's additions: Unsafe findings for files named by
// the image, and both users named when a cluster is used twice.
// Memory: one reference counter and one category byte per host cluster of the
// file (bounded by the file size); references past the end are findings.
#include <algorithm>
#include <map>
#include <set>

#include "formats/qcow2/qcow2_reader.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {
namespace {

constexpr size_t kMaxFindings = 100000;
constexpr size_t kMaxNamedClusters = 1000;  // clusters whose users are named
constexpr size_t kMaxUsersPerCluster = 4;

// Who uses a cluster; metadata may never share a cluster with anything.
enum Category : uint8_t { kMeta = 1, kL2 = 2, kData = 4, kCompressed = 8, kBitmapData = 16 };

std::string hex(uint64_t v) {
  return io::hex(v);
}

class Checker {
 public:
  explicit Checker(const Qcow2Image& img)
      : img_(img), h_(img.header()), src_(img.source()), cs_(h_.cluster_size) {
    file_clusters_ = io::div_round_up(h_.file_size, cs_);
    // One cluster of slack: a compressed cluster's sector-rounded length may
    // reach just past EOF (qemu writes it that way).
    refs_.assign(file_clusters_ + 1, 0);
    cats_.assign(file_clusters_ + 1, 0);
  }

  CheckReport run() {
    rep_.filename = src_.name();
    rep_.format = Format::Qcow2;
    rep_.total_clusters = io::div_round_up(h_.size / 512 * 512, cs_);

    walk();
    compare();
    if (!named_.empty()) {  // second pass: collect the users of suspicious clusters
      collecting_ = true;
      walk();
      collecting_ = false;
    }
    emit_mismatches();
    check_copied();

    rep_.allocated_clusters = allocated_;
    rep_.compressed_clusters = compressed_;
    rep_.fragmented_clusters = fragmented_;
    rep_.image_end_offset = (highest_ + 1) * cs_;
    if (dropped_ > 0)
      rep_.findings.push_back(
          {Severity::Corruption, FindingKind::Metadata, std::to_string(dropped_) + " further findings not listed"});
    return std::move(rep_);
  }

 private:
  void add(Severity k, std::string msg) {
    if (collecting_) return;
    if (rep_.findings.size() >= kMaxFindings) {
      ++dropped_;
      return;
    }
    rep_.findings.push_back({k, k == Severity::Leak ? FindingKind::Leak : FindingKind::Metadata, std::move(msg)});
  }
  void corrupt(std::string msg) { add(Severity::Corruption, std::move(msg)); }

  // qemu qcow2_inc_refcounts_imrt: one reference per cluster touched.
  template <class Describe>
  void inc(uint64_t offset, uint64_t size, Category cat, Describe&& describe) {
    if (size == 0) return;
    uint64_t last;
    if (io::add_overflows(offset, size - 1, &last)) {
      corrupt(describe() + ": range at " + hex(offset) + " (" + std::to_string(size) +
              " B) overflows 64 bits");
      return;
    }
    for (uint64_t c = offset / cs_; c <= last / cs_; ++c) {
      if (c >= refs_.size()) {
        corrupt(describe() + " at host offset " + hex(c * cs_) + " is past end of file (" +
                std::to_string(h_.file_size) + " B)");
        return;
      }
      if (collecting_) {
        auto it = named_.find(c);
        if (it != named_.end() && it->second.size() < kMaxUsersPerCluster) it->second.push_back(describe());
        continue;
      }
      if (refs_[c] != UINT32_MAX) ++refs_[c];
      cats_[c] |= cat;
      max_ref_ = std::max(max_ref_, c + 1);
    }
  }

  // Reads a table that must lie inside the file; nullopt (and a finding) if not.
  std::optional<std::vector<std::byte>> read_table(uint64_t offset, uint64_t bytes, const std::string& what) {
    uint64_t end;
    if (io::add_overflows(offset, bytes, &end) || end > h_.file_size) {
      corrupt(what + " (" + std::to_string(bytes) + " B at " + hex(offset) + ") ends past end of file (" +
              std::to_string(h_.file_size) + " B)");
      return std::nullopt;
    }
    return src_.read_vector(offset, bytes);
  }

  void walk() {
    inc(0, cs_, kMeta, [] { return std::string("header"); });
    check_l1(h_.l1_table_offset, h_.l1_size, true, "active");
    if (h_.has_data_file() && !img_.snapshots().empty())
      corrupt("ERROR " + std::to_string(img_.snapshots().size()) + " snapshots in image with data file");
    for (const auto& s : img_.snapshots()) {
      const std::string label = "snapshot " + s.info.id + " (" + s.info.name + ")";
      if (s.l1_offset % cs_ != 0) {
        corrupt("ERROR " + label + " l1_offset=" + hex(s.l1_offset) +
                ": L1 table is not cluster aligned; snapshot table entry corrupted");
        continue;
      }
      if (uint64_t(s.l1_size) * 8 > kMaxL1Bytes) {
        corrupt("ERROR " + label + " l1_size=" + hex(s.l1_size) +
                ": L1 table is too large; snapshot table entry corrupted");
        continue;
      }
      check_l1(s.l1_offset, s.l1_size, false, label);
    }
    inc(h_.snapshots_offset, img_.snapshot_table_bytes(), kMeta,
        [] { return std::string("snapshot table"); });
    inc(h_.refcount_table_offset, uint64_t(h_.refcount_table_clusters) * cs_, kMeta,
        [] { return std::string("refcount table"); });
    inc(h_.crypto_header_offset, h_.crypto_header_length, kMeta,
        [] { return std::string("encryption header"); });
    check_bitmaps();
    check_refblocks();
  }

  void check_l1(uint64_t offset, uint32_t size, bool active, const std::string& label) {
    inc(offset, uint64_t(size) * 8, kMeta, [&] { return label + " L1 table"; });
    if (size == 0) return;
    auto raw = read_table(offset, uint64_t(size) * 8, label + " L1 table");
    if (!raw) return;
    for (uint32_t i = 0; i < size; ++i) {
      const uint64_t e = io::load_be64(*raw, uint64_t(i) * 8);
      if (e & kL1ReservedMask) corrupt("ERROR found L1 entry with reserved bits set: " + hex(e));
      const uint64_t l2 = e & kOffsetMask;
      if (l2 == 0) continue;
      inc(l2, cs_, kL2, [&] { return label + " L2 table (L1 index " + std::to_string(i) + ")"; });
      if (l2 % cs_ != 0)
        corrupt("ERROR l2_offset=" + hex(l2) + ": Table is not cluster aligned; L1 entry corrupted");
      check_l2(l2, i, active, label);
    }
  }

  void check_l2(uint64_t l2_offset, uint64_t l1_index, bool active, const std::string& label) {
    auto raw = read_table(l2_offset, cs_, label + " L2 table (L1 index " + std::to_string(l1_index) + ")");
    if (!raw) return;
    uint64_t next_contiguous = 0;
    const uint64_t n = h_.l2_entries;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t e = io::load_be64(*raw, i * h_.l2_entry_bytes);
      const uint64_t bitmap = h_.extended_l2 ? io::load_be64(*raw, i * 16 + 8) : 0;
      const uint64_t guest = (l1_index * n + i) * cs_;
      const ClusterType t = cluster_type(h_, e);
      if (t != ClusterType::Compressed && (e & kL2StdReservedMask))
        corrupt("ERROR found l2 entry with reserved bits set: " + hex(e) + " (guest offset " + hex(guest) +
                ")");
      switch (t) {
        case ClusterType::Compressed: {
          if (e & kOflagCopied) {
            corrupt("ERROR: coffset=" + hex(compressed_ref(h_, e).host_offset) +
                    ": copied flag must never be set for compressed clusters");
          }
          if (h_.has_data_file()) {
            corrupt("ERROR compressed cluster " + std::to_string(i) + " with data file, entry=" + hex(e));
            break;
          }
          if (bitmap) {
            corrupt("ERROR compressed cluster " + std::to_string(i) +
                    " with non-zero subcluster allocation bitmap, entry=" + hex(e));
            break;
          }
          const CompressedRef c = compressed_ref(h_, e);
          inc(c.host_offset, c.size, kCompressed,
              [&] { return label + " compressed data of guest offset " + hex(guest); });
          if (active && !collecting_) {
            ++allocated_;
            ++compressed_;
            ++fragmented_;  // qemu: compressed clusters are fragmented by nature
          }
          break;
        }
        case ClusterType::ZeroAlloc:
        case ClusterType::Normal: {
          const uint64_t off = e & kOffsetMask;
          if ((bitmap >> 32) & bitmap)
            corrupt("ERROR: Invalid cluster entry: l2 bitmap " + hex(bitmap) +
                    " has a subcluster both allocated "
                    "and zero (guest offset " +
                    hex(guest) + ")");
          if (off % cs_ != 0)
            corrupt("ERROR offset=" + hex(off) +
                    ": Data cluster is not properly aligned; L2 entry corrupted");
          if (active && !collecting_) {
            ++allocated_;
            if (next_contiguous && off != next_contiguous) ++fragmented_;
            next_contiguous = off + cs_;
          }
          if (!h_.has_data_file())
            inc(off, cs_, kData, [&] { return label + " data of guest offset " + hex(guest); });
          break;
        }
        case ClusterType::ZeroPlain: break;
        case ClusterType::Unallocated:
          if (bitmap & 0xffffffffu) corrupt("ERROR: Unallocated cluster has non-zero l2 bitmap");
          break;
      }
    }
  }

  void check_bitmaps() {
    if (img_.bitmaps().empty()) return;
    inc(h_.bitmap_directory_offset, h_.bitmap_directory_size, kMeta,
        [] { return std::string("bitmap directory"); });
    for (const auto& b : img_.bitmaps()) {
      const uint64_t bytes = uint64_t(b.table_size) * 8;
      inc(b.table_offset, bytes, kMeta, [&] { return "bitmap '" + b.name + "' table"; });
      if (b.table_offset % cs_ != 0) {
        corrupt("ERROR bitmap '" + b.name + "' table offset " + hex(b.table_offset) +
                " is not cluster aligned");
        continue;
      }
      auto raw = read_table(b.table_offset, bytes, "bitmap '" + b.name + "' table");
      if (!raw) continue;
      for (uint32_t i = 0; i < b.table_size; ++i) {
        const uint64_t off = io::load_be64(*raw, uint64_t(i) * 8) & kOffsetMask;
        if (off == 0) continue;
        inc(off, cs_, kBitmapData, [&] { return "bitmap '" + b.name + "' data"; });
      }
    }
  }

  void check_refblocks() {
    if (collecting_ && reftable_.empty()) return;
    if (!collecting_) {
      auto raw = src_.read_vector(h_.refcount_table_offset, uint64_t(h_.refcount_table_clusters) * cs_);
      reftable_.resize(raw.size() / 8);
      for (size_t i = 0; i < reftable_.size(); ++i) reftable_[i] = io::load_be64(raw, i * 8);
    }
    for (size_t i = 0; i < reftable_.size(); ++i) {
      const uint64_t off = reftable_[i] & kReftOffsetMask;
      if (reftable_[i] & 0x1ff) {
        corrupt("ERROR refcount table entry " + std::to_string(i) + " has reserved bits set");
        continue;
      }
      if (off == 0) continue;
      if (off % cs_ != 0) {
        corrupt("ERROR refcount block " + std::to_string(i) +
                " is not cluster aligned; refcount table entry corrupted");
        continue;
      }
      if (off / cs_ >= file_clusters_) {
        corrupt("ERROR refcount block " + std::to_string(i) + " is outside image (at " + hex(off) +
                ", file is " + std::to_string(h_.file_size) + " B)");
        continue;
      }
      inc(off, cs_, kMeta, [&] { return "refcount block " + std::to_string(i); });
      if (!collecting_ && refs_[off / cs_] != 1)
        corrupt("ERROR refcount block " + std::to_string(i) +
                " refcount=" + std::to_string(refs_[off / cs_]));
    }
  }

  // On-disk refcount of `cluster`, with a one-block cache; 0 when not covered.
  uint64_t refcount_of(uint64_t cluster) {
    const uint64_t per_block = cs_ * 8 / h_.refcount_bits();
    const uint64_t bi = cluster / per_block;
    if (bi >= reftable_.size()) return 0;
    if (bi != block_index_) {
      block_index_ = bi;
      block_.clear();
      const uint64_t off = reftable_[bi] & kReftOffsetMask;
      if (off != 0 && (reftable_[bi] & 0x1ff) == 0 && off % cs_ == 0 && off <= h_.file_size &&
          cs_ <= h_.file_size - off)
        block_ = src_.read_vector(off, cs_);
    }
    if (block_.empty()) return 0;
    return refcount_at(block_, cluster % per_block, h_.refcount_order);
  }

  void compare() {
    const uint64_t limit = std::max<uint64_t>(file_clusters_, max_ref_);
    for (uint64_t c = 0; c < limit; ++c) {
      const uint64_t r1 = refcount_of(c), r2 = refs_[c];
      if (r1 > 0 || r2 > 0) highest_ = c;
      const uint8_t cat = cats_[c];
      const bool overlap = ((cat & kMeta) && r2 > 1) || __builtin_popcount(cat) > 1;
      if (r1 != r2 || overlap) {
        mismatches_.push_back({c, r1, r2, overlap});
        if ((r1 < r2 || overlap) && named_.size() < kMaxNamedClusters) named_[c];
      }
    }
  }

  void emit_mismatches() {
    for (const auto& m : mismatches_) {
      std::string users;
      auto it = named_.find(m.cluster);
      if (it != named_.end() && !it->second.empty()) {
        for (const auto& u : it->second) users += (users.empty() ? "" : "; ") + u;
        users = " (host offset " + hex(m.cluster * cs_) + " used by: " + users + ")";
      }
      const std::string counts = " cluster " + std::to_string(m.cluster) +
                                 " refcount=" + std::to_string(m.refcount) +
                                 " reference=" + std::to_string(m.reference);
      if (m.refcount < m.reference)
        corrupt("ERROR" + counts + users);
      else if (m.refcount > m.reference)
        add(Severity::Leak, "Leaked" + counts + users);
      else
        corrupt("ERROR cluster " + std::to_string(m.cluster) + " is shared between metadata and other users" +
                users);
    }
  }

  // qemu check_oflag_copied: COPIED must be set exactly when refcount == 1.
  void check_copied() {
    const auto& l1 = img_.l1();
    for (size_t i = 0; i < l1.size(); ++i) {
      const uint64_t l2 = l1[i] & kOffsetMask;
      if (l2 == 0) continue;
      const uint64_t rc = refcount_of(l2 / cs_);
      if ((rc == 1) != ((l1[i] & kOflagCopied) != 0))
        corrupt("ERROR OFLAG_COPIED L2 cluster: l1_index=" + std::to_string(i) + " l1_entry=" + hex(l1[i]) +
                " refcount=" + std::to_string(rc));
      uint64_t end;
      if (l2 % cs_ != 0 || io::add_overflows(l2, cs_, &end) || end > h_.file_size) continue;
      std::vector<std::byte> raw = src_.read_vector(l2, cs_);
      for (uint64_t j = 0; j < h_.l2_entries; ++j) {
        const uint64_t e = io::load_be64(raw, j * h_.l2_entry_bytes);
        const ClusterType t = cluster_type(h_, e);
        if (t != ClusterType::Normal && t != ClusterType::ZeroAlloc) continue;
        const uint64_t drc = h_.has_data_file() ? 1 : refcount_of((e & kOffsetMask) / cs_);
        if ((drc == 1) != ((e & kOflagCopied) != 0))
          corrupt("ERROR OFLAG_COPIED data cluster: l2_entry=" + hex(e) + " refcount=" + std::to_string(drc));
      }
    }
  }

  struct Mismatch {
    uint64_t cluster, refcount, reference;
    bool overlap;
  };

  const Qcow2Image& img_;
  const Header& h_;
  const ByteSource& src_;
  const uint64_t cs_;
  uint64_t file_clusters_ = 0;
  std::vector<uint32_t> refs_;
  std::vector<uint8_t> cats_;
  uint64_t max_ref_ = 0, highest_ = 0;
  uint64_t allocated_ = 0, compressed_ = 0, fragmented_ = 0;
  size_t dropped_ = 0;
  bool collecting_ = false;
  std::map<uint64_t, std::vector<std::string>> named_;
  std::vector<Mismatch> mismatches_;
  std::vector<uint64_t> reftable_;
  uint64_t block_index_ = UINT64_MAX;
  std::vector<std::byte> block_;
  CheckReport rep_;
};

}  // namespace

CheckReport run_check(const Qcow2Image& img) {
  try {
    return Checker(img).run();
  } catch (const Error& e) {
    throw e.with_path(img.source().name());
  }
}

}  // namespace imgtool::qcow2
