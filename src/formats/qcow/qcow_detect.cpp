// qcow version 1 (qemu block/qcow.c): detected, never read. Its magic is
// qcow2's ("QFI\xfb") with version 1; qemu opens it with its old "qcow"
// driver, Glance's inspector refuses it ("Unsupported qcow2 version"), and
// imgtool used to fall through to raw. Header (big-endian): 0 magic, 4
// version, 8 backing_file_offset u64, 16 backing_file_size u32, 20 mtime,
// 24 size u64, 32 cluster_bits u8, 33 l2_bits u8, 36 crypt_method u32,
// 40 l1_table_offset u64; 48 bytes.
#include <string>

#include "formats/detect_util.hpp"
#include "formats/detected_image.hpp"
#include "formats/driver.hpp"
#include "formats/qcow2/qcow2_layout.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

constexpr uint64_t kHeaderSize = 48;
constexpr uint64_t kBackingOffset = 8, kBackingSize = 16, kSize = 24, kClusterBits = 32, kCryptMethod = 36;
constexpr uint32_t kMaxBackingName = 1023;  // qemu qcow_open: "backing file name too long"

}  // namespace

int qcow_probe(const ProbeInput& in) noexcept {
  if (in.head.size() < 8) return 0;
  return io::load_be32(in.head, qcow2::hdr::kMagic) == qcow2::kMagic &&
                 io::load_be32(in.head, qcow2::hdr::kVersion) == 1
             ? 100
             : 0;
}

std::unique_ptr<Image> qcow_open(std::shared_ptr<const ByteSource> src, Gate&) {
  if (src->size() < kHeaderSize)
    throw Error(ErrorKind::Format, src->name(),
                "file of " + std::to_string(src->size()) + " B is shorter than a qcow header (48 B)");
  const std::vector<std::byte> h = src->read_vector(0, kHeaderSize);
  ImageInfo info = detected_info(*src, Format::Qcow, io::load_be64(h, kSize));
  const uint8_t cluster_bits = io::load_u8(h, kClusterBits);
  if (cluster_bits >= 9 && cluster_bits <= 16) info.cluster_size = uint64_t{1} << cluster_bits;
  info.encrypted = io::load_be32(h, kCryptMethod) != 0;
  std::vector<Finding> findings;
  findings.push_back({Severity::Unreadable, FindingKind::UnsupportedFeature,
                      "qcow version 1 (qemu's original qcow format) is not read by imgtool, and Glance refuses it "
                      "(\"Unsupported qcow2 version\"); convert it to qcow2 with qemu-img first"});
  const uint64_t off = io::load_be64(h, kBackingOffset);
  const uint32_t len = io::load_be32(h, kBackingSize);
  if (off != 0) {
    if (len > kMaxBackingName)
      throw Error(ErrorKind::Format, src->name(),
                  "backing file name of " + std::to_string(len) + " B (limit " + std::to_string(kMaxBackingName) +
                      ")",
                  kBackingSize);
    const std::vector<std::byte> name = src->read_vector(off, len);  // refuses past EOF first
    std::string backing(reinterpret_cast<const char*>(name.data()), name.size());
    info.backing_filename = backing;
    info.named_files.push_back({FileRole::BackingFile, std::move(backing)});
  }
  return std::make_unique<DetectedImage>(std::move(src), std::move(info), std::move(findings));
}

}  // namespace imgtool::formats
