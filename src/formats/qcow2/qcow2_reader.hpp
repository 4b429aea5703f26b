#pragma once
// The qcow2 Image: open parses only the header, extensions, snapshot table and
// bitmap directory (info never walks tables); the L1 table is read on first
// use; L2 tables go through a bounded LRU cache. map()/read() are const and
// thread-safe (mutex-guarded cache, per-call buffers and decompressors).
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "formats/qcow2/qcow2_header.hpp"
#include "formats/qcow2/qcow2_tables.hpp"
#include "imgtool/image.hpp"

namespace imgtool::formats {
class Gate;
}

namespace imgtool::qcow2 {

// One run of guest bytes with the same meaning; what the convert engine may
// want beyond Extent: where a Data run lives in the host file.
struct Run {
  ExtentKind kind = ExtentKind::Unallocated;
  bool compressed = false;
  uint64_t length = 0;
  uint64_t host_offset = 0;  // Data, not compressed: host offset of the first byte (contiguous run)
  uint64_t l2_entry = 0;     // compressed: the descriptor of the (single) cluster
};

class Qcow2Image final : public Image {
 public:
  // The external data file, if any, is asked of `gate` (and read only if it admits it).
  Qcow2Image(std::shared_ptr<const ByteSource> src, formats::Gate& gate);

  const ImageInfo& info() const override { return info_; }
  Extent map(uint64_t offset, uint64_t max_len) const override;
  void read(uint64_t offset, std::span<std::byte> out) const override;
  CheckReport check() const override;
  BlockStatus block_status(uint64_t offset, uint64_t max_len) const override;  // qcow2_block_status.cpp

  // For the check pass and future convert fast paths.
  const Header& header() const { return h_; }
  const ByteSource& source() const { return *src_; }
  const std::vector<Snapshot>& snapshots() const { return snapshots_; }
  uint64_t snapshot_table_bytes() const { return snapshot_table_bytes_; }
  const std::vector<BitmapEntry>& bitmaps() const { return bitmaps_; }
  // The active L1 table (read once, on first use).
  const std::vector<uint64_t>& l1() const;
  // `host_contiguous`: stop a Data run where the host offsets jump, and never
  // merge compressed clusters (what read() needs); otherwise merge by kind only.
  Run resolve(uint64_t offset, uint64_t max_len, bool host_contiguous) const;

 private:
  std::shared_ptr<const L2Table> l2_table(uint64_t l2_offset, uint64_t l1_index) const;
  void read_data(uint64_t guest, uint64_t host, std::span<std::byte> out) const;
  void read_compressed(uint64_t guest, uint64_t l2_entry, std::span<std::byte> out) const;

  std::shared_ptr<const ByteSource> src_;
  std::shared_ptr<const ByteSource> data_src_;  // external data file (only when the gate opened it)
  Header h_;
  std::vector<Snapshot> snapshots_;
  uint64_t snapshot_table_bytes_ = 0;
  std::vector<BitmapEntry> bitmaps_;
  ImageInfo info_;

  // qemu qcow2_detect_metadata_preallocation, asked once by block_status().
  bool metadata_preallocated() const;
  mutable std::once_flag prealloc_once_;
  mutable bool metadata_prealloc_ = false;  // written once under prealloc_once_

  mutable std::once_flag l1_once_;
  mutable std::vector<uint64_t> l1_;  // written once under l1_once_, read-only after

  // L2 cache: bounded by bytes; LRU order in lru_ (front = newest).
  mutable std::mutex cache_mu_;
  mutable std::list<uint64_t> lru_;
  struct CacheSlot {
    std::shared_ptr<const L2Table> table;
    std::list<uint64_t>::iterator pos;
  };
  mutable std::unordered_map<uint64_t, CacheSlot> cache_;
  size_t cache_capacity_ = 1;
};

// Builds ImageInfo from the parsed metadata (qcow2_info.cpp).
ImageInfo build_info(const ByteSource& src, const Header& h, const std::vector<Snapshot>& snapshots,
                     const std::vector<BitmapEntry>& bitmaps);
// The metadata walk behind check() (qcow2_check.cpp).
CheckReport run_check(const Qcow2Image& img);

}  // namespace imgtool::qcow2
