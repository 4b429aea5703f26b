#pragma once
// A hosted sparse VMDK extent (KDMV): header (or footer copy when gdOffset is
// GD_AT_END), grain directory, lazily loaded grain tables, grain lookup and
// reads, including deflate-compressed grains with stream markers
// (streamOptimized). Thread-safe: tables and inflated grains sit in small
// mutex-guarded caches.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "formats/vmdk/vmdk_marker_walk.hpp"
#include "formats/vmdk/vmdk_sparse_header.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

namespace imgtool::vmdk {

class SparseExtent {
 public:
  // Parses and validates the extent in `src` (whose first bytes are "KDMV").
  // Errors carry src->name(). A streamOptimized extent (GD_AT_END, markers)
  // in a one-pass source is read through the marker walk instead of its
  // footer and tables (vmdk_marker_walk.hpp): streaming() is then true.
  explicit SparseExtent(std::shared_ptr<const ByteSource> src);

  // Read through the marker walk: no directory, no tables (directory() is
  // empty), lookups answer from the markers.
  bool streaming() const { return walk_ != nullptr; }

  const ByteSource& source() const { return *src_; }
  const std::shared_ptr<const ByteSource>& source_ptr() const { return src_; }
  const SparseHeader& primary_header() const { return primary_; }
  const SparseHeader& header() const { return hdr_; }  // the footer's copy when GD_AT_END
  const std::optional<Footer>& footer() const { return footer_; }
  const SparseGeometry& geometry() const { return geo_; }
  const std::vector<uint32_t>& directory() const { return gd_; }
  uint64_t size() const { return geo_.capacity_bytes; }
  uint64_t grain_count() const;

  struct Grain {
    ExtentKind kind = ExtentKind::Unallocated;
    uint64_t sector = 0;  // host sector of the grain (or its marker) when Data
  };
  // The grain table entry of grain `g`; throws Format when its grain table or
  // the grain lies past EOF.
  Grain lookup(uint64_t g) const;
  // Grain table `i` (numGTEsPerGT entries); nullptr when the GD entry is 0.
  std::shared_ptr<const std::vector<uint32_t>> table(uint64_t i) const;
  // Extent-relative map/read (offset < size()).
  Extent map(uint64_t offset, uint64_t max_len) const;
  void read(uint64_t offset, std::span<std::byte> out) const;
  // The decompressed bytes of compressed grain `g` stored at host `sector`.
  std::shared_ptr<const std::vector<std::byte>> inflate(uint64_t g, uint64_t sector) const;

 private:
  [[noreturn]] void fail(const std::string& msg, std::optional<uint64_t> off) const;
  uint64_t grain_need(uint64_t g) const;  // guest bytes grain g covers
  uint64_t file_size() const;             // UINT64_MAX: a one-pass stream not yet at its end

  std::shared_ptr<const ByteSource> src_;
  SparseHeader primary_;
  SparseHeader hdr_;
  std::optional<Footer> footer_;
  SparseGeometry geo_;
  std::vector<uint32_t> gd_;

  mutable std::mutex mu_;
  mutable std::unordered_map<uint64_t, std::shared_ptr<const std::vector<uint32_t>>> tables_;
  mutable std::vector<std::pair<uint64_t, std::shared_ptr<const std::vector<std::byte>>>> grains_;
  mutable size_t next_grain_slot_ = 0;
  std::unique_ptr<MarkerWalk> walk_;  // streaming() only
};

}  // namespace imgtool::vmdk
