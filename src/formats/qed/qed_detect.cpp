// qed: detection and metadata only. Layout: qemu docs/interop/qed_spec.txt and
// block/qed.h (little-endian): 0 magic "QED\0", 4 cluster_size, 12 header_size
// (clusters), 16 features (bit 0 backing file, bit 1 needs check, bit 2
// backing format "raw, no probe"), 48 image_size, 56/60 backing filename
// offset/size. Glance's QEDInspector always fails its safety check ("banned"),
// so every qed image gets an Unsafe finding.
#include <string>

#include "formats/detect_util.hpp"
#include "formats/detected_image.hpp"
#include "formats/driver.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

constexpr size_t kHeaderSize = 64;
constexpr size_t kClusterSize = 4, kFeatures = 16, kImageSize = 48, kBackingOffset = 56, kBackingSize = 60;
constexpr uint64_t kFeatBacking = 1, kFeatNeedCheck = 2;
constexpr uint32_t kMaxBackingName = 4096;  // qemu: sizeof(BlockDriverState.auto_backing_file)

// qemu bdrv_get_full_backing_filename_from_filename: relative names resolve
// against the image's directory; absolute and "proto:" names stay as they are.
std::string full_backing_name(const std::string& image, const std::string& backing) {
  if (!backing.empty() && backing[0] == '/') return backing;
  const size_t colon = backing.find(':');
  if (colon != std::string::npos && backing.find('/') > colon) return backing;
  const size_t slash = image.rfind('/');
  return slash == std::string::npos ? backing : image.substr(0, slash + 1) + backing;
}

}  // namespace

int qed_probe(const ProbeInput& in) noexcept {
  return has_magic(in.head, 0, std::string_view("QED\0", 4)) ? 100 : 0;
}

std::unique_ptr<Image> qed_open(std::shared_ptr<const ByteSource> src, Gate&) {
  std::vector<std::byte> h = src->read_vector(0, kHeaderSize);
  if (!has_magic(h, 0, std::string_view("QED\0", 4)))
    throw Error(ErrorKind::Format, src->name(), "not a QED image: expected 'QED\\0' at offset 0", 0);
  ImageInfo info = detected_info(*src, Format::Qed, io::load_le64(h, kImageSize));
  info.cluster_size = io::load_le32(h, kClusterSize);  // qemu bdrv_qed_get_info
  const uint64_t features = io::load_le64(h, kFeatures);
  info.dirty = (features & kFeatNeedCheck) != 0;
  std::vector<Finding> findings;
  // Glance bans qed outright (its inspector's "banned" check), whatever it holds.
  findings.push_back({Severity::Unsafe, FindingKind::GlanceRule, "qed images are refused by Glance (banned format)"});
  if (features & kFeatBacking) {
    const uint32_t off = io::load_le32(h, kBackingOffset), len = io::load_le32(h, kBackingSize);
    if (len > kMaxBackingName)
      throw Error(ErrorKind::Format, src->name(),
                  "QED backing file name is " + std::to_string(len) + " bytes, limit " +
                      std::to_string(kMaxBackingName),
                  kBackingSize);
    std::vector<std::byte> name = src->read_vector(off, len);  // refuses past EOF before allocating
    std::string backing(reinterpret_cast<const char*>(name.data()), name.size());
    info.backing_filename = backing;
    info.full_backing_filename = full_backing_name(src->name(), backing);
    info.named_files.push_back({FileRole::BackingFile, backing});
  }
  return std::make_unique<DetectedImage>(std::move(src), std::move(info), std::move(findings));
}

}  // namespace imgtool::formats
