#pragma once
// The bookkeeping of the qcow2 check (qcow2_check.cpp), sized by the image's
// metadata, never by the file size:
//   Findings    the report's findings, capped;
//   Refcounts   the refcounts as stored: the refcount table read once, each
//               refcount block validated and read at most once per pass;
//   References  what the tables say: one 8-byte word per (cluster, category)
//               reference, 16 bytes when it counts more than once (an L2
//               table shared by snapshots), one record per multi-cluster table;
//   merge       both, in cluster order: what qemu's compare_refcounts does
//               with its in-memory refcount array (block/qcow2-refcount.c),
//               visiting only clusters that a refcount block or a reference
//               names, and whole runs of table clusters no block covers at once.
#include <cstdint>
#include <string>
#include <vector>

#include "formats/qcow2/qcow2_header.hpp"
#include "imgtool/finding.hpp"
#include "imgtool/source.hpp"

namespace imgtool::qcow2::check {

// Who uses a host cluster; the merge ORs them per cluster.
enum Category : uint8_t {
  kMeta = 1,          // header, L1/refcount/snapshot/bitmap tables, directories, refcount blocks
  kL2 = 2,            // an L2 table (snapshots may share it)
  kData = 4,          // a standard data cluster
  kCompressed = 8,    // (part of) compressed clusters, which may share a host cluster
  kBitmapData = 16,   // a bitmap data cluster
  kUsers = 31,        // the bits above; two of them on one cluster is an overlap
  kRefblock = 32,     // with kMeta: a refcount block (qemu check_refblocks: used exactly once)
  kCopiedSet = 64,    // an active L2 entry with OFLAG_COPIED: the refcount must be 1
  kCopiedClear = 128  // an active L2 entry without it: the refcount must not be 1
};

inline uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

// Findings with a cap: beyond it they are counted, not listed.
class Findings {
 public:
  static constexpr size_t kMaxListed = 1000;
  void add(Severity s, FindingKind k, std::string msg);
  void corrupt(FindingKind k, std::string msg) { add(Severity::Corruption, k, std::move(msg)); }
  // `n` findings of severity `s` that are counted but not listed.
  void more(Severity s, uint64_t n);
  bool full() const { return list_.size() >= kMaxListed; }
  // The listed findings plus one line per severity for the rest.
  std::vector<Finding> take();
  bool muted = false;  // the describing pass repeats the walk: nothing is reported twice

 private:
  std::vector<Finding> list_;
  uint64_t more_corrupt_ = 0, more_leaks_ = 0;
};

// Calls throw_if_interrupted() every 4096 ticks: loops over counts read from
// the image stay cancellable without a syscall per entry.
class Poll {
 public:
  void operator()();

 private:
  uint32_t n_ = 0;
};

class Refcounts {
 public:
  struct Block {
    uint64_t index;   // refcount table entry
    uint64_t offset;  // host offset of the refcount block
  };
  // Reads the refcount table (validated at open) and reports entries with
  // reserved bits, unaligned or (partly) past the end of the file, and blocks
  // named by more than one entry: one finding each; only the first naming
  // counts, the others read as if unallocated.
  Refcounts(const Header& h, const ByteSource& src, Findings& findings);

  uint64_t per_block() const { return per_block_; }
  uint32_t order() const { return h_.refcount_order; }  // refcount_bits = 1 << order
  // The usable blocks, by ascending table index.
  const std::vector<Block>& blocks() const { return blocks_; }
  // Refcount of `cluster` as stored (0 where no usable block covers it).
  // Ascending queries read each block at most once.
  uint64_t lookup(uint64_t cluster);
  // Reads `b` into buf; false when it is a hole (all refcounts 0).
  bool load(const Block& b, std::vector<std::byte>& buf) const;
  uint64_t entry(const std::vector<std::byte>& block, uint64_t i) const;
  // The table index of the usable block at host cluster `cluster`.
  uint64_t index_at(uint64_t cluster) const;

 private:
  const Header& h_;
  const ByteSource& src_;
  uint64_t per_block_ = 0;
  std::vector<Block> blocks_, by_offset_;
  uint64_t cached_ = UINT64_MAX;  // table index of block_
  bool cached_hole_ = true;
  std::vector<std::byte> block_;
};

// Per cluster, what the merge found.
struct ClusterRefs {
  uint64_t cluster = 0;
  uint64_t refcount = 0;                      // as stored
  uint64_t refs = 0;                          // as referenced
  uint8_t cats = 0;                           // OR of the categories of the references
  uint64_t copied_set = 0, copied_clear = 0;  // active L2 entries naming it with / without OFLAG_COPIED
};

class MergeVisitor {
 public:
  virtual ~MergeVisitor() = default;
  // A cluster whose refcount or references are not zero.
  virtual void cluster(const ClusterRefs& c) = 0;
  // Clusters [first, end), none covered by a refcount block (refcount 0),
  // each referenced `refs` times by tables only (categories `cats`).
  virtual void run(uint64_t first, uint64_t end, uint64_t refs, uint8_t cats) = 0;
};

class References {
 public:
  // One reference to `cluster` counted `weight` times.
  void point(uint64_t cluster, uint8_t cat, uint64_t weight = 1);
  // One reference to each cluster of [first, end) (a table).
  void range(uint64_t first, uint64_t end, uint8_t cat);
  uint64_t count() const { return points_.size() + weighted_.size() + ranges_.size(); }
  // Sorts, then visits every cluster below `limit` that a usable refcount
  // block covers or a reference names, in ascending order.
  void merge(Refcounts& rc, uint64_t limit, MergeVisitor& v);

 private:
  struct Weighted {
    uint64_t key;  // cluster << 8 | category
    uint64_t weight;
  };
  struct Range {
    uint64_t first, end;
    uint8_t cat;
  };
  class Sweep;
  std::vector<uint64_t> points_;  // cluster << 8 | category, weight 1
  std::vector<Weighted> weighted_;
  std::vector<Range> ranges_;
};

}  // namespace imgtool::qcow2::check
