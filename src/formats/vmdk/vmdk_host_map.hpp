#pragma once
// Which host bytes of one sparse extent file the grain tables and grains use,
// to find overlaps exactly (LLVM MachOObjectFile checkOverlappingElement:
// name both parties). Memory follows the tables and grains present, never the
// file size: a run of spans that are adjacent on the host, of equal size and
// consecutive in the guest (the grains qemu and VMware write, tables laid out
// back to back) is one 16-byte record, however long. A hostile table that
// points many entries at the same sectors is bounded too: spans start on
// sector boundaries, so disjoint spans inside the file claim at most as many
// sectors as the file has; the map records up to twice that (plus some slack
// for small files), which no valid file reaches, then stops: by then the
// overlaps are certain and many of them named.
#include <cstdint>
#include <functional>
#include <vector>

#include "formats/vmdk/vmdk_layout_constants.hpp"

namespace imgtool::vmdk {

class HostMap {
 public:
  // Keys name spans for the caller (a grain number, a table number with a
  // flag bit); they must be unique and below kKeyLimit. Units are span
  // lengths in bytes, 1..kUnitLimit-1.
  static constexpr uint64_t kKeyLimit = uint64_t{1} << 40;
  static constexpr uint64_t kUnitLimit = uint64_t{1} << 24;

  // Every span added lies inside a file of `file_size` bytes (callers check).
  explicit HostMap(uint64_t file_size);

  // Records the span [sector * kSector, + unit) named `key`. It extends the last
  // run when it starts where that run ends, has its unit, and its key is the
  // next one. Returns false, recording nothing, once the spans would claim
  // more than limit_sectors() (the map is then saturated).
  bool add(uint32_t sector, uint64_t unit, uint64_t key);
  bool saturated() const { return saturated_; }
  uint64_t file_sectors() const { return file_sectors_; }
  uint64_t limit_sectors() const { return limit_sectors_; }

  struct Overlap {
    uint64_t key = 0;          // the span that starts later (equal starts: the larger key)
    uint64_t start = 0;        // its host offset
    uint64_t other_key = 0;    // the span it runs into
    uint64_t other_start = 0;  // that span's host offset
  };
  // Sorts the spans by host offset and reports every span that overlaps one
  // starting before it, naming the one reaching furthest. Every overlapping
  // pair is reported at least once. Polls for interruption.
  void sweep(const std::function<void(const Overlap&)>& report);

 private:
  struct Run {
    uint32_t sector = 0;  // host sector of the first span
    uint32_t count = 0;   // spans in the run
    uint64_t packed = 0;  // key of the first span (bits 0..39), unit (bits 40..63)
    uint64_t key() const { return packed & (kKeyLimit - 1); }
    uint64_t unit() const { return packed >> 40; }
    uint64_t start() const { return uint64_t{sector} * kSector; }
    uint64_t end() const { return start() + uint64_t{count} * unit(); }
  };
  static_assert(sizeof(Run) == 16);

  std::vector<Run> runs_;
  uint64_t file_sectors_ = 0;
  uint64_t limit_sectors_ = 0;
  uint64_t claimed_sectors_ = 0;
  bool saturated_ = false;
};

}  // namespace imgtool::vmdk
