// MBR and GPT partition tables of raw images. References: the IBM PC MBR
// layout (446: four 16-byte entries, 510: 0x55 0xAA), UEFI 2.10 §5.2.3
// (protective MBR: one 0xEE entry, start CHS 0/2/0, start LBA 1) and §5.3.2
// (GPT header "EFI PART" at LBA 1: entry array LBA u64 at 72, entry count u32
// at 80, entry size u32 at 84), and Glance's GPTInspector (oslo.utils
// imageutils/format_inspector.py) for the FAT exclusion and the "mbr" check.
#include "formats/raw/partition_table.hpp"

#include <optional>

#include "formats/detect_util.hpp"
#include "formats/raw/raw_layout.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

constexpr size_t kMbrBytes = raw::kSector;
constexpr size_t kEntries = 446, kEntrySize = 16;
constexpr unsigned kEntryCount = 4;
constexpr uint8_t kBootInactive = 0x00, kBootActive = 0x80;
constexpr size_t kSignatureAt = kMbrBytes - 2;  // 0x55 0xAA
constexpr uint64_t kGptHeaderBytes = 92;        // UEFI 2.10 table 5-5: HeaderSize
constexpr uint8_t kTypeProtective = 0xEE;
constexpr uint32_t kGptMaxEntrySize = 4096, kGptMinEntrySize = 128;
constexpr uint64_t kGptMaxArrayBytes = 1024 * 1024;  // 8192 entries of 128 B: far above the usual 128

struct MbrEntry {
  uint8_t boot, chs_head, chs_sector, chs_cyl, type;
  uint32_t start_lba, sectors;
};

MbrEntry mbr_entry(io::Bytes s0, unsigned i) {
  const size_t e = kEntries + i * kEntrySize;
  return {io::load_u8(s0, e),     io::load_u8(s0, e + 1),   io::load_u8(s0, e + 2),   io::load_u8(s0, e + 3),
          io::load_u8(s0, e + 4), io::load_le32(s0, e + 8), io::load_le32(s0, e + 12)};
}

bool has_signature(io::Bytes s0) noexcept {
  return s0.size() >= kMbrBytes && s0[kSignatureAt] == std::byte{0x55} &&
         s0[kSignatureAt + 1] == std::byte{0xAA};
}

// The bytes the source can reach: its size, or (a stream whose end has not
// been seen) as far as it goes; a short stream then fails the read itself.
uint64_t reachable(const ByteSource& src) {
  return src.known_size().value_or(UINT64_MAX);
}

// `len` bytes at `off`, or none when the source ends before them.
std::vector<std::byte> read_if_there(const ByteSource& src, uint64_t off, uint64_t len) {
  uint64_t end;
  if (io::add_overflows(off, len, &end) || end > reachable(src)) return {};
  if (src.known_size()) return src.read_vector(off, len);
  try {
    return src.read_vector(off, len);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Format) throw;
    return {};  // the stream ended first
  }
}

std::vector<std::byte> sector0(const ByteSource& src) {
  return read_if_there(src, 0, kMbrBytes);
}

// The GPT header block size (512 or 4096) when "EFI PART" is at LBA 1.
std::optional<uint32_t> gpt_sector_size(const ByteSource& src) {
  for (uint32_t ss : {uint32_t{raw::kSector}, 4096u}) {
    const std::vector<std::byte> m = read_if_there(src, ss, kGptHeaderBytes);
    if (!m.empty() && has_magic(m, 0, "EFI PART")) return ss;
  }
  return std::nullopt;
}

bool has_protective_entry(io::Bytes s0) {
  for (unsigned i = 0; i < kEntryCount; ++i)
    if (mbr_entry(s0, i).type == kTypeProtective) return true;
  return false;
}

std::string hex2(uint8_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[v >> 4] + kHex[v & 15];
}

// GPT entries; an implausible header yields no entries (the kind stays "gpt").
void read_gpt_entries(const ByteSource& src, uint32_t ss, PartitionTable& t) {
  std::vector<std::byte> h = src.read_vector(ss, kGptHeaderBytes);
  const uint64_t lba = io::load_le64(h, 72);
  const uint32_t count = io::load_le32(h, 80), esize = io::load_le32(h, 84);
  if (esize < kGptMinEntrySize || esize > kGptMaxEntrySize || esize % 8 != 0) return;
  uint64_t bytes, off, end;
  if (io::mul_overflows(count, esize, &bytes) || bytes > kGptMaxArrayBytes) return;
  if (io::mul_overflows(lba, ss, &off) || io::add_overflows(off, bytes, &end) || end > reachable(src)) return;
  std::vector<std::byte> a = read_if_there(src, off, bytes);
  if (a.size() != bytes) return;
  for (uint32_t i = 0; i < count && t.partitions.size() < kMaxListedPartitions; ++i) {
    io::Bytes e = io::Bytes(a).subspan(size_t(i) * esize, esize);
    if (io::all_zero(e.subspan(0, 16))) continue;  // unused entry
    const uint64_t first = io::load_le64(e, 32), last = io::load_le64(e, 40);
    t.partitions.push_back({i, guid_to_string(e, 0), first, last >= first ? last - first + 1 : 0, false});
  }
}

}  // namespace

bool glance_gpt_match(std::span<const std::byte> s0) noexcept {
  if (!has_signature(s0)) return false;
  const bool fat = s0[0x10] == std::byte{2} && s0[0x15] == std::byte{0xF8};
  return !fat;
}

PartitionTable read_partition_table(const ByteSource& src) {
  PartitionTable t;
  std::vector<std::byte> s0 = sector0(src);
  if (!has_signature(s0)) return t;
  if (has_protective_entry(s0)) {
    if (std::optional<uint32_t> ss = gpt_sector_size(src)) {
      t.kind = "gpt";
      t.sector_size = *ss;
      read_gpt_entries(src, *ss, t);
      return t;
    }
  }
  if (!glance_gpt_match(s0)) return t;  // a FAT volume boot record, not a table
  bool any = false;
  for (unsigned i = 0; i < kEntryCount; ++i) {
    MbrEntry e = mbr_entry(s0, i);
    if (e.boot != kBootInactive && e.boot != kBootActive) return t;  // boot code or a VBR, not a table
    if (e.type == 0) continue;
    any = true;
    t.partitions.push_back({i, hex2(e.type), e.start_lba, e.sectors, e.boot == kBootActive});
  }
  if (any)
    t.kind = "mbr";
  else
    t.partitions.clear();
  return t;
}

std::string detect_partition_table(const ByteSource& src) {
  return read_partition_table(src).kind;
}

std::vector<Finding> partition_table_findings(const ByteSource& src) {
  std::vector<Finding> out;
  std::vector<std::byte> s0 = sector0(src);
  if (!glance_gpt_match(s0)) return out;  // Glance runs its "mbr" check only on a match

  const std::string pre = "Glance 'mbr' safety check: ";
  std::vector<unsigned> used;
  bool protective = false;
  for (unsigned i = 0; i < kEntryCount; ++i) {
    MbrEntry e = mbr_entry(s0, i);
    if (e.boot != kBootInactive && e.boot != kBootActive)
      out.push_back({Severity::Unsafe, FindingKind::PartitionTable,
                     pre + "MBR entry " + std::to_string(i) + " has boot flag " + hex2(e.boot) +
                         ", expected 0x00 or 0x80"});
    if (e.type != 0) used.push_back(i);
    if (e.type != kTypeProtective) continue;
    protective = true;
    if (e.chs_head != 0 || e.chs_sector != 2 || e.chs_cyl != 0)
      out.push_back({Severity::Unsafe, FindingKind::PartitionTable,
                     pre + "GPT protective MBR entry " + std::to_string(i) + " starts at CHS bytes " +
                         hex2(e.chs_head) + " " + hex2(e.chs_sector) + " " + hex2(e.chs_cyl) +
                         ", expected 0x00 0x02 0x00"});
    if (e.start_lba != 1)
      out.push_back({Severity::Unsafe, FindingKind::PartitionTable,
                     pre + "GPT protective MBR entry " + std::to_string(i) + " starts at LBA " +
                         std::to_string(e.start_lba) + ", expected 1"});
  }
  if (protective && used != std::vector<unsigned>{0}) {
    std::string list;
    for (unsigned u : used) list += (list.empty() ? "" : ", ") + std::to_string(u);
    out.push_back({Severity::Unsafe, FindingKind::PartitionTable,
                   pre + "GPT protective MBR must be the only entry, in slot 0 (used: " + list + ")"});
  }
  if (used.empty())
    out.push_back({Severity::Unsafe, FindingKind::PartitionTable, pre + "MBR has no partitions defined"});

  // Partitions that end past the image: a truncated disk (not a Glance check).
  // A stream whose end has not been seen is checked when it has been (the
  // deferred check opens the image again).
  if (!src.known_size()) return out;
  PartitionTable t = read_partition_table(src);
  for (const PartitionEntry& p : t.partitions) {
    if (t.kind == "mbr" && p.type == hex2(kTypeProtective)) continue;
    uint64_t end, bytes;
    if (io::add_overflows(p.start_lba, p.sectors, &end) || io::mul_overflows(end, t.sector_size, &bytes) ||
        bytes > src.size())
      out.push_back({Severity::Corruption, FindingKind::PastEof,
                     t.kind + " partition " + std::to_string(p.index) + " (start " +
                         std::to_string(p.start_lba) + ", " + std::to_string(p.sectors) + " sectors of " +
                         std::to_string(t.sector_size) + " B) ends past the end of the image (" +
                         std::to_string(src.size()) + " bytes)"});
  }
  return out;
}

}  // namespace imgtool::formats
