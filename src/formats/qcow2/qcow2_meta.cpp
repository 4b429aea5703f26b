// qcow2 snapshot table and bitmap directory (qcow2.txt "Snapshots", "Bitmaps";
// qemu block/qcow2-snapshot.c qcow2_read_snapshots, block/qcow2-bitmap.c).
// Both are variable-length entry lists: every entry is bounds-checked against
// the table and the table against the file and qemu's caps.
#include <algorithm>

#include "formats/qcow2/qcow2_header.hpp"
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
    off = io::checked_add(off, io::align_up(40 + var_len, 8), "snapshot table");
    if (off - h.snapshots_offset > kMaxSnapshotTableBytes)
      fail(src, "snapshot table larger than " + std::to_string(kMaxSnapshotTableBytes) + " B",
           h.snapshots_offset);
    out.push_back(std::move(s));
  }
  *table_bytes = off - h.snapshots_offset;
  return out;
}

std::vector<BitmapEntry> read_bitmap_directory(const ByteSource& src, const Header& h) {
  std::vector<BitmapEntry> out;
  if (!h.bitmaps_ext) return out;
  // Size and offset were validated against the caps and the file in read_header.
  std::vector<std::byte> dir = src.read_vector(h.bitmap_directory_offset, h.bitmap_directory_size);
  io::Bytes d = dir;
  uint64_t pos = 0;
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
    e.granularity_bits = io::load_u8(d, pos + 17);
    const uint16_t name_len = io::load_be16(d, pos + 18);
    const uint32_t extra_len = io::load_be32(d, pos + 20);
    const uint64_t entry_len = io::align_up(24 + uint64_t(extra_len) + name_len, 8);
    if (entry_len > d.size() - pos)
      fail(src,
           "bitmap directory entry " + std::to_string(i) + " (" + std::to_string(entry_len) +
               " B) runs past the directory end",
           at);
    if (e.granularity_bits < 9 || e.granularity_bits > 31)
      fail(src,
           "bitmap '" + std::string(io::load_chars(d, pos + 24 + extra_len, name_len)) +
               "': granularity_bits " + std::to_string(e.granularity_bits) + " out of range (9..31)",
           at);
    e.name = std::string(io::load_chars(d, pos + 24 + extra_len, name_len));
    pos += entry_len;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace imgtool::qcow2
