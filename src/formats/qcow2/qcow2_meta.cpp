// qcow2 snapshot table and bitmap directory (qcow2.txt "Snapshots", "Bitmaps";
// qemu block/qcow2-snapshot.c qcow2_read_snapshots, block/qcow2-bitmap.c).
// Both are variable-length entry lists: every entry is bounds-checked against
// the table and the table against the file and qemu's caps.
#include <algorithm>

#include "formats/qcow2/qcow2_header.hpp"
#include "formats/qcow2/qcow2_table_io.hpp"
#include "formats/qcow2/qcow2_tables.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {
namespace {

// qemu QCOW_MAX_SNAPSHOTS_SIZE: the whole snapshot table is capped at 64 MiB.
constexpr uint64_t kMaxSnapshotTableBytes = 1024ull * kMaxSnapshots;

[[noreturn]] void fail(const ByteSource& src, std::string msg, uint64_t off) {
  throw Error(ErrorKind::Format, src.name(), std::move(msg), off);
}

}  // namespace

std::vector<Snapshot> read_snapshots(const ByteSource& src, const Header& h, uint64_t* table_bytes) {
  std::vector<Snapshot> out;
  uint64_t off = h.snapshots_offset;
  *table_bytes = 0;
  if (h.nb_snapshots == 0) return out;
  out.reserve(h.nb_snapshots);  // <= 65536, checked in read_header
  uint64_t end = off;           // qemu's snapshots_size: the last entry's padding is not part of it
  for (uint32_t i = 0; i < h.nb_snapshots; ++i) {
    const uint64_t entry_off = off;
    std::vector<std::byte> fixed = src.read_vector(off, 40);
    io::Bytes f = fixed;
    Snapshot s;
    s.l1_offset = io::load_be64(f, 0);
    s.l1_size = io::load_be32(f, 8);
    const uint16_t id_len = io::load_be16(f, 12);
    const uint16_t name_len = io::load_be16(f, 14);
    s.info.date_sec = io::load_be32(f, 16);
    s.info.date_nsec = io::load_be32(f, 20);
    s.info.vm_clock_nsec = io::load_be64(f, 24);
    s.info.vm_state_size = io::load_be32(f, 32);
    const uint32_t extra_len = io::load_be32(f, 36);
    if (extra_len > kMaxSnapshotExtra)
      fail(src,
           "snapshot " + std::to_string(i) + ": extra data of " + std::to_string(extra_len) + " B (limit " +
               std::to_string(kMaxSnapshotExtra) + ")",
           entry_off + 36);
    const uint64_t var_len = uint64_t(extra_len) + id_len + name_len;
    std::vector<std::byte> var = src.read_vector(io::checked_add(off, 40, "snapshot entry"), var_len);
    io::Bytes v = var;
    if (extra_len >= 8) s.info.vm_state_size = io::load_be64(v, 0);
    if (extra_len >= 24) {
      uint64_t ic = io::load_be64(v, 16);
      if (ic != UINT64_MAX) s.info.icount = ic;  // -1 = not recorded (qemu)
    }
    s.info.id = std::string(io::load_chars(v, extra_len, id_len));
    s.info.name = std::string(io::load_chars(v, extra_len + id_len, name_len));
    end = off + 40 + var_len;  // no overflow: the entry was read
    off = io::checked_add(off, io::align_up(40 + var_len, 8), "snapshot table");
    if (off - h.snapshots_offset > kMaxSnapshotTableBytes)
      fail(src, "snapshot table larger than " + std::to_string(kMaxSnapshotTableBytes) + " B",
           h.snapshots_offset);
    out.push_back(std::move(s));
  }
  *table_bytes = end - h.snapshots_offset;
  return out;
}

namespace {

// Table entries qemu needs to load a bitmap that is not in use
// (load_bitmap_data): size_to_clusters(ROUND_UP(bits, 64) / 8), bits =
// virtual size / granularity rounded up. 64 bits divide 8 x cluster size, so
// rounding to 64 bits first changes nothing.
uint64_t needed_table_entries(const Header& h, uint32_t granularity_bits) {
  const uint64_t bits = io::div_round_up(h.size, uint64_t(1) << granularity_bits);
  return io::div_round_up(bits, 8 * h.cluster_size);
}

// qemu check_dir_entry, with the value and the limit in the message.
void check_entry(const ByteSource& src, const Header& h, const BitmapEntry& e, uint8_t type,
                 uint32_t extra_len, uint16_t name_len, uint64_t at) {
  const std::string bm = "bitmap '" + escape_name(e.name) + "': ";
  if (extra_len != 0)
    fail(src, bm + "extra data of " + std::to_string(extra_len) + " B (qemu supports none)", at + 20);
  if (name_len > kBmeMaxNameBytes)
    fail(src,
         bm + "name of " + std::to_string(name_len) + " B (limit " + std::to_string(kBmeMaxNameBytes) + ")",
         at + 18);
  if (type != 1)
    fail(src, bm + "type " + std::to_string(type) + " (only 1, dirty tracking, is defined)", at + 16);
  if (e.flags & kBmeReservedFlags)
    fail(src, bm + "reserved flags " + io::hex(e.flags & kBmeReservedFlags), at + 12);
  if (e.granularity_bits < 9 || e.granularity_bits > 31)
    fail(src, bm + "granularity_bits " + std::to_string(e.granularity_bits) + " out of range (9..31)",
         at + 17);
  if (e.table_size == 0 || e.table_offset == 0)
    fail(src, bm + "table of " + std::to_string(e.table_size) + " entries at " + io::hex(e.table_offset), at);
  if (e.table_offset % h.cluster_size != 0)
    fail(src, bm + "table offset " + io::hex(e.table_offset) + " is not cluster aligned", at);
  if (e.table_size > kBmeMaxTableEntries)
    fail(src,
         bm + "table of " + std::to_string(e.table_size) + " entries (limit " +
             std::to_string(kBmeMaxTableEntries) + ")",
         at + 8);
  // <= 2^27 entries x 2^21 B: no overflow.
  const uint64_t phys = uint64_t(e.table_size) * h.cluster_size;
  if (phys > kBmeMaxPhysBytes)
    fail(src,
         bm + std::to_string(e.table_size) + " table entries of " + std::to_string(h.cluster_size) +
             " B clusters (" + std::to_string(phys) + " B, limit " + std::to_string(kBmeMaxPhysBytes) + " B)",
         at + 8);
  // A bitmap in use is known to be stale: qemu neither loads it nor checks
  // its size against the disk (it may predate a resize).
  if (e.flags & kBmeFlagInUse) return;
  const uint64_t need = needed_table_entries(h, e.granularity_bits);
  if (e.table_size != need)
    fail(src,
         bm + "table of " + std::to_string(e.table_size) + " entries, but " + std::to_string(h.size) +
             " B at granularity " + std::to_string(uint64_t(1) << e.granularity_bits) + " needs " +
             std::to_string(need),
         at + 8);
}

// qemu bitmap_table_load/check_table_entry, for the tables of bitmaps not in
// use. The entries of overlapping tables are read once (the union of the
// ranges), holes and bytes past the end of the file are zeros to qemu (valid
// entries) and are skipped: the reads never exceed the file.
void check_tables(const ByteSource& src, const Header& h, const std::vector<BitmapEntry>& bitmaps) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end) clipped to the file
  for (const auto& b : bitmaps) {
    if (b.flags & kBmeFlagInUse || b.table_offset >= h.file_size) continue;
    const uint64_t bytes = uint64_t(b.table_size) * 8;  // capped by check_entry
    ranges.emplace_back(b.table_offset, std::min(h.file_size, b.table_offset + bytes));
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t done = 0;  // everything before is checked
  for (const auto& range : ranges) {
    // Plain variables, not a structured binding: clang 14 (the fuzz build)
    // cannot capture bindings in the lambda below.
    const uint64_t begin = std::max(range.first, done), end = range.second;
    if (begin >= end) continue;
    for_each_present(src, begin, end - begin, [&](uint64_t rel, io::Bytes piece) {
      for (uint64_t i = 0; i + 8 <= piece.size(); i += 8) {
        const uint64_t e = io::load_be64(piece, i);
        const uint64_t off = e & kOffsetMask;
        const bool bad_bits = (e & kBmeEntryReservedMask) || (off != 0 && (e & kBmeEntryAllOnes));
        if (!bad_bits && off % h.cluster_size == 0) continue;
        const uint64_t at = begin + rel + i;
        for (const auto& b : bitmaps) {  // name the first table holding the entry
          if (b.flags & kBmeFlagInUse || at < b.table_offset ||
              at - b.table_offset >= uint64_t(b.table_size) * 8)
            continue;
          fail(src,
               "bitmap '" + escape_name(b.name) + "': table entry " +
                   std::to_string((at - b.table_offset) / 8) + " (" + io::hex(e) + ") " +
                   (bad_bits ? "has reserved bits set" : "is not cluster aligned"),
               at);
        }
      }
    });
    done = end;
  }
}

}  // namespace

std::vector<BitmapEntry> read_bitmap_directory(const ByteSource& src, const Header& h) {
  std::vector<BitmapEntry> out;
  if (!h.bitmaps_ext) return out;
  // Size and offset were validated against the caps and the file in read_header.
  std::vector<std::byte> dir = src.read_vector(h.bitmap_directory_offset, h.bitmap_directory_size);
  io::Bytes d = dir;
  uint64_t pos = 0;
  out.reserve(h.nb_bitmaps);  // <= 65535, and each needs 24 B of the directory read above
  for (uint32_t i = 0; i < h.nb_bitmaps; ++i) {
    const uint64_t at = h.bitmap_directory_offset + pos;
    if (d.size() - pos < 24)
      fail(src,
           "bitmap directory (" + std::to_string(d.size()) + " B) too small for " +
               std::to_string(h.nb_bitmaps) + " bitmaps",
           h.bitmap_directory_offset);
    BitmapEntry e;
    e.table_offset = io::load_be64(d, pos);
    e.table_size = io::load_be32(d, pos + 8);
    e.flags = io::load_be32(d, pos + 12);
    const uint8_t type = io::load_u8(d, pos + 16);
    e.granularity_bits = io::load_u8(d, pos + 17);
    const uint16_t name_len = io::load_be16(d, pos + 18);
    const uint32_t extra_len = io::load_be32(d, pos + 20);
    const uint64_t entry_len = io::align_up(24 + uint64_t(extra_len) + name_len, 8);
    if (entry_len > d.size() - pos)
      fail(src,
           "bitmap directory entry " + std::to_string(i) + " (" + std::to_string(entry_len) +
               " B) runs past the directory end",
           at);
    e.name = std::string(io::load_chars(d, pos + 24 + extra_len, name_len));
    check_entry(src, h, e, type, extra_len, name_len, at);
    pos += entry_len;
    out.push_back(std::move(e));
  }
  // qemu bitmap_list_load: the entries must fill the directory exactly.
  if (pos != d.size())
    fail(src,
         "bitmap directory of " + std::to_string(d.size()) + " B has " + std::to_string(d.size() - pos) +
             " B left after the " + std::to_string(h.nb_bitmaps) + " bitmaps the header extension announces",
         h.bitmap_directory_offset + pos);
  check_tables(src, h, out);
  return out;
}

}  // namespace imgtool::qcow2
