#pragma once
// VMDK hosted sparse extent ("KDMV", VMDK4) on-disk structures: the 512-byte
// header, stream markers and the stream-optimized footer, parsed for the
// reader and encoded for the writers with the same field offsets
// (vmdk_layout_constants.hpp). Parsed field by field with io::load_le*; never
// cast.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "formats/vmdk/vmdk_layout_constants.hpp"
#include "imgtool/source.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {

// Caps, checked before anything is allocated: qemu refuses more than 512
// GTEs per GT ("L2 table size too big"); grains are a power of two up to
// 1 MiB (VMware and qemu write 64 KiB; open-vmdk accepts at most 128
// sectors); qemu caps the L1 (GD) at 32 Mi entries.
inline constexpr uint32_t kMaxGtesPerGt = kGtesPerGt;
inline constexpr uint64_t kMaxGrainSectors = 2048;
inline constexpr uint64_t kMaxGdEntries = uint64_t{32} << 20;
// qemu vmdk_read_desc: "avoid unbounded allocation".
inline constexpr uint64_t kMaxDescriptorBytes = (uint64_t{1} << 20) - 1;
// qemu reads CID/parentCID/parentFileNameHint from DESC_SIZE bytes at 0x200.
inline constexpr uint64_t kQemuDescOffset = kDescriptorSector * kSector;
inline constexpr uint64_t kQemuDescBytes = kDescriptorSectors * kSector;

using Sector = std::array<std::byte, kSector>;

bool is_kdmv_magic(io::Bytes b) noexcept;  // "KDMV" at 0
bool is_cowd_magic(io::Bytes b) noexcept;  // "COWD" at 0 (VMDK3 / vmfsSparse)

struct SparseHeader {
  uint32_t magic = kMagic;  // le32 at 0
  uint32_t version = 0;
  uint32_t flags = 0;
  uint64_t capacity = 0;     // sectors
  uint64_t grain_size = 0;   // sectors
  uint64_t desc_offset = 0;  // sectors
  uint64_t desc_size = 0;    // sectors
  uint32_t num_gtes_per_gt = 0;
  uint64_t rgd_offset = 0;  // sectors
  uint64_t gd_offset = 0;   // sectors, or kGdAtEnd
  uint64_t overhead = 0;    // sectors (qemu: grain_offset)
  uint8_t unclean_shutdown = 0;
  uint16_t compress_algorithm = 0;

  bool compressed() const { return compress_algorithm == kCompressDeflate; }
  bool has_markers() const { return (flags & kFlagMarkers) != 0; }
  bool has_zero_grain() const { return (flags & kFlagZeroGrain) != 0; }
};

// Parses the 512-byte header at the start of `sector` (throws Format when short).
SparseHeader parse_sparse_header(io::Bytes sector);
// The 512-byte header the writers emit: every field of `h` at the offsets
// parse_sparse_header() reads, the newline-test bytes, zeros elsewhere.
Sector encode_sparse_header(const SparseHeader& h);

// A special stream marker: {u64 val, u32 size (0), u32 type, pad to 512}.
struct Marker {
  uint64_t val = 0;
  uint32_t size = 0;
  uint32_t type = 0;
  bool pad_zero = false;  // the remaining 496 bytes are zero
};
Marker parse_marker(io::Bytes sector);
// A special marker {val, size 0, type} padded with zeros to a sector.
Sector encode_marker(uint64_t val, uint32_t type);

// The head of a grain marker: {u64 lba, u32 size} before `size` bytes of zlib
// stream. lba is the extent-relative guest sector of the grain.
struct GrainMarker {
  uint64_t lba = 0;
  uint32_t size = 0;
};
GrainMarker parse_grain_marker(io::Bytes head);  // needs marker::kGrainHeaderBytes
void encode_grain_marker(std::span<std::byte> head, const GrainMarker& m);

// The stream-optimized footer: the last 1536 bytes are footer marker, a header
// copy (with the real gdOffset) and the end-of-stream marker.
struct Footer {
  uint64_t offset = 0;  // file offset of the footer marker
  Marker footer_marker;
  SparseHeader header;
  Marker eos;
};
// Reads and sanity-checks the footer as qemu's vmdk_open_vmdk4 does (magic,
// marker types/sizes); throws Format "invalid footer ..." naming what differs.
Footer read_footer(const ByteSource& src);

// Geometry derived from a header after validation.
struct SparseGeometry {
  uint64_t capacity_bytes = 0;
  uint64_t grain_bytes = 0;
  uint64_t gt_entries = 0;   // numGTEsPerGT
  uint64_t gt_bytes = 0;     // gt_entries * 4
  uint64_t gt_coverage = 0;  // guest bytes one GT maps
  uint64_t gd_entries = 0;
  uint64_t gd_offset_bytes = 0;
  uint64_t rgd_offset_bytes = 0;  // 0 = none
};

// The most compressed bytes one grain may take: qemu reads at most two
// grains' worth (vmdk_read_extent).
inline uint64_t max_compressed_grain_bytes(const SparseGeometry& g) {
  return 2 * g.grain_bytes;
}

// Checks every field qemu and imgtool's caps care about against `file_size`
// and returns the geometry; throws Format/Unsupported with value and limit.
// `gd_at_end_unread`: the header is the primary one of a streamOptimized
// image read front to back (marker walk, vmdk_marker_walk.hpp): its gdOffset
// is GD_AT_END and the directory is not checked (the deferred check opens the
// image again through its footer).
SparseGeometry validate_sparse_header(const SparseHeader& h, uint64_t file_size,
                                      bool gd_at_end_unread = false);

}  // namespace imgtool::vmdk
