#pragma once
// The qcow2 consistency walk: qemu's qcow2_check_refcounts
// (block/qcow2-refcount.c: calculate_refcounts, check_refcounts_l1/l2,
// check_refblocks, compare_refcounts, check_oflag_copied) with the same
// statistics and message style, bounded by the metadata in the file:
//   - every L1 table, L2 table, bitmap table and refcount block is read once
//     however many entries name it (qemu walks an L2 table once per L1 entry
//     naming it, again for OFLAG_COPIED, and again per snapshot). A table
//     named more often than its refcount allows is one finding, and its
//     clusters count min(named, max(refcount, 1)) times: what a valid image
//     says, and no follow-on finding per data cluster;
//   - L1 and bitmap tables that overlap one already walked are one finding
//     each and are not walked: the bytes walked never exceed the file;
//   - references are words in sorted vectors merged with the refcount blocks
//     (qcow2_check_refs.hpp), never an array per host cluster of the file;
//   - anything that reaches past the end of the file is a PastEof finding
//     (qemu 7.2 accepts up to one cluster past it: a cut download passes).
// Walked twice when a cluster is used twice: the second pass re-reads the
// same tables and names the users of those clusters (at most 1000).
// qcow2_check.cpp: run, the merge visitor, findings; qcow2_check_walk.cpp:
// the tables.
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "formats/qcow2/qcow2_check_refs.hpp"
#include "formats/qcow2/qcow2_reader.hpp"

namespace imgtool::qcow2::check {

enum class Pass { Count, Describe };

class Checker final : public MergeVisitor {
 public:
  explicit Checker(const Qcow2Image& img);
  CheckReport report();

 private:
  struct L1Table {
    uint64_t offset = 0;
    uint32_t size = 0;  // entries
    std::string label;  // "active", "snapshot ID (NAME)" (escaped)
    bool active = false;
    bool walk = true;                 // false: (partly) past the end of the file
    uint64_t namings = 1;             // snapshots (and the active L1) naming this very table
    std::vector<std::string> sample;  // the first few of them
  };
  struct L2Use {
    uint64_t offset = 0;
    uint64_t named = 0;   // L1 entries naming it in all walked L1 tables
    uint64_t weight = 0;  // how often its clusters count: min(named, max(refcount, 1))
    uint32_t table = 0;   // the first naming: walked L1 table and its entry
    uint32_t index = 0;
    uint32_t active_copied = 0, active_plain = 0;  // active L1 entries naming it with / without OFLAG_COPIED
    uint32_t first_copied = 0, first_plain = 0;
  };
  struct BitmapTable {
    uint64_t offset = 0;
    uint32_t size = 0;
    std::string label;  // "bitmap 'NAME'" (escaped)
    uint64_t namings = 1;
  };
  struct Mismatch {
    uint64_t cluster, refcount, reference;
    bool overlap;
  };

  // MergeVisitor: qemu compare_refcounts and check_oflag_copied per cluster.
  void cluster(const ClusterRefs& c) override;
  void run(uint64_t first, uint64_t end, uint64_t refs, uint8_t cats) override;
  void mismatch(uint64_t cluster, uint64_t refcount, uint64_t refs, uint8_t cats);
  void emit_mismatches();

  // The walk (qcow2_check_walk.cpp). Pass::Count records references,
  // findings and statistics; Pass::Describe names the users of named_.
  void walk(Pass p);
  void plan_l1();
  void add_l1(uint64_t offset, uint32_t size, const std::string& label, bool active);
  bool claim(uint64_t offset, uint64_t bytes, const std::string& what);
  void walk_l1(Pass p, uint32_t t);
  void weigh_l2();
  void walk_l2(Pass p, const L2Use& u);
  void plan_bitmaps();
  void walk_bitmap(Pass p, const BitmapTable& b);
  std::string l2_label(const L2Use& u) const;
  // One reference to [offset, offset+bytes): recorded (Count) or described
  // (Describe); what lies past the end of the file (beyond `slack`) is a
  // PastEof finding.
  template <class What>
  void use(Pass p, uint64_t offset, uint64_t bytes, uint8_t cat, uint64_t weight, What&& what,
           uint64_t slack = 0);

  const Qcow2Image& img_;
  const Header& h_;
  const ByteSource& src_;
  const uint64_t cs_;
  const uint64_t file_clusters_;  // host clusters of the file, the last one maybe partial

  Findings findings_;
  std::unique_ptr<Refcounts> rc_;
  References refs_;
  Poll poll_;

  std::vector<L1Table> l1s_;  // distinct, pairwise disjoint, the active one first
  std::map<std::pair<uint64_t, uint32_t>, uint32_t> l1_by_place_;
  std::map<uint64_t, std::pair<uint64_t, std::string>>
      claimed_;                                       // walked L1/bitmap tables: start -> end, what
  std::unordered_map<uint64_t, L2Use> l2_by_offset_;  // while the L1 tables are read
  std::unordered_set<uint64_t> past_eof_l2_;          // reported, at most Findings::kMaxListed
  std::vector<L2Use> l2s_;                            // then, by offset
  std::vector<BitmapTable> bitmaps_;
  std::vector<std::byte> buf_;

  std::vector<Mismatch> mismatches_;
  std::map<uint64_t, std::vector<std::string>> named_;  // cluster -> its users (second pass)
  bool named_data_ = false, named_bitmap_data_ = false;
  uint64_t highest_ = 0;
  uint64_t allocated_ = 0, compressed_ = 0, fragmented_ = 0;
};

}  // namespace imgtool::qcow2::check
