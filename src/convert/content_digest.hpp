#pragma once
// The digest of a conversion's guest data, from which writers derive the
// identifiers they stamp into their output (vmdk's CID and longContentID).
// An identifier taken from the clock or a random number would make two
// conversions of the same source differ, and with them Glance's
// os_hash_value of a re-published image; one derived from the data keeps the
// output a function of the source and the options (docs/convert.md,
// "Deterministic output").
//
// Definition (version 1): SHA-256 of
//   "imgtool-content-v1" || LE64(virtual size) ||
//   for each data cluster the pipeline hands to the writer, in guest order:
//     LE64(guest offset) || LE64(length) || SHA-256(the cluster's bytes)
// The per-cluster digests are computed by the worker threads (cluster_digest,
// pure); only the short records are hashed in order on the consumer thread.
// Which clusters are data depends only on the source and -S, so a plan pass
// and a copy pass over the same source give the same digest.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace imgtool::convert {

using ClusterDigest = std::array<std::byte, 32>;
using ContentDigest = std::array<std::byte, 32>;

// SHA-256 of one cluster's bytes. Thread-safe.
ClusterDigest cluster_digest(std::span<const std::byte> data);

class ContentHasher {
 public:
  explicit ContentHasher(uint64_t virtual_size);
  ~ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;
  // The next data cluster in guest order.
  void add(uint64_t guest_offset, uint64_t length, const ClusterDigest& d);
  // The digest; the hasher cannot be used afterwards.
  ContentDigest finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace imgtool::convert
