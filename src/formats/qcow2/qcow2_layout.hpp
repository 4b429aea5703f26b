#pragma once
// The qcow2 on-disk layout shared by the reader (qcow2_header.cpp, ...) and
// the writer (qcow2_writer_meta.cpp, qcow2_writer.cpp, qcow2_compress.cpp):
// header field offsets, extension types, compression types and the
// compressed cluster descriptor, so that no offset or magic is written twice
// (qemu docs/interop/qcow2.txt "Header"; big-endian). Feature bits and caps
// are in qcow2_header.hpp, table entry flags in qcow2_tables.hpp.
#include <cstdint>

namespace imgtool::qcow2 {

inline constexpr uint32_t kMagic = 0x514649fb;  // "QFI\xfb"

// clang-format off
namespace hdr {
inline constexpr uint64_t kMagic = 0;                    // u32
inline constexpr uint64_t kVersion = 4;                  // u32: 2 or 3
inline constexpr uint64_t kBackingFileOffset = 8;        // u64
inline constexpr uint64_t kBackingFileSize = 16;         // u32
inline constexpr uint64_t kClusterBits = 20;             // u32
inline constexpr uint64_t kSize = 24;                    // u64: virtual size in bytes
inline constexpr uint64_t kCryptMethod = 32;             // u32: 0 none, 1 AES, 2 LUKS
inline constexpr uint64_t kL1Size = 36;                  // u32: entries
inline constexpr uint64_t kL1TableOffset = 40;           // u64
inline constexpr uint64_t kRefcountTableOffset = 48;     // u64
inline constexpr uint64_t kRefcountTableClusters = 56;   // u32
inline constexpr uint64_t kNbSnapshots = 60;             // u32
inline constexpr uint64_t kSnapshotsOffset = 64;         // u64
inline constexpr uint64_t kV2Length = 72;                // a version 2 header ends here
inline constexpr uint64_t kIncompatibleFeatures = 72;    // u64 (v3)
inline constexpr uint64_t kCompatibleFeatures = 80;      // u64 (v3)
inline constexpr uint64_t kAutoclearFeatures = 88;       // u64 (v3)
inline constexpr uint64_t kRefcountOrder = 96;           // u32 (v3)
inline constexpr uint64_t kHeaderLength = 100;           // u32 (v3)
inline constexpr uint64_t kV3MinLength = 104;            // the smallest version 3 header
inline constexpr uint64_t kCompressionType = 104;        // u8 (v3, header_length > 104)
inline constexpr uint64_t kV3Length = 112;               // what qemu writes: 104 + compression type + padding
}  // namespace hdr
// clang-format on

// hdr::kRefcountOrder: refcounts are 1 to 64 bits wide.
inline constexpr uint32_t kMaxRefcountOrder = 6;

// Header extensions: {u32 type, u32 length, data padded to 8}.
namespace ext {
inline constexpr uint32_t kEnd = 0;
inline constexpr uint32_t kBackingFormat = 0xe2792aca;
inline constexpr uint32_t kFeatureTable = 0x6803f857;
inline constexpr uint32_t kBitmaps = 0x23852875;
inline constexpr uint32_t kCryptoHeader = 0x0537be77;
inline constexpr uint32_t kDataFile = 0x44415441;
}  // namespace ext

// Table entries: u64 each (standard L2; extended L2 entries are two u64).
inline constexpr uint64_t kL1EntryBytes = 8;
inline constexpr uint64_t kL2EntryBytes = 8;
inline constexpr uint64_t kReftableEntryBytes = 8;

// qemu's BDRV_SECTOR_SIZE: virtual sizes are whole sectors, and compressed
// cluster descriptors count their size in sectors.
inline constexpr uint64_t kSector = 512;

// hdr::kCompressionType values.
inline constexpr uint8_t kCompressionZlib = 0;  // raw deflate (no zlib header), 4 KiB window
inline constexpr uint8_t kCompressionZstd = 1;
// zlib's windowBits for qcow2's raw deflate (qemu qcow2-threads.c: -12).
inline constexpr int kDeflateWindowBits = -12;

// qcow2.txt "Compressed Clusters Descriptor": bits 0..x-1 hold the host
// offset, bits x..61 the number of additional kSector sectors, where
// x = 62 - (cluster_bits - 8).
inline constexpr unsigned compressed_offset_bits(uint32_t cluster_bits) {
  return 62 - (cluster_bits - 8);
}

}  // namespace imgtool::qcow2
