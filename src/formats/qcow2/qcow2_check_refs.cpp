// Findings, on-disk refcounts, references and their merge for the qcow2 check
// (qcow2_check_refs.hpp). qemu (block/qcow2-refcount.c) keeps one refcount
// per host cluster of the file in memory and compares all of them; a sparse
// file padded to terabytes makes that gigabytes. Here memory follows the
// references the tables make, and the comparison visits the clusters that a
// refcount block or a reference names; leaks are found from the blocks.
#include "formats/qcow2/qcow2_check_refs.hpp"

#include <algorithm>
#include <queue>

#include "formats/qcow2/qcow2_table_io.hpp"
#include "formats/qcow2/qcow2_tables.hpp"
#include "imgtool/cancel.hpp"

namespace imgtool::qcow2::check {

void Findings::add(Severity s, FindingKind k, std::string msg) {
  if (muted) return;
  if (full()) return more(s, 1);
  list_.push_back({s, k, std::move(msg)});
}

void Findings::more(Severity s, uint64_t n) {
  if (muted) return;
  uint64_t& c = s == Severity::Leak ? more_leaks_ : more_corrupt_;
  c = saturating_add(c, n);
}

std::vector<Finding> Findings::take() {
  if (more_corrupt_)
    list_.push_back({Severity::Corruption, FindingKind::Metadata,
                     std::to_string(more_corrupt_) + " further errors not listed (limit " +
                         std::to_string(kMaxListed) + " findings)"});
  if (more_leaks_)
    list_.push_back({Severity::Leak, FindingKind::Leak,
                     std::to_string(more_leaks_) + " further leaked clusters not listed (limit " +
                         std::to_string(kMaxListed) + " findings)"});
  more_corrupt_ = more_leaks_ = 0;
  return std::move(list_);
}

void Poll::operator()() {
  if ((++n_ & 4095) == 0) throw_if_interrupted();
}

Refcounts::Refcounts(const Header& h, const ByteSource& src, Findings& findings) : h_(h), src_(src) {
  const uint64_t cs = h.cluster_size;
  per_block_ = cs * 8 / h.refcount_bits();
  std::vector<Block> cand;
  Poll poll;
  // <= 8 MiB, inside the file (read_header); entries of a hole are 0.
  for_each_present(
      src, h.refcount_table_offset, uint64_t(h.refcount_table_clusters) * cs,
      [&](uint64_t rel, io::Bytes piece) {
        for (uint64_t i = 0; i + 8 <= piece.size(); i += 8) {
          poll();
          const uint64_t raw = io::load_be64(piece, i), index = (rel + i) / 8;
          if (raw == 0) continue;
          const std::string name = "refcount block " + std::to_string(index);
          const uint64_t off = raw & kReftOffsetMask;
          // qemu check_refblocks, in its order and words.
          if (raw & 0x1ff) {
            findings.corrupt(FindingKind::Metadata, "ERROR refcount table entry " + std::to_string(index) +
                                                        " has reserved bits set: " + io::hex(raw));
          } else if (off % cs != 0) {
            findings.corrupt(FindingKind::Metadata,
                             "ERROR " + name + " at " + io::hex(off) +
                                 " is not cluster aligned; refcount table entry corrupted");
          } else if (off >= h.file_size || cs > h.file_size - off) {
            findings.corrupt(FindingKind::PastEof, "ERROR " + name + " (" + std::to_string(cs) + " B at " +
                                                       io::hex(off) + ") is outside the image (file is " +
                                                       std::to_string(h.file_size) + " B)");
          } else {
            cand.push_back({index, off});
          }
        }
      });
  // A block named twice would be read, counted and scanned twice (a table of
  // a million entries naming one block is a million times): one finding, the
  // first naming is used, the others read as unallocated.
  std::sort(cand.begin(), cand.end(), [](const Block& a, const Block& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.index < b.index;
  });
  for (size_t i = 0; i < cand.size();) {
    size_t j = i + 1;
    while (j < cand.size() && cand[j].offset == cand[i].offset) ++j;
    if (j - i > 1) {
      std::string which;
      for (size_t k = i; k < std::min(j, i + 3); ++k)
        which += (k == i ? "" : ", ") + std::to_string(cand[k].index);
      if (j - i > 3) which += " and " + std::to_string(j - i - 3) + " more";
      findings.corrupt(FindingKind::Overlap, "ERROR refcount block at " + io::hex(cand[i].offset) +
                                                 " is named by " + std::to_string(j - i) +
                                                 " refcount table entries (" + which + "); only entry " +
                                                 std::to_string(cand[i].index) + " is read");
    }
    blocks_.push_back(cand[i]);
    i = j;
  }
  by_offset_ = blocks_;  // sorted by offset, for index_at
  std::sort(blocks_.begin(), blocks_.end(), [](const Block& a, const Block& b) { return a.index < b.index; });
}

bool Refcounts::load(const Block& b, std::vector<std::byte>& buf) const {
  if (is_hole(src_, b.offset, h_.cluster_size)) return false;
  buf.resize(static_cast<size_t>(h_.cluster_size));
  src_.read_exact(b.offset, buf);
  return true;
}

uint64_t Refcounts::entry(const std::vector<std::byte>& block, uint64_t i) const {
  return refcount_at(block, i, h_.refcount_order);
}

uint64_t Refcounts::lookup(uint64_t cluster) {
  const uint64_t bi = cluster / per_block_;
  if (bi != cached_) {
    cached_ = bi;
    cached_hole_ = true;
    auto it = std::lower_bound(blocks_.begin(), blocks_.end(), bi,
                               [](const Block& b, uint64_t i) { return b.index < i; });
    if (it != blocks_.end() && it->index == bi) cached_hole_ = !load(*it, block_);
  }
  return cached_hole_ ? 0 : entry(block_, cluster % per_block_);
}

uint64_t Refcounts::index_at(uint64_t cluster) const {
  auto it = std::lower_bound(by_offset_.begin(), by_offset_.end(), cluster * h_.cluster_size,
                             [](const Block& b, uint64_t off) { return b.offset < off; });
  return it != by_offset_.end() && it->offset == cluster * h_.cluster_size ? it->index : UINT64_MAX;
}

void References::point(uint64_t cluster, uint8_t cat, uint64_t weight) {
  if (weight == 0) return;
  const uint64_t key = cluster << 8 | cat;  // cluster < 2^55: offsets are below 2^64, clusters >= 512 B
  if (weight == 1)
    points_.push_back(key);
  else
    weighted_.push_back({key, weight});
}

void References::range(uint64_t first, uint64_t end, uint8_t cat) {
  if (first < end) ranges_.push_back({first, end, cat});
}

// The tables (ranges) covering the current cluster, as the merge moves up.
class References::Sweep {
 public:
  explicit Sweep(const std::vector<Range>& r) : r_(r) {}
  void advance(uint64_t c) {
    while (next_ < r_.size() && r_[next_].first <= c) {
      const Range& x = r_[next_++];
      if (x.end <= c) continue;
      active_.push({x.end, x.cat});
      count(x.cat, 1);
    }
    while (!active_.empty() && active_.top().first <= c) {
      count(active_.top().second, -1);
      active_.pop();
    }
  }
  uint64_t refs() const { return active_.size(); }
  uint8_t cats() const {
    uint8_t c = 0;
    for (unsigned b = 0; b < 8; ++b)
      if (bits_[b]) c |= uint8_t(1u << b);
    return c;
  }
  // The next cluster where the set changes.
  uint64_t next_change() const {
    uint64_t n = next_ < r_.size() ? r_[next_].first : UINT64_MAX;
    return active_.empty() ? n : std::min(n, active_.top().first);
  }

 private:
  void count(uint8_t cat, int64_t d) {
    for (unsigned b = 0; b < 8; ++b)
      if (cat & (1u << b)) bits_[b] += d;
  }
  const std::vector<Range>& r_;
  size_t next_ = 0;
  std::priority_queue<std::pair<uint64_t, uint8_t>, std::vector<std::pair<uint64_t, uint8_t>>, std::greater<>>
      active_;
  int64_t bits_[8] = {};
};

void References::merge(Refcounts& rc, uint64_t limit, MergeVisitor& v) {
  std::sort(points_.begin(), points_.end());
  std::sort(weighted_.begin(), weighted_.end(),
            [](const Weighted& a, const Weighted& b) { return a.key < b.key; });
  std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  uint64_t end = limit;  // every reference lies below the end of the file, but be sure
  if (!points_.empty()) end = std::max(end, (points_.back() >> 8) + 1);
  if (!weighted_.empty()) end = std::max(end, (weighted_.back().key >> 8) + 1);
  for (const Range& r : ranges_) end = std::max(end, r.end);

  Sweep sweep(ranges_);
  size_t pi = 0, wi = 0;
  auto next_point = [&] {
    uint64_t n = pi < points_.size() ? points_[pi] >> 8 : UINT64_MAX;
    return wi < weighted_.size() ? std::min(n, weighted_[wi].key >> 8) : n;
  };
  auto take_points = [&](ClusterRefs& x) {
    auto one = [&](uint64_t key, uint64_t weight) {
      const uint8_t cat = key & 0xff;
      x.refs = saturating_add(x.refs, weight);
      x.cats |= cat;
      if (cat & kCopiedSet) ++x.copied_set;
      if (cat & kCopiedClear) ++x.copied_clear;
    };
    for (; pi < points_.size() && points_[pi] >> 8 == x.cluster; ++pi) one(points_[pi], 1);
    for (; wi < weighted_.size() && weighted_[wi].key >> 8 == x.cluster; ++wi)
      one(weighted_[wi].key, weighted_[wi].weight);
  };
  Poll poll;
  auto at = [&](uint64_t c, uint64_t refcount) {
    sweep.advance(c);
    ClusterRefs x;
    x.cluster = c;
    x.refcount = refcount;
    x.refs = sweep.refs();
    x.cats = sweep.cats();
    if (next_point() == c) take_points(x);
    if (x.refcount || x.refs) v.cluster(x);
  };
  // [a, b) with no refcount block: only referenced clusters, tables in runs.
  auto gap = [&](uint64_t a, uint64_t b) {
    for (uint64_t c = a; c < b;) {
      poll();
      sweep.advance(c);
      const uint64_t np = next_point();
      if (np <= c) {
        at(c, 0);
        ++c;
        continue;
      }
      const uint64_t stop = std::min({b, np, sweep.next_change()});
      if (sweep.refs() > 0) v.run(c, stop, sweep.refs(), sweep.cats());
      c = stop;
    }
  };
  // [lo, hi) covered by a refcount block: every cluster, skipping words of
  // zero refcounts that nothing references.
  const uint64_t per_word = std::max<uint64_t>(1, 64 >> rc.order());
  std::vector<std::byte> buf;
  auto dense = [&](uint64_t lo, uint64_t hi) {
    for (uint64_t c = lo; c < hi;) {
      poll();
      const uint64_t rel = c - lo;
      if (rel % per_word == 0 && hi - c >= per_word && io::load_be64(buf, rel / per_word * 8) == 0) {
        sweep.advance(c);
        const uint64_t wend = c + per_word;
        if (sweep.refs() == 0 && sweep.next_change() >= wend && next_point() >= wend) {
          c = wend;
          continue;
        }
      }
      at(c, rc.entry(buf, rel));
      ++c;
    }
  };
  uint64_t pos = 0;
  for (const Refcounts::Block& b : rc.blocks()) {
    const uint64_t lo = b.index * rc.per_block();  // index < 2^20, per_block <= 2^24
    if (lo >= limit) break;
    const uint64_t hi = std::min(limit, lo + rc.per_block());
    gap(pos, lo);
    if (rc.load(b, buf))
      dense(lo, hi);
    else
      gap(lo, hi);
    pos = hi;
  }
  gap(pos, end);
}

}  // namespace imgtool::qcow2::check
