// vhdx: detection and metadata only. Spec: [MS-VHDX] v20160714 — §2.2 file
// type identifier (`vhdxfile` at 0), §2.2.3 region table (at 192 KiB, copy at
// 256 KiB), §2.6 metadata region and its known items. All fields little-endian.
// Limits follow qemu block/vhdx.c and Glance's VHDXInspector: region and
// metadata entry counts below 2048 (the 64 KiB tables hold at most 2047), and
// only the 8-byte Virtual Disk Size item and the 8-byte File Parameters item
// are ever read, whatever length the table claims — and the parent locator
// of a differencing disk, clamped to 64 KiB, to name the parent.
#include <algorithm>
#include <optional>
#include <string>

#include "formats/detect_util.hpp"
#include "formats/detected_image.hpp"
#include "formats/driver.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

constexpr uint64_t kRegionTable1 = 192 * 1024, kRegionTable2 = 256 * 1024;
constexpr uint32_t kRegionTableSize = 64 * 1024;
constexpr uint32_t kMaxEntries = 2047;  // (64 KiB - 32 B header) / 32 B per entry
constexpr Guid kMetadataRegion = guid_from_string("8B7CA206-4790-4B9A-B8FE-575F050F886E");
constexpr Guid kVirtualDiskSize = guid_from_string("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
constexpr Guid kFileParameters = guid_from_string("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
constexpr Guid kParentLocator = guid_from_string("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
constexpr uint32_t kHasParent = 2;  // File Parameters flags bit 1 (§2.6.2.1)

struct Item {
  uint64_t file_offset = 0;  // absolute
  uint32_t length = 0;
};

// Region table → absolute offset of the metadata region. Throws Format with
// the reason; the caller decides whether the second copy is tried.
uint64_t find_metadata_region(const ByteSource& src, uint64_t table_off) {
  std::vector<std::byte> t = src.read_vector(table_off, kRegionTableSize);
  if (!has_magic(t, 0, "regi"))
    throw Error(ErrorKind::Format, src.name(), "VHDX region table: expected signature 'regi'", table_off);
  const uint32_t count = io::load_le32(t, 8);
  if (count > kMaxEntries)
    throw Error(
        ErrorKind::Format, src.name(),
        "VHDX region table: " + std::to_string(count) + " entries, limit " + std::to_string(kMaxEntries),
        table_off + 8);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = 16 + size_t(i) * 32;
    if (guid_at(t, e, kMetadataRegion)) return io::load_le64(t, e + 16);
  }
  throw Error(ErrorKind::Format, src.name(), "VHDX region table has no metadata region entry", table_off);
}

class MetadataTable {
 public:
  MetadataTable(const ByteSource& src, uint64_t region_off) : region_off_(region_off) {
    std::vector<std::byte> hdr = src.read_vector(region_off, 32);
    if (!has_magic(hdr, 0, "metadata"))
      throw Error(ErrorKind::Format, src.name(), "VHDX metadata region: expected signature 'metadata'",
                  region_off);
    const uint16_t count = io::load_le16(hdr, 10);
    if (count > kMaxEntries)
      throw Error(
          ErrorKind::Format, src.name(),
          "VHDX metadata table: " + std::to_string(count) + " entries, limit " + std::to_string(kMaxEntries),
          region_off + 10);
    // read_vector refuses a table that runs past EOF before allocating.
    table_ =
        src.read_vector(io::checked_add(region_off, 32, "VHDX metadata table offset"), uint64_t(count) * 32);
  }

  std::optional<Item> find(const Guid& id) const {
    for (size_t e = 0; e < table_.size(); e += 32) {
      if (!guid_at(table_, e, id)) continue;
      return Item{io::checked_add(region_off_, io::load_le32(table_, e + 16), "VHDX metadata item offset"),
                  io::load_le32(table_, e + 20)};
    }
    return std::nullopt;
  }

 private:
  uint64_t region_off_;
  std::vector<std::byte> table_;  // count × 32-byte entries
};

// Reads the first 8 bytes of an item that must be at least 8 bytes long.
uint64_t read_item_u64(const ByteSource& src, const Item& item, const char* what) {
  if (item.length < 8)
    throw Error(ErrorKind::Format, src.name(),
                std::string("VHDX ") + what + " item is " + std::to_string(item.length) + " bytes, need 8",
                item.file_offset);
  return io::load_le64(src.read_vector(item.file_offset, 8), 0);
}

// Parent locator (§2.6.2.6): a header {locator type GUID, u16 reserved, u16
// key-value count}, then 12-byte entries {u32 key offset, u32 value offset,
// u16 key length, u16 value length}; keys and values are UTF-16LE, offsets
// relative to the item. The parent's name is the "relative_path" value, else
// "absolute_win32_path" or "volume_path"; "(parent locator)" when none reads.
std::string parent_path(const ByteSource& src, const std::optional<Item>& item) {
  constexpr uint32_t kMaxLocator = 64 * 1024;  // Glance's VHDX item clamp
  if (!item || item->length < 20) return "(parent locator)";
  const uint32_t len = std::min(item->length, kMaxLocator);
  uint64_t end;
  if (io::add_overflows(item->file_offset, len, &end) || end > src.size()) return "(parent locator past EOF)";
  const std::vector<std::byte> loc = src.read_vector(item->file_offset, len);
  auto utf16 = [&](uint32_t off, uint16_t bytes) -> std::optional<std::string> {
    if (off > loc.size() || bytes > loc.size() - off || bytes % 2) return std::nullopt;
    std::string out;
    for (uint32_t i = 0; i < bytes; i += 2) {
      const uint16_t c = io::load_le16(loc, off + i);
      out += c < 0x80 ? static_cast<char>(c) : '?';  // escape_name() makes it printable later
    }
    return out;
  };
  const uint16_t count = io::load_le16(loc, 18);
  std::string best;
  int best_rank = 99;
  for (uint32_t i = 0; i < count && 20 + uint64_t(i + 1) * 12 <= loc.size(); ++i) {
    const size_t e = 20 + size_t(i) * 12;
    auto key = utf16(io::load_le32(loc, e), io::load_le16(loc, e + 8));
    auto value = utf16(io::load_le32(loc, e + 4), io::load_le16(loc, e + 10));
    if (!key || !value) continue;
    const int rank = *key == "relative_path" ? 0 : *key == "absolute_win32_path" ? 1 : *key == "volume_path" ? 2 : 99;
    if (rank < best_rank) {
      best_rank = rank;
      best = *value;
    }
  }
  return best_rank < 99 ? best : "(parent locator)";
}

}  // namespace

int vhdx_probe(const ProbeInput& in) noexcept {
  return has_magic(in.head, 0, "vhdxfile") ? 100 : 0;
}

std::unique_ptr<Image> vhdx_open(std::shared_ptr<const ByteSource> src, Gate&) {
  if (src->size() < 8 || !has_magic(src->read_vector(0, 8), 0, "vhdxfile"))
    throw Error(ErrorKind::Format, src->name(), "not a VHDX image: expected 'vhdxfile' at offset 0", 0);

  std::vector<Finding> findings;
  uint64_t meta_off;
  try {
    meta_off = find_metadata_region(*src, kRegionTable1);
  } catch (const Error& e) {
    // §2.2.3: the two copies are identical; use the second when the first is damaged.
    meta_off = find_metadata_region(*src, kRegionTable2);
    findings.push_back(
        {Severity::Corruption, FindingKind::Metadata, "VHDX region table 1 unusable (" + e.message() + "), region table 2 used"});
  }
  MetadataTable meta(*src, meta_off);

  std::optional<Item> vds = meta.find(kVirtualDiskSize);
  if (!vds)
    throw Error(ErrorKind::Format, src->name(), "VHDX metadata has no Virtual Disk Size item", meta_off);
  const uint64_t vsize = read_item_u64(*src, *vds, "Virtual Disk Size");

  ImageInfo info = detected_info(*src, Format::Vhdx, vsize);
  const std::optional<Item> locator = meta.find(kParentLocator);
  bool has_parent = locator.has_value();
  if (std::optional<Item> fp = meta.find(kFileParameters)) {
    // §2.6.2.1: u32 BlockSize, then u32 flags (bit 0 LeaveBlocksAllocated, bit 1 HasParent).
    const uint64_t v = read_item_u64(*src, *fp, "File Parameters");
    info.cluster_size = v & 0xffffffffu;  // qemu vhdx_get_info: the block size
    has_parent = has_parent || ((v >> 32) & kHasParent) != 0;
  }
  if (has_parent) info.named_files.push_back({FileRole::Parent, parent_path(*src, locator)});
  return std::make_unique<DetectedImage>(std::move(src), std::move(info), std::move(findings));
}

}  // namespace imgtool::formats
