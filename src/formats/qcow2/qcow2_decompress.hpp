#pragma once
// Decompression of one qcow2 compressed cluster (zlib raw deflate or zstd).
#include <cstddef>
#include <cstdint>
#include <span>

namespace imgtool::qcow2 {

// Fills `out` (exactly one cluster) from `in`; false when the data is not a
// valid stream for `compression_type` (0 zlib, 1 zstd) or does not decode to
// exactly out.size() bytes. The caller turns false into an Error naming offsets.
bool decompress_cluster(uint8_t compression_type, std::span<const std::byte> in, std::span<std::byte> out);

}  // namespace imgtool::qcow2
