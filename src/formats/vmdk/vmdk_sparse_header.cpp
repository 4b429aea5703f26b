// VMDK hosted sparse header, markers and footer (see vmdk_sparse_header.hpp).
#include "formats/vmdk/vmdk_sparse_header.hpp"

#include "imgtool/error.hpp"

namespace imgtool::vmdk {
namespace {

std::string num(uint64_t v) {
  return std::to_string(v);
}

[[noreturn]] void bad(const std::string& msg, std::optional<uint64_t> off = std::nullopt) {
  throw Error(ErrorKind::Format, "", msg, off);
}

}  // namespace

bool is_kdmv_magic(io::Bytes b) noexcept {
  return b.size() >= 4 && io::load_le32(b, hdr::kMagic) == kMagic;
}

bool is_cowd_magic(io::Bytes b) noexcept {
  return b.size() >= 4 && io::load_le32(b, hdr::kMagic) == kCowdMagic;
}

SparseHeader parse_sparse_header(io::Bytes s) {
  io::need(s, 0, kSector);
  SparseHeader h;
  h.magic = io::load_le32(s, hdr::kMagic);
  h.version = io::load_le32(s, hdr::kVersion);
  h.flags = io::load_le32(s, hdr::kFlags);
  h.capacity = io::load_le64(s, hdr::kCapacity);
  h.grain_size = io::load_le64(s, hdr::kGrainSize);
  h.desc_offset = io::load_le64(s, hdr::kDescriptorOffset);
  h.desc_size = io::load_le64(s, hdr::kDescriptorSize);
  h.num_gtes_per_gt = io::load_le32(s, hdr::kNumGtesPerGt);
  h.rgd_offset = io::load_le64(s, hdr::kRgdOffset);
  h.gd_offset = io::load_le64(s, hdr::kGdOffset);
  h.overhead = io::load_le64(s, hdr::kOverhead);
  h.unclean_shutdown = io::load_u8(s, hdr::kUncleanShutdown);
  h.compress_algorithm = io::load_le16(s, hdr::kCompressAlgorithm);
  return h;
}

Sector encode_sparse_header(const SparseHeader& h) {
  Sector s{};
  std::span<std::byte> b(s);
  io::store_le32(b, hdr::kMagic, h.magic);
  io::store_le32(b, hdr::kVersion, h.version);
  io::store_le32(b, hdr::kFlags, h.flags);
  io::store_le64(b, hdr::kCapacity, h.capacity);
  io::store_le64(b, hdr::kGrainSize, h.grain_size);
  io::store_le64(b, hdr::kDescriptorOffset, h.desc_offset);
  io::store_le64(b, hdr::kDescriptorSize, h.desc_size);
  io::store_le32(b, hdr::kNumGtesPerGt, h.num_gtes_per_gt);
  io::store_le64(b, hdr::kRgdOffset, h.rgd_offset);
  io::store_le64(b, hdr::kGdOffset, h.gd_offset);
  io::store_le64(b, hdr::kOverhead, h.overhead);
  b[hdr::kUncleanShutdown] = std::byte{h.unclean_shutdown};
  // Written whatever the flags say, as qemu and VMware do.
  for (size_t i = 0; i < sizeof kNewlineTestBytes; ++i)
    b[hdr::kNewlineTest + i] = std::byte(kNewlineTestBytes[i]);
  io::store_le16(b, hdr::kCompressAlgorithm, h.compress_algorithm);
  return s;
}

Marker parse_marker(io::Bytes s) {
  io::need(s, 0, kSector);
  Marker m;
  m.val = io::load_le64(s, marker::kVal);
  m.size = io::load_le32(s, marker::kSize);
  m.type = io::load_le32(s, marker::kType);
  m.pad_zero = io::all_zero(s.subspan(marker::kSpecialHeaderBytes, kSector - marker::kSpecialHeaderBytes));
  return m;
}

Sector encode_marker(uint64_t val, uint32_t type) {
  Sector s{};
  std::span<std::byte> b(s);
  io::store_le64(b, marker::kVal, val);
  io::store_le32(b, marker::kSize, 0);  // 0 = special (metadata) marker, not a grain
  io::store_le32(b, marker::kType, type);
  return s;
}

GrainMarker parse_grain_marker(io::Bytes head) {
  return {io::load_le64(head, marker::kVal), io::load_le32(head, marker::kSize)};
}

void encode_grain_marker(std::span<std::byte> head, const GrainMarker& m) {
  io::store_le64(head, marker::kVal, m.lba);
  io::store_le32(head, marker::kSize, m.size);
}

Footer read_footer(const ByteSource& src) {
  const uint64_t size = src.size();
  constexpr uint64_t kNeed = (1 + kFooterSectors) * kSector;  // header + footer
  if (size < kNeed)
    bad("gdOffset is GD_AT_END but the file (" + num(size) +
        " bytes) is too small for header + footer (needs >= " + num(kNeed) + " bytes)");
  Footer f;
  f.offset = size - kFooterSectors * kSector;
  std::vector<std::byte> b = src.read_vector(f.offset, kFooterSectors * kSector);
  io::Bytes all(b);
  const uint64_t header_at = footer::kHeaderSector * kSector, eos_at = footer::kEosSector * kSector;
  f.footer_marker = parse_marker(all.subspan(footer::kMarkerSector * kSector, kSector));
  f.header = parse_sparse_header(all.subspan(header_at, kSector));
  f.eos = parse_marker(all.subspan(eos_at, kSector));
  // qemu vmdk_open_vmdk4 "Invalid footer": the same sanity checks, with details.
  if (!is_kdmv_magic(all.subspan(header_at, kSector)))
    bad("invalid footer: header copy at offset " + io::hex(f.offset + header_at) + " lacks the KDMV magic",
        f.offset + header_at);
  if (f.footer_marker.size != 0 || f.footer_marker.type != kMarkerFooter)
    bad("invalid footer: marker at " + io::hex(f.offset) + " has size " + num(f.footer_marker.size) +
            " type " + num(f.footer_marker.type) + " (expected size 0 type 3)",
        f.offset);
  if (f.eos.val != 0 || f.eos.size != 0 || f.eos.type != kMarkerEos)
    bad("invalid footer: end-of-stream marker at " + io::hex(f.offset + eos_at) + " has val " +
            num(f.eos.val) + " size " + num(f.eos.size) + " type " + num(f.eos.type) + " (expected all 0)",
        f.offset + eos_at);
  return f;
}

SparseGeometry validate_sparse_header(const SparseHeader& h, uint64_t file_size, bool gd_at_end_unread) {
  SparseGeometry g;
  if (h.version > kMaxVersion)
    throw Error(ErrorKind::Unsupported, "",
                "unsupported VMDK version " + num(h.version) + " (1.." + num(kMaxVersion) + " known)",
                hdr::kVersion);
  if (h.gd_offset == kGdAtEnd && !gd_at_end_unread)
    bad("footer also has gdOffset GD_AT_END (expected a real offset)", hdr::kGdOffset);
  if (h.num_gtes_per_gt == 0 || h.num_gtes_per_gt > kMaxGtesPerGt)
    bad("numGTEsPerGT is " + num(h.num_gtes_per_gt) + " (expected 1.." + num(kMaxGtesPerGt) + ")",
        hdr::kNumGtesPerGt);
  if (h.grain_size == 0 || h.grain_size > kMaxGrainSectors || (h.grain_size & (h.grain_size - 1)) != 0)
    bad("grainSize is " + num(h.grain_size) + " sectors (expected a power of two, 1.." +
            num(kMaxGrainSectors) + ")",
        hdr::kGrainSize);
  if (h.capacity > ~uint64_t{0} / kSector)
    bad("capacity " + num(h.capacity) + " sectors overflows a 64-bit byte size (limit 2^55 sectors)",
        hdr::kCapacity);
  g.capacity_bytes = h.capacity * kSector;
  g.grain_bytes = h.grain_size * kSector;
  g.gt_entries = h.num_gtes_per_gt;
  g.gt_bytes = g.gt_entries * kTableEntryBytes;
  g.gt_coverage = g.gt_entries * g.grain_bytes;  // <= 512 * 1 MiB
  g.gd_entries = io::div_round_up(g.capacity_bytes, g.gt_coverage);
  if (g.gd_entries > kMaxGdEntries)
    bad("capacity " + num(h.capacity) + " sectors needs " + num(g.gd_entries) +
            " grain directory entries (limit " + num(kMaxGdEntries) + ")",
        hdr::kCapacity);
  uint64_t gd_end = 0;
  if (!gd_at_end_unread &&
      (h.gd_offset > file_size / kSector ||
       io::add_overflows(h.gd_offset * kSector, g.gd_entries * kTableEntryBytes, &gd_end) ||
       gd_end > file_size))
    bad("grain directory (" + num(g.gd_entries) + " entries x 4 B) at sector " + num(h.gd_offset) +
            " ends past EOF (" + num(file_size) + " bytes)",
        hdr::kGdOffset);
  if (g.gd_entries > 0 && h.gd_offset == 0)
    bad("gdOffset is 0 (the grain directory would overlay the header)", hdr::kGdOffset);
  if (!gd_at_end_unread) g.gd_offset_bytes = h.gd_offset * kSector;
  if ((h.flags & kFlagRgd) != 0 && h.rgd_offset != 0 && h.rgd_offset <= file_size / kSector)
    g.rgd_offset_bytes = h.rgd_offset * kSector;
  // qemu: "File truncated, expecting at least N bytes".
  if (h.overhead > file_size / kSector)
    bad("file truncated: overHead is " + num(h.overhead) + " sectors but the file has only " +
            num(file_size) + " bytes",
        hdr::kOverhead);
  return g;
}

}  // namespace imgtool::vmdk
