// The tables of the qcow2 check (qcow2_checker.hpp): qemu calculate_refcounts,
// check_refcounts_l1/l2 and qcow2_check_bitmaps_refcounts, each table read
// once. Messages keep qemu's words where it has one ("ERROR l2_offset=...")
// and add what it leaves out: which table, host and guest offsets, sizes.
#include <algorithm>

#include "formats/qcow2/qcow2_checker.hpp"
#include "formats/qcow2/qcow2_table_io.hpp"
#include "formats/qcow2/qcow2_tables.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2::check {
namespace {

constexpr size_t kMaxUsersPerCluster = 4;  // users named per cluster
constexpr size_t kSampleNames = 3;         // names listed when a table is named many times
constexpr uint32_t kRejected = UINT32_MAX;

std::string listing(const std::vector<std::string>& sample, uint64_t total) {
  std::string s;
  for (const auto& n : sample) s += (s.empty() ? "" : ", ") + n;
  if (total > sample.size()) s += " and " + std::to_string(total - sample.size()) + " more";
  return s;
}

}  // namespace

template <class What>
void Checker::use(Pass p, uint64_t offset, uint64_t bytes, uint8_t cat, uint64_t weight, What&& what,
                  uint64_t slack) {
  if (bytes == 0) return;
  uint64_t end;
  if (io::add_overflows(offset, bytes, &end)) {
    if (p == Pass::Count)
      findings_.corrupt(FindingKind::Metadata, "ERROR " + what() + " (" + std::to_string(bytes) + " B at " +
                                                   io::hex(offset) + ") overflows 64 bits");
    return;
  }
  if (p == Pass::Count && end > h_.file_size && end - h_.file_size > slack)
    findings_.corrupt(FindingKind::PastEof, "ERROR " + what() + " (" + std::to_string(bytes) + " B at " +
                                                io::hex(offset) + ") ends past end of file (" +
                                                std::to_string(h_.file_size) + " B)");
  // Only clusters of the file are counted: memory follows the file's metadata.
  const uint64_t first = offset / cs_, last = std::min((end - 1) / cs_, file_clusters_ - 1);
  if (first > last) return;
  if (p == Pass::Describe) {
    for (auto it = named_.lower_bound(first); it != named_.end() && it->first <= last; ++it)
      if (it->second.size() < kMaxUsersPerCluster) it->second.push_back(what());
    return;
  }
  if (weight != 1 || last - first < 4) {  // L2 tables and data: at most 3 clusters
    for (uint64_t c = first; c <= last; ++c)
      refs_.point(c, c == first ? cat : uint8_t(cat & ~(kCopiedSet | kCopiedClear)), weight);
  } else {
    refs_.range(first, last + 1, cat);  // tables: one record
  }
}

void Checker::walk(Pass p) {
  use(p, 0, cs_, kMeta, 1, [] { return std::string("header"); });
  if (p == Pass::Count) plan_l1();
  for (uint32_t t = 0; t < l1s_.size(); ++t) walk_l1(p, t);
  if (p == Pass::Count) weigh_l2();
  for (const L2Use& u : l2s_) walk_l2(p, u);
  use(p, h_.snapshots_offset, img_.snapshot_table_bytes(), kMeta, 1,
      [] { return std::string("snapshot table"); });
  use(p, h_.refcount_table_offset, uint64_t(h_.refcount_table_clusters) * cs_, kMeta, 1,
      [] { return std::string("refcount table"); });
  use(p, h_.crypto_header_offset, h_.crypto_header_length, kMeta, 1,
      [] { return std::string("encryption header"); });
  if (!img_.bitmaps().empty()) {
    use(p, h_.bitmap_directory_offset, h_.bitmap_directory_size, kMeta, 1,
        [] { return std::string("bitmap directory"); });
    if (p == Pass::Count) plan_bitmaps();
    for (const BitmapTable& b : bitmaps_) walk_bitmap(p, b);
  }
  for (const Refcounts::Block& b : rc_->blocks())
    use(p, b.offset, cs_, kMeta | kRefblock, 1, [&] { return "refcount block " + std::to_string(b.index); });
}

// The active L1 table and the snapshots' (qemu calculate_refcounts), each
// distinct table once.
void Checker::plan_l1() {
  add_l1(h_.l1_table_offset, h_.l1_size, "active", true);
  const auto& snaps = img_.snapshots();
  if (h_.has_data_file() && !snaps.empty())
    findings_.corrupt(FindingKind::Metadata,
                      "ERROR " + std::to_string(snaps.size()) + " snapshots in image with data file");
  for (const auto& s : snaps) {
    poll_();
    const std::string label = "snapshot " + escape_name(s.info.id) + " (" + escape_name(s.info.name) + ")";
    if (s.l1_offset % cs_ != 0) {
      findings_.corrupt(FindingKind::Metadata,
                        "ERROR " + label + " l1_offset=" + io::hex(s.l1_offset) +
                            ": L1 table is not cluster aligned; snapshot table entry corrupted");
      continue;
    }
    if (uint64_t(s.l1_size) * 8 > kMaxL1Bytes) {
      findings_.corrupt(FindingKind::Metadata, "ERROR " + label + " l1_size=" + io::hex(s.l1_size) +
                                                   ": L1 table is too large (limit " +
                                                   std::to_string(kMaxL1Bytes) +
                                                   " B); snapshot table entry corrupted");
      continue;
    }
    add_l1(s.l1_offset, s.l1_size, label, false);
  }
  for (const L1Table& t : l1s_) {
    if (t.namings < 2) continue;
    const uint64_t snapshots = t.active ? t.namings - 1 : t.namings;
    findings_.corrupt(FindingKind::Overlap,
                      "ERROR L1 table at " + io::hex(t.offset) + " (" + std::to_string(t.size) +
                          " entries) is named by " + (t.active ? "the active L1 and " : "") +
                          std::to_string(snapshots) + " snapshots (" + listing(t.sample, t.namings) +
                          "); qemu gives every snapshot its own copy: walked once");
  }
}

void Checker::add_l1(uint64_t offset, uint32_t size, const std::string& label, bool active) {
  if (size == 0) return;
  auto [it, fresh] = l1_by_place_.try_emplace({offset, size}, uint32_t(l1s_.size()));
  if (!fresh) {  // the same table again: counted once, one finding for all its names
    if (it->second == kRejected) return;
    L1Table& t = l1s_[it->second];
    t.namings = saturating_add(t.namings, 1);
    if (t.sample.size() < kSampleNames) t.sample.push_back(label);
    return;
  }
  const uint64_t bytes = uint64_t(size) * 8;
  if (!claim(offset, bytes, label + " L1 table")) {
    it->second = kRejected;
    return;
  }
  L1Table t;
  t.offset = offset;
  t.size = size;
  t.label = label;
  t.active = active;
  t.sample = {label};
  uint64_t end;
  t.walk = !io::add_overflows(offset, bytes, &end) && end <= h_.file_size;
  l1s_.push_back(std::move(t));
}

// Walked L1 and bitmap tables are pairwise disjoint: what they make the walk
// read never exceeds the file, however many tables the image declares.
bool Checker::claim(uint64_t offset, uint64_t bytes, const std::string& what) {
  uint64_t end;
  if (io::add_overflows(offset, bytes, &end)) end = UINT64_MAX;
  auto it = claimed_.lower_bound(end);
  if (it != claimed_.begin() && std::prev(it)->second.first > offset) {
    --it;
    findings_.corrupt(FindingKind::Overlap, "ERROR " + what + " (" + std::to_string(bytes) + " B at " +
                                                io::hex(offset) + ") overlaps the " + it->second.second +
                                                " at " + io::hex(it->first) + ": not walked");
    return false;
  }
  claimed_.emplace(offset, std::make_pair(end, what));
  return true;
}

void Checker::walk_l1(Pass p, uint32_t ti) {
  const L1Table& t = l1s_[ti];
  const uint64_t bytes = uint64_t(t.size) * 8;
  use(p, t.offset, bytes, kMeta, 1, [&] { return t.label + " L1 table"; });
  if (p == Pass::Describe || !t.walk) return;  // the L2 tables are known from the first pass
  for_each_present(src_, t.offset, bytes, [&](uint64_t rel, io::Bytes piece) {
    for (uint64_t i = 0; i + 8 <= piece.size(); i += 8) {
      poll_();
      const uint64_t e = io::load_be64(piece, i);
      const auto index = uint32_t((rel + i) / 8);  // < 4M entries
      if (e & kL1ReservedMask)
        findings_.corrupt(FindingKind::Metadata,
                          "ERROR found L1 entry with reserved bits set: " + io::hex(e) + " (" + t.label +
                              " L1 index " + std::to_string(index) + ")");
      const uint64_t l2 = e & kOffsetMask;
      if (l2 == 0) continue;
      if (l2 >= h_.file_size || cs_ > h_.file_size - l2) {
        // Never read, never counted: kept out of the table of L2 tables, so
        // that it holds at most one entry per cluster of the file.
        if (past_eof_l2_.count(l2)) continue;
        if (past_eof_l2_.size() >= Findings::kMaxListed) {
          findings_.more(Severity::Corruption, 1);
          continue;
        }
        past_eof_l2_.insert(l2);
        findings_.corrupt(FindingKind::PastEof, "ERROR " + t.label + " L2 table (L1 index " +
                                                    std::to_string(index) + ") (" + std::to_string(cs_) +
                                                    " B at " + io::hex(l2) + ") ends past end of file (" +
                                                    std::to_string(h_.file_size) + " B)");
        continue;
      }
      L2Use& u = l2_by_offset_[l2];
      if (u.named == 0) {
        u.offset = l2;
        u.table = ti;
        u.index = index;
      }
      u.named = saturating_add(u.named, 1);
      if (!t.active) continue;
      if (e & kOflagCopied) {
        if (u.active_copied++ == 0) u.first_copied = index;
      } else if (u.active_plain++ == 0) {
        u.first_plain = index;
      }
    }
  });
}

std::string Checker::l2_label(const L2Use& u) const {
  return l1s_[u.table].label + " L2 table (L1 index " + std::to_string(u.index) + ")";
}

// The refcounts of the L2 tables, before their walk: how often their
// clusters count, and qemu check_oflag_copied for the active L1 entries.
void Checker::weigh_l2() {
  l2s_.reserve(l2_by_offset_.size());
  for (auto& kv : l2_by_offset_) l2s_.push_back(kv.second);
  std::unordered_map<uint64_t, L2Use>().swap(l2_by_offset_);
  std::sort(l2s_.begin(), l2s_.end(), [](const L2Use& a, const L2Use& b) { return a.offset < b.offset; });
  for (L2Use& u : l2s_) {  // ascending: each refcount block is read once
    poll_();
    const uint64_t refcount = rc_->lookup(u.offset / cs_);
    u.weight = std::min(u.named, std::max<uint64_t>(refcount, 1));
    if (u.weight < u.named)
      findings_.corrupt(FindingKind::Overlap,
                        "ERROR L2 table at " + io::hex(u.offset) + " is named by " + std::to_string(u.named) +
                            " L1 entries (first: " + l1s_[u.table].label + " L1 index " +
                            std::to_string(u.index) + ") but its refcount is " + std::to_string(refcount) +
                            ": its clusters count " + std::to_string(u.weight) + " time(s)");
    if (u.offset % cs_ != 0)
      findings_.corrupt(FindingKind::Metadata, "ERROR l2_offset=" + io::hex(u.offset) +
                                                   ": Table is not cluster aligned; L1 entry corrupted");
    const bool copied_wrong = refcount != 1 && u.active_copied;
    if ((refcount == 1 && u.active_plain) || copied_wrong) {
      const uint32_t n = copied_wrong ? u.active_copied : u.active_plain;
      findings_.corrupt(FindingKind::Metadata,
                        "ERROR OFLAG_COPIED L2 cluster: l1_index=" +
                            std::to_string(copied_wrong ? u.first_copied : u.first_plain) +
                            " l1_entry=" + io::hex(u.offset | (copied_wrong ? kOflagCopied : 0)) +
                            " refcount=" + std::to_string(refcount) +
                            (n > 1 ? " (and " + std::to_string(n - 1) + " more L1 entries naming it)" : ""));
    }
  }
}

void Checker::walk_l2(Pass p, const L2Use& u) {
  use(p, u.offset, cs_, kL2, u.weight, [&] { return l2_label(u); });
  if (p == Pass::Describe && !named_data_) return;
  if (u.offset >= h_.file_size || cs_ > h_.file_size - u.offset) return;  // PastEof, reported by use()
  if (is_hole(src_, u.offset, cs_)) return;                               // all entries unallocated
  buf_.resize(static_cast<size_t>(cs_));
  src_.read_exact(u.offset, buf_);
  // qemu counts allocation statistics per walk of an L2 table from the active
  // L1 (CHECK_FRAG_INFO): as often as the active L1 names it, here as far as
  // its refcount allows.
  const uint64_t active_namings = uint64_t(u.active_copied) + u.active_plain;
  const bool active = active_namings > 0;
  uint64_t allocated = 0, compressed = 0, fragmented = 0, next_contiguous = 0;
  const std::string& label = l1s_[u.table].label;
  // qemu writes a compressed cluster's sector-rounded length: it may reach
  // into the last, partial sector after the end of the file.
  const uint64_t sector_slack = io::align_up(h_.file_size, 512) - h_.file_size;
  const uint64_t n = h_.l2_entries;
  for (uint64_t i = 0; i < n; ++i) {
    poll_();
    const uint64_t e = io::load_be64(buf_, i * h_.l2_entry_bytes);
    const uint64_t bitmap = h_.extended_l2 ? io::load_be64(buf_, i * 16 + 8) : 0;
    if (e == 0 && bitmap == 0) continue;
    const uint64_t guest = (uint64_t(u.index) * n + i) * cs_;  // < 2^22 * 2^18 * 2^21
    const ClusterType t = cluster_type(h_, e);
    if (t != ClusterType::Compressed && (e & kL2StdReservedMask))
      findings_.corrupt(FindingKind::Metadata, "ERROR found l2 entry with reserved bits set: " + io::hex(e) +
                                                   " (guest offset " + io::hex(guest) + ")");
    switch (t) {
      case ClusterType::Compressed: {
        const CompressedRef c = compressed_ref(h_, e);
        if (e & kOflagCopied)
          findings_.corrupt(FindingKind::Metadata,
                            "ERROR: coffset=" + io::hex(c.host_offset) +
                                ": copied flag must never be set for compressed clusters");
        if (h_.has_data_file() || bitmap) {
          findings_.corrupt(FindingKind::Metadata,
                            "ERROR compressed cluster " + std::to_string(i) +
                                (bitmap ? " with non-zero subcluster allocation bitmap" : " with data file") +
                                ", entry=" + io::hex(e));
          break;
        }
        auto what = [&] { return label + " compressed data of guest offset " + io::hex(guest); };
        uint64_t slack = sector_slack;
        if (c.host_offset >= h_.file_size) {  // not even its first byte is there
          if (p == Pass::Count)
            findings_.corrupt(FindingKind::PastEof, "ERROR " + what() + " at " + io::hex(c.host_offset) +
                                                        " starts past end of file (" +
                                                        std::to_string(h_.file_size) + " B)");
          slack = UINT64_MAX;  // reported
        }
        use(p, c.host_offset, c.size, kCompressed, u.weight, what, slack);
        ++allocated;
        ++compressed;
        ++fragmented;  // qemu: compressed clusters are fragmented by nature
        break;
      }
      case ClusterType::ZeroAlloc:
      case ClusterType::Normal: {
        const uint64_t off = e & kOffsetMask;
        if ((bitmap >> 32) & bitmap)
          findings_.corrupt(FindingKind::Metadata,
                            "ERROR: Invalid cluster entry: l2 bitmap " + io::hex(bitmap) +
                                " has a subcluster both allocated and zero (guest offset " + io::hex(guest) +
                                ")");
        if (off % cs_ != 0)
          findings_.corrupt(
              FindingKind::Metadata,
              "ERROR offset=" + io::hex(off) + ": Data cluster is not properly aligned; L2 entry corrupted");
        ++allocated;
        if (next_contiguous && off != next_contiguous) ++fragmented;
        next_contiguous = off + cs_;
        if (h_.has_data_file()) {  // qemu: the data file's clusters count as refcount 1
          if (active && !(e & kOflagCopied))
            findings_.corrupt(FindingKind::Metadata, "ERROR OFLAG_COPIED data cluster: l2_entry=" +
                                                         io::hex(e) + " refcount=1 (external data file)");
          break;
        }
        // The cluster must be in the file; with extended L2 qemu writes only
        // the allocated subclusters, and the file may end after the last one.
        uint64_t need = cs_;
        if (h_.extended_l2) {
          const auto alloc = uint32_t(bitmap);
          need = alloc ? (32 - uint64_t(__builtin_clz(alloc))) * (cs_ / kSubclusters) : 0;
        }
        const uint8_t copied = !active ? 0 : (e & kOflagCopied) ? kCopiedSet : kCopiedClear;
        use(
            p, off, cs_, kData | copied, u.weight,
            [&] { return label + " data of guest offset " + io::hex(guest); }, cs_ - need);
        break;
      }
      case ClusterType::ZeroPlain: break;
      case ClusterType::Unallocated:
        if (bitmap & 0xffffffffu)
          findings_.corrupt(
              FindingKind::Metadata,
              "ERROR: Unallocated cluster has non-zero l2 bitmap (guest offset " + io::hex(guest) + ")");
        break;
    }
  }
  if (p != Pass::Count || !active) return;
  const uint64_t walks = std::min(active_namings, u.weight);
  allocated_ = saturating_add(allocated_, allocated * walks);  // <= 2^18 entries x < 2^33 namings
  compressed_ = saturating_add(compressed_, compressed * walks);
  fragmented_ = saturating_add(fragmented_, fragmented * walks);
}

// qemu qcow2_check_bitmaps_refcounts; the directory entries were checked at open.
void Checker::plan_bitmaps() {
  std::map<std::pair<uint64_t, uint32_t>, uint32_t> seen;
  for (const auto& b : img_.bitmaps()) {
    poll_();
    const std::string label = "bitmap '" + escape_name(b.name) + "'";
    auto [it, fresh] = seen.try_emplace({b.table_offset, b.table_size}, uint32_t(bitmaps_.size()));
    if (!fresh) {
      if (it->second != kRejected) bitmaps_[it->second].namings++;
      continue;
    }
    if (!claim(b.table_offset, uint64_t(b.table_size) * 8, label + " table")) {
      it->second = kRejected;
      continue;
    }
    bitmaps_.push_back({b.table_offset, b.table_size, label, 1});
  }
  for (const BitmapTable& t : bitmaps_)
    if (t.namings > 1)
      findings_.corrupt(FindingKind::Overlap, "ERROR " + t.label + " table at " + io::hex(t.offset) + " (" +
                                                  std::to_string(t.size) + " entries) is named by " +
                                                  std::to_string(t.namings) + " bitmaps: walked once");
}

void Checker::walk_bitmap(Pass p, const BitmapTable& b) {
  const uint64_t bytes = uint64_t(b.size) * 8;  // <= 8 MiB (open caps the bitmap at 512 MiB of clusters)
  use(p, b.offset, bytes, kMeta, 1, [&] { return b.label + " table"; });
  if (p == Pass::Describe && !named_bitmap_data_) return;
  if (b.offset >= h_.file_size || bytes > h_.file_size - b.offset) return;  // PastEof, reported by use()
  for_each_present(src_, b.offset, bytes, [&](uint64_t rel, io::Bytes piece) {
    for (uint64_t i = 0; i + 8 <= piece.size(); i += 8) {
      poll_();
      const uint64_t e = io::load_be64(piece, i), off = e & kOffsetMask, index = (rel + i) / 8;
      if (e == 0) continue;
      const std::string entry = b.label + " table entry " + std::to_string(index) + " (" + io::hex(e) + ")";
      // qemu check_table_entry; its check counts a corruption for each.
      if ((e & kBmeEntryReservedMask) || (off != 0 && (e & kBmeEntryAllOnes))) {
        findings_.corrupt(FindingKind::Metadata, "ERROR " + entry + " has reserved bits set");
        continue;
      }
      if (off == 0) continue;
      if (off % cs_ != 0) {
        findings_.corrupt(FindingKind::Metadata, "ERROR " + entry + " is not cluster aligned");
        continue;
      }
      use(p, off, cs_, kBitmapData, 1,
          [&] { return b.label + " data (table entry " + std::to_string(index) + ")"; });
    }
  });
}

}  // namespace imgtool::qcow2::check
