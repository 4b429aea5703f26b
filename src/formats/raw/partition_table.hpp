#pragma once
// Partition tables inside raw images: MBR (IBM PC partition table) and GPT
// (UEFI 2.10 §5). Used by the raw driver (ImageInfo.extra "partition-table")
// and by `check`, which reports Glance's "mbr" safety check as findings.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/raw/raw_layout.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

namespace imgtool::formats {

struct PartitionEntry {
  unsigned index = 0;      // MBR slot 0-3, GPT entry number (0-based)
  std::string type;        // MBR: "0x83"; GPT: partition type GUID, upper case
  uint64_t start_lba = 0;  // in raw::kSector sectors (GPT: logical blocks of `sector_size`)
  uint64_t sectors = 0;
  bool bootable = false;  // MBR boot flag 0x80
};

struct PartitionTable {
  std::string kind;                        // "gpt", "mbr" or "" (none)
  uint32_t sector_size = raw::kSector;     // GPT header found at LBA 1 of this block size
  std::vector<PartitionEntry> partitions;  // non-empty entries only, at most kMaxListed
};

inline constexpr size_t kMaxListedPartitions = 128;

// "gpt", "mbr" or "" (no table, or a FAT/other boot sector rather than a table).
std::string detect_partition_table(const ByteSource& src);

// The table and its non-empty entries. Never throws on bad table contents
// (a damaged GPT falls back to its protective MBR view); throws Error(Io) only
// when the source cannot be read.
PartitionTable read_partition_table(const ByteSource& src);

// Glance's "mbr" safety check (oslo.utils format_inspector GPTInspector,
// applied whenever bytes 510-511 are 0x55AA and sector 0 is not a FAT boot
// sector), as data: boot flag ∈ {0x00, 0x80}; a 0xEE (GPT protective) entry
// starts at CHS (0,2,0) and LBA 1 and is the only entry, in slot 0; at least
// one entry is used. Each failure is an Unsafe finding naming the check.
// Also reports partitions that end past the end of the image (Corruption).
std::vector<Finding> partition_table_findings(const ByteSource& src);

// Glance's "gpt" inspector match: MBR signature and not a FAT volume boot
// record (num_fats == 2 && media descriptor 0xF8). Pure, for the ambiguity check.
bool glance_gpt_match(std::span<const std::byte> sector0) noexcept;

}  // namespace imgtool::formats
