// qcow2 header + header extensions + backing file name (qcow2.txt "Header",
// "Header extensions"; qemu block/qcow2.c qcow2_do_open, qcow2_read_extensions).
// Order of defence: checked math, file-size comparison, caps, then meaning.
#include "formats/qcow2/qcow2_header.hpp"

#include <algorithm>
#include <string>

#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {
namespace {

// A cluster of at most 2 MiB holds at most 2 MiB / 8 extensions; this bounds
// the loop even before the offset check does.
constexpr uint32_t kMaxExtensions = (1u << kMaxClusterBits) / 8;

[[noreturn]] void fail(const ByteSource& src, std::string msg, std::optional<uint64_t> off = {}) {
  throw Error(ErrorKind::Format, src.name(), std::move(msg), off);
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

// Names of the unknown incompatible bits, from the feature-name table when
// the image carries one (qemu report_unsupported_feature).
std::string describe_bits(uint64_t bits, const std::vector<FeatureName>& names) {
  std::string out;
  for (unsigned b = 0; b < 64; ++b) {
    if (!(bits & (uint64_t(1) << b))) continue;
    std::string n = "bit " + std::to_string(b);
    for (const auto& f : names)
      if (f.type == 0 && f.bit == b && !f.name.empty()) n += " (" + printable(f.name) + ")";
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

void read_extensions(const ByteSource& src, Header& h, io::Bytes c0, uint64_t start, uint64_t end) {
  uint64_t off = start;
  for (uint32_t n = 0; off < end; ++n) {
    if (n >= kMaxExtensions) fail(src, "more than " + std::to_string(kMaxExtensions) + " header extensions");
    if (end - off < 8)
      fail(src,
           "header extension header at " + io::hex(off) + " crosses the end of the extension area (" +
               io::hex(end) + ")",
           off);
    uint32_t type = io::load_be32(c0, off);
    uint32_t len = io::load_be32(c0, off + 4);
    off += 8;
    if (len > end - off)
      fail(src,
           "header extension " + io::hex(type) + " (" + std::to_string(len) + " B at " + io::hex(off) +
               ") runs past the end of the extension area (" + io::hex(end) + ")",
           off - 8);
    io::Bytes data = c0.subspan(off, len);
    switch (type) {
      case ext::kEnd: return;
      case ext::kBackingFormat:
        if (len > 1023) fail(src, "backing format name of " + std::to_string(len) + " B (limit 1023)", off);
        h.backing_format = std::string(io::load_chars(data, 0, len));
        break;
      case ext::kFeatureTable:
        for (uint64_t i = 0; i + 48 <= len; i += 48) {
          std::string_view nm = io::load_chars(data, i + 2, 46);
          h.feature_names.push_back(
              {io::load_u8(data, i), io::load_u8(data, i + 1), std::string(nm.substr(0, nm.find('\0')))});
        }
        break;
      case ext::kDataFile:
        if (len > 4096)
          fail(src, "external data file name of " + std::to_string(len) + " B (limit 4096)", off);
        h.data_file = std::string(io::load_chars(data, 0, len));
        break;
      case ext::kCryptoHeader:
        if (len != 16) fail(src, "FDE header extension of " + std::to_string(len) + " B (expected 16)", off);
        h.crypto_header_offset = io::load_be64(data, 0);
        h.crypto_header_length = io::load_be64(data, 8);
        break;
      case ext::kBitmaps: {
        if (len != 24) fail(src, "bitmaps extension of " + std::to_string(len) + " B (expected 24)", off);
        // qemu ignores the bitmaps when the autoclear bit was cleared by a
        // program that does not know them (they are inconsistent then).
        if (!(h.autoclear & kAutoclearBitmaps) || h.version < 3) break;
        h.nb_bitmaps = io::load_be32(data, 0);
        if (io::load_be32(data, 4) != 0) fail(src, "bitmaps extension: reserved field is not zero", off);
        h.bitmap_directory_size = io::load_be64(data, 8);
        h.bitmap_directory_offset = io::load_be64(data, 16);
        if (h.nb_bitmaps == 0) fail(src, "bitmaps extension with zero bitmaps", off);
        if (h.nb_bitmaps > kMaxBitmaps)
          fail(src, std::to_string(h.nb_bitmaps) + " bitmaps (limit " + std::to_string(kMaxBitmaps) + ")",
               off);
        if (h.bitmap_directory_size > kMaxBitmapDirectoryBytes)
          fail(src,
               "bitmap directory of " + std::to_string(h.bitmap_directory_size) + " B (limit " +
                   std::to_string(kMaxBitmapDirectoryBytes) + ")",
               off);
        validate_table(src, h, h.bitmap_directory_offset, h.bitmap_directory_size, 1, "bitmap directory");
        h.bitmaps_ext = true;
        break;
      }
      default: break;  // unknown extensions are optional by definition (qcow2.txt)
    }
    off += io::align_up(len, 8);
  }
}

// The first min(len, file size) bytes; from a stream that does not know its
// size, what arrives (len is at most a cluster, 2 MiB).
std::vector<std::byte> read_prefix(const ByteSource& src, uint64_t len) {
  if (std::optional<uint64_t> known = src.known_size()) return src.read_vector(0, std::min(len, *known));
  std::vector<std::byte> v(static_cast<size_t>(len));
  v.resize(src.read_at(0, v));
  return v;
}

}  // namespace

void validate_table(const ByteSource& src, const Header& h, uint64_t offset, uint64_t entries,
                    uint64_t entry_bytes, const char* what, bool must_be_in_file) {
  uint64_t bytes = 0, end = 0;
  if (io::mul_overflows(entries, entry_bytes, &bytes) || io::add_overflows(offset, bytes, &end))
    fail(src,
         std::string(what) + " (" + std::to_string(entries) + "×" + std::to_string(entry_bytes) + " B at " +
             io::hex(offset) + ") overflows 64 bits",
         offset);
  if (offset % h.cluster_size != 0)
    fail(src,
         std::string(what) + " offset " + io::hex(offset) + " is not aligned to the cluster size (" +
             std::to_string(h.cluster_size) + ")",
         offset);
  if (must_be_in_file && bytes > 0 && end > h.file_size)
    fail(src,
         std::string(what) + " (" + std::to_string(entries) + "×" + std::to_string(entry_bytes) + " B at " +
             io::hex(offset) + ") ends past end of file (" + std::to_string(h.file_size) + " B)",
         offset);
}

Header read_header(const ByteSource& src) {
  Header h;
  h.file_size = src.known_size().value_or(kSizeNotKnown);
  std::vector<std::byte> fixed = read_prefix(src, hdr::kV3Length);
  if (fixed.size() < 72)
    fail(src, "file of " + std::to_string(fixed.size()) + " B is shorter than a qcow2 header (72 B)");
  io::Bytes b = fixed;
  if (io::load_be32(b, hdr::kMagic) != kMagic) fail(src, "not a qcow2 image (bad magic)", hdr::kMagic);
  h.version = io::load_be32(b, hdr::kVersion);
  if (h.version != 2 && h.version != 3)
    throw Error(ErrorKind::Unsupported, src.name(),
                "qcow2 version " + std::to_string(h.version) + " (supported: 2, 3)", hdr::kVersion);
  h.backing_file_offset = io::load_be64(b, hdr::kBackingFileOffset);
  h.backing_file_size = io::load_be32(b, hdr::kBackingFileSize);
  h.cluster_bits = io::load_be32(b, hdr::kClusterBits);
  h.size = io::load_be64(b, hdr::kSize);
  h.crypt_method = io::load_be32(b, hdr::kCryptMethod);
  h.l1_size = io::load_be32(b, hdr::kL1Size);
  h.l1_table_offset = io::load_be64(b, hdr::kL1TableOffset);
  h.refcount_table_offset = io::load_be64(b, hdr::kRefcountTableOffset);
  h.refcount_table_clusters = io::load_be32(b, hdr::kRefcountTableClusters);
  h.nb_snapshots = io::load_be32(b, hdr::kNbSnapshots);
  h.snapshots_offset = io::load_be64(b, hdr::kSnapshotsOffset);

  if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits)
    fail(src,
         "cluster_bits " + std::to_string(h.cluster_bits) + " out of range (" +
             std::to_string(kMinClusterBits) + ".." + std::to_string(kMaxClusterBits) + ")",
         20);
  h.cluster_size = uint64_t(1) << h.cluster_bits;

  if (h.version == 3) {
    // v3 header is at least 104 bytes; the fixed read above may be short.
    if (fixed.size() < 104)
      fail(src, "qcow2 v3 header needs 104 B, file has " + std::to_string(fixed.size()) + " B");
    h.incompatible = io::load_be64(b, hdr::kIncompatibleFeatures);
    h.compatible = io::load_be64(b, hdr::kCompatibleFeatures);
    h.autoclear = io::load_be64(b, hdr::kAutoclearFeatures);
    h.refcount_order = io::load_be32(b, hdr::kRefcountOrder);
    h.header_length = io::load_be32(b, hdr::kHeaderLength);
    if (h.header_length < 104 || h.header_length % 8 != 0 || h.header_length > h.cluster_size)
      fail(src,
           "header_length " + std::to_string(h.header_length) +
               " invalid (multiple of 8, 104..cluster size " + std::to_string(h.cluster_size) + ")",
           100);
    if (h.header_length > h.file_size)
      fail(src,
           "header_length " + std::to_string(h.header_length) + " exceeds the file size (" +
               std::to_string(h.file_size) + " B)",
           100);
    if (h.header_length > hdr::kCompressionType) h.compression_type = io::load_u8(b, hdr::kCompressionType);
  }
  if (h.refcount_order > 6)
    fail(src, "refcount_order " + std::to_string(h.refcount_order) + " (limit 6 = 64-bit refcounts)", 96);

  // Cluster 0 holds the header, the extensions and the backing file name
  // (qemu reads no further). Read what of it exists.
  std::vector<std::byte> c0 = read_prefix(src, h.cluster_size);
  if (h.file_size == kSizeNotKnown)
    h.file_size = src.known_size().value_or(kSizeNotKnown);  // a short stream ended
  if (h.backing_file_offset > h.cluster_size)
    fail(src,
         "backing file offset " + io::hex(h.backing_file_offset) + " is outside cluster 0 (" +
             std::to_string(h.cluster_size) + " B)",
         8);
  uint64_t ext_end = h.backing_file_offset ? h.backing_file_offset : h.cluster_size;
  ext_end = std::min<uint64_t>(ext_end, c0.size());
  read_extensions(src, h, c0, h.header_length, ext_end);

  if (uint64_t unknown = h.incompatible & ~kIncompatKnown)
    throw Error(ErrorKind::Unsupported, src.name(),
                "unsupported qcow2 incompatible feature(s): " + describe_bits(unknown, h.feature_names), 72);
  h.extended_l2 = (h.incompatible & kIncompatExtendedL2) != 0;
  if (h.extended_l2 && h.cluster_bits < 14)
    fail(src,
         "extended L2 entries need clusters of at least 16384 B, cluster size is " +
             std::to_string(h.cluster_size),
         20);
  h.l2_entry_bytes = h.extended_l2 ? 16 : 8;
  h.l2_entries = h.cluster_size / h.l2_entry_bytes;
  if (h.compression_type > 1)
    throw Error(ErrorKind::Unsupported, src.name(),
                "unknown compression type " + std::to_string(h.compression_type) + " (0 zlib, 1 zstd)", 104);
  if ((h.compression_type != 0) != ((h.incompatible & kIncompatCompression) != 0))
    fail(src,
         "compression type " + std::to_string(h.compression_type) +
             " disagrees with incompatible feature bit 3 (set iff the type is not zlib)",
         104);
  if (h.crypt_method > 2)
    throw Error(ErrorKind::Unsupported, src.name(),
                "unknown encryption method " + std::to_string(h.crypt_method) + " (1 AES, 2 LUKS)", 32);
  // qemu qcow2_do_open: LUKS keeps its key material in the full-disk-encryption
  // header that extension 0x0537be77 points at; without it nothing can be read.
  if (h.crypt_method == 2 && h.crypto_header_length == 0)
    fail(src, "LUKS-encrypted (crypt_method 2) but no full-disk-encryption header extension",
         hdr::kCryptMethod);

  if (h.backing_file_offset != 0) {
    uint64_t len = h.backing_file_size;
    if (len > kMaxBackingNameBytes || len > h.cluster_size - h.backing_file_offset)
      fail(src,
           "backing file name of " + std::to_string(len) + " B at " + io::hex(h.backing_file_offset) +
               " (limit " + std::to_string(kMaxBackingNameBytes) + " B, inside cluster 0)",
           16);
    if (h.backing_file_offset + len > c0.size())
      fail(src,
           "backing file name at " + io::hex(h.backing_file_offset) + " ends past end of file (" +
               std::to_string(h.file_size) + " B)",
           h.backing_file_offset);
    h.backing_file = std::string(io::load_chars(c0, h.backing_file_offset, len));
  }

  // Tables: caps first (qemu qcow2_do_open), then alignment and file size.
  const uint64_t reftable_bytes = uint64_t(h.refcount_table_clusters) * h.cluster_size;
  if (reftable_bytes > kMaxRefcountTableBytes)
    fail(src,
         "refcount table of " + std::to_string(h.refcount_table_clusters) + " clusters (" +
             std::to_string(reftable_bytes) + " B, limit " + std::to_string(kMaxRefcountTableBytes) + " B)",
         56);
  validate_table(src, h, h.refcount_table_offset, reftable_bytes / 8, 8, "refcount table");
  if (uint64_t(h.l1_size) * 8 > kMaxL1Bytes)
    fail(src,
         "L1 table of " + std::to_string(h.l1_size) + " entries (" + std::to_string(uint64_t(h.l1_size) * 8) +
             " B, limit " + std::to_string(kMaxL1Bytes) + " B)",
         36);
  // The L1 table must cover the virtual size (qemu: "L1 table is too small").
  const uint64_t per_l1 = h.l2_entries * h.cluster_size;
  const uint64_t need_l1 = h.size / per_l1 + (h.size % per_l1 != 0);
  if (need_l1 > h.l1_size)
    fail(src,
         "L1 table of " + std::to_string(h.l1_size) + " entries cannot map the virtual size " +
             std::to_string(h.size) + " (needs " + std::to_string(need_l1) + ")",
         36);
  validate_table(src, h, h.l1_table_offset, h.l1_size, 8, "L1 table");
  if (h.nb_snapshots > kMaxSnapshots)
    fail(src, std::to_string(h.nb_snapshots) + " snapshots (limit " + std::to_string(kMaxSnapshots) + ")",
         60);
  validate_table(src, h, h.snapshots_offset, h.nb_snapshots, 40, "snapshot table");
  if (h.crypto_header_length != 0)
    validate_table(src, h, h.crypto_header_offset, h.crypto_header_length, 1, "encryption header");
  return h;
}

}  // namespace imgtool::qcow2
