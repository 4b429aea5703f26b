#pragma once
// Page-aligned fixed-size buffers for MultiHasher: file data is read straight
// into them (aligned pread of whole chunks) and they are shared read-only by
// the digest threads (shared_ptr<const Chunk>), then recycled.
#include <cstddef>
#include <memory>
#include <new>

namespace imgtool::hash {

inline constexpr size_t kChunkAlign = 4096;

// Owns `n` bytes aligned to kChunkAlign (aligned operator new/delete pair,
// wrapped so nothing is freed by hand).
struct AlignedDelete {
  void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{kChunkAlign}); }
};
using AlignedBytes = std::unique_ptr<std::byte[], AlignedDelete>;

inline AlignedBytes make_aligned_bytes(size_t n) {
  return AlignedBytes(static_cast<std::byte*>(::operator new[](n, std::align_val_t{kChunkAlign})));
}

struct Chunk {
  AlignedBytes storage;             // null for the shared zero chunk
  const std::byte* data = nullptr;  // storage.get() or the static zeros
  size_t size = 0;                  // bytes in use (<= capacity)
};

}  // namespace imgtool::hash
