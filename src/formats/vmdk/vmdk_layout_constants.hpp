#pragma once
// The on-disk layout of a hosted sparse VMDK extent (VMDK4, "KDMV"), in one
// place for the reader (vmdk_sparse_header.cpp parses it), the checker and
// the writers (vmdk_sparse_header.cpp encodes it): magic, flags, field
// offsets of the 512-byte header, marker layout, and the values VMware and
// qemu write. Little-endian, packed; sources: open-vmdk vmdk/vmware_vmdk.h
// (SparseExtentHeaderOnDisk, SPARSEFLAG_*, GRAIN_MARKER_*), VMware "Virtual
// Disk Format 5.0", qemu block/vmdk.c (VMDK4Header, vmdk_init_extent).
#include <cstdint>

namespace imgtool::vmdk {

inline constexpr uint64_t kSector = 512;

// le32 at offset 0. "KDMV" (VMDK4 hosted sparse) and "COWD" (VMDK3 / vmfsSparse).
inline constexpr uint32_t kMagic = 0x564d444b;      // 'K' 'D' 'M' 'V'
inline constexpr uint32_t kCowdMagic = 0x44574f43;  // 'C' 'O' 'W' 'D'

// SparseExtentHeaderOnDisk field offsets (packed).
namespace hdr {
inline constexpr uint64_t kMagic = 0;               // u32
inline constexpr uint64_t kVersion = 4;             // u32: 1; 2 = zeroed-grain GTEs; 3 = compressed/markers
inline constexpr uint64_t kFlags = 8;               // u32: kFlag*
inline constexpr uint64_t kCapacity = 12;           // u64: sectors
inline constexpr uint64_t kGrainSize = 20;          // u64: sectors
inline constexpr uint64_t kDescriptorOffset = 28;   // u64: sectors
inline constexpr uint64_t kDescriptorSize = 36;     // u64: sectors
inline constexpr uint64_t kNumGtesPerGt = 44;       // u32
inline constexpr uint64_t kRgdOffset = 48;          // u64: sectors
inline constexpr uint64_t kGdOffset = 56;           // u64: sectors, or kGdAtEnd
inline constexpr uint64_t kOverhead = 64;           // u64: sectors before the first grain
inline constexpr uint64_t kUncleanShutdown = 72;    // u8
inline constexpr uint64_t kNewlineTest = 73;        // 4 chars: kNewlineTestBytes
inline constexpr uint64_t kCompressAlgorithm = 77;  // u16: kCompressDeflate
}  // namespace hdr

// The four characters at hdr::kNewlineTest that flag bit 0 promises: a file
// that went through a text-mode transfer has them mangled.
inline constexpr char kNewlineTestBytes[4] = {'\n', ' ', '\r', '\n'};

// hdr::kVersion values: 1; 2 when GTEs may be kGteZeroed; 3 for compressed
// (stream-optimized) extents, as qemu and open-vmdk write them.
inline constexpr uint32_t kVersionSparse = 1;
inline constexpr uint32_t kVersionZeroedGrain = 2;
inline constexpr uint32_t kVersionCompressed = 3;
inline constexpr uint32_t kMaxVersion = kVersionCompressed;

// Header flags (SPARSEFLAG_*).
inline constexpr uint32_t kFlagNlDetect = 1u << 0;
inline constexpr uint32_t kFlagRgd = 1u << 1;        // redundant grain directory present
inline constexpr uint32_t kFlagZeroGrain = 1u << 2;  // GTE == kGteZeroed means "zeroed grain"
inline constexpr uint32_t kFlagCompressed = 1u << 16;
inline constexpr uint32_t kFlagMarkers = 1u << 17;

inline constexpr uint16_t kCompressDeflate = 1;     // compressAlgorithm
inline constexpr uint64_t kGdAtEnd = ~uint64_t{0};  // gdOffset: "read the footer"

// Grain directory and grain table entries: u32 sector numbers, so nothing a
// table points at lies beyond 2^32 sectors (2 TiB).
inline constexpr uint64_t kTableEntryBytes = 4;
inline constexpr uint64_t kMaxEntrySector = 0xFFFFFFFFu;
inline constexpr uint32_t kGteZeroed = 1;  // with kFlagZeroGrain

// What VMware and qemu write: 64 KiB grains, 512 GTEs per GT (32 MiB of guest
// data per GT; the only numGTEsPerGT disklib supports), the descriptor in
// the 20 sectors after the header (qemu's DESC_SIZE; Glance requires 0x200).
inline constexpr uint64_t kDefaultGrainSectors = 128;
inline constexpr uint32_t kGtesPerGt = 512;
inline constexpr uint64_t kDescriptorSector = 1;
inline constexpr uint64_t kDescriptorSectors = 20;
// Descriptor parentCID of a disk without a parent.
inline constexpr uint32_t kNoParentCid = 0xffffffffu;

// Stream markers (VMware "Stream-Optimized Compressed Sparse Extents"): a
// grain marker is {u64 lba, u32 size, data}; a special marker is {u64 val,
// u32 size = 0, u32 type} padded to a sector.
namespace marker {
inline constexpr uint64_t kVal = 0;    // u64: lba of a grain marker; sectors that follow a special one
inline constexpr uint64_t kSize = 8;   // u32: compressed bytes (0 = special marker)
inline constexpr uint64_t kType = 12;  // u32: special markers only
inline constexpr uint64_t kGrainHeaderBytes = 12;    // lba + size, then the zlib stream
inline constexpr uint64_t kSpecialHeaderBytes = 16;  // val + size + type, then zero padding
}  // namespace marker
enum MarkerType : uint32_t { kMarkerEos = 0, kMarkerGt = 1, kMarkerGd = 2, kMarkerFooter = 3 };

// VMDK3 ("COWD") is detected, never read: only its size is reported.
namespace cowd {
inline constexpr uint64_t kCapacity = 12;     // u32: sectors
inline constexpr uint64_t kHeaderBytes = 16;  // what imgtool reads of it
}  // namespace cowd

// The stream-optimized footer: the last three sectors are the footer marker,
// a header copy (with the real gdOffset) and the end-of-stream marker.
namespace footer {
inline constexpr uint64_t kMarkerSector = 0;
inline constexpr uint64_t kHeaderSector = 1;
inline constexpr uint64_t kEosSector = 2;
}  // namespace footer
inline constexpr uint64_t kFooterSectors = 3;

}  // namespace imgtool::vmdk
