#pragma once
// One-pass reading of a streamOptimized vmdk: its grain directory and grain
// tables come at the end of the file (gdOffset GD_AT_END, the footer names
// them), so a reader that starts with them reads the whole stream first. The
// marker walk goes the other way: from the first marker after the header to
// the end-of-stream marker, each grain marker naming the guest LBA of its
// grain. It walks only as far as a question needs (qemu-img and VMware write
// the grains in guest order), and answers "no grain" for a grain once a later
// one went by. A grain that arrives after it was answered that way means the
// stream is not in guest order: Error(Unsupported), never wrong data. The
// tables and the footer are checked against the image afterwards (the
// deferred check, verdict.hpp).
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "formats/vmdk/vmdk_sparse_header.hpp"
#include "imgtool/source.hpp"

namespace imgtool::vmdk {

class MarkerWalk {
 public:
  // `h` is the primary header (grains start at its overHead).
  MarkerWalk(const ByteSource& src, const SparseHeader& h, const SparseGeometry& g);

  // The host sector of grain `g`'s marker; nullopt: the stream has no grain
  // for it. Throws Format for a malformed marker, a grain named twice, a
  // stream that ends without an end-of-stream marker; Unsupported for a grain
  // that arrives after it was answered nullopt. Thread-safe.
  std::optional<uint64_t> find(uint64_t g);

 private:
  bool step();  // parses the marker at pos_; false at the end of the stream
  [[noreturn]] void fail(const std::string& msg, uint64_t off) const;

  const ByteSource& src_;
  const SparseHeader h_;
  const SparseGeometry geo_;
  const uint64_t grains_;  // grains the capacity holds

  std::mutex mu_;
  uint64_t pos_;  // host offset of the next marker
  bool ended_ = false;
  std::optional<uint64_t> max_seen_;                // highest grain seen
  std::optional<uint64_t> answered_none_;           // highest grain answered "no grain"
  std::unordered_map<uint64_t, uint64_t> sectors_;  // grain -> host sector of its marker
};

}  // namespace imgtool::vmdk
