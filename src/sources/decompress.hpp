#pragma once
// Transparent decompression: gzip (zlib), xz (liblzma), bzip2 (libbz2) and
// zstd (libzstd), detected from the first bytes, never from a name.
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "imgtool/stream.hpp"

namespace imgtool::sources {

enum class Compression : uint8_t { None, Gzip, Xz, Bzip2, Zstd };

// From the magic bytes at the start of a stream (at least 6 bytes for a
// certain answer; fewer: None).
Compression sniff_compression(std::span<const std::byte> head) noexcept;
std::string_view compression_name(Compression c) noexcept;  // "gzip", "xz", "bzip2", "zstd", "none"

// The decompressed bytes of `inner`. Concatenated members/streams/frames are
// read as one (as gzip -d, xz -d and zstd -d do). A corrupt or truncated
// stream throws Error(Format) naming inner's name and the compressed offset;
// trailing bytes that are not another member are Error(Format). The
// decompressor's memory is bounded (xz: a memory limit; zstd: window limit).
std::unique_ptr<ByteStream> decompress_stream(Compression c, std::unique_ptr<ByteStream> inner);

}  // namespace imgtool::sources
