#pragma once
// Decompression of one qcow2 compressed cluster (zlib raw deflate or zstd).
#include <cstddef>
#include <cstdint>
#include <span>

namespace imgtool::qcow2 {

// Fills `out` (exactly one cluster) from `in`; false when the data is not a
// valid stream for `compression_type` (0 zlib, 1 zstd) or does not decode to
// exactly out.size() bytes. The caller turns false into an Error naming offsets.
// `used`, when given, is set to the bytes of `in` the stream took: what a
// one-pass reader may release (the next compressed cluster may start right
// after them, inside the last 512-byte sector of this one's stored size).
bool decompress_cluster(uint8_t compression_type, std::span<const std::byte> in, std::span<std::byte> out,
                        size_t* used = nullptr);

}  // namespace imgtool::qcow2
