// vdi (VirtualBox): detection and metadata only. Layout: qemu block/vdi.c
// VdiHeader (little-endian): 0x40 signature 0xbeda107f, 0x44 version,
// 0x4c image type (1 dynamic, 2 static, 3 undo, 4 differencing), 0x170 disk
// size, 0x1b8 parent UUID. Glance's VDIInspector reads the same two fields.
#include <cstdint>
#include <string>

#include "formats/detect_util.hpp"
#include "formats/detected_image.hpp"
#include "formats/driver.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

constexpr size_t kHeaderSize = 512;
constexpr size_t kSignature = 0x40, kVersion = 0x44, kImageType = 0x4c, kDiskSize = 0x170, kBlockSize = 0x178,
                 kParentUuid = 0x1b8;
constexpr uint32_t kMagic = 0xbeda107f;
constexpr uint32_t kTypeDiff = 4;

}  // namespace

int vdi_probe(const ProbeInput& in) noexcept {
  if (in.head.size() < kSignature + 4) return 0;
  return io::load_le32(in.head, kSignature) == kMagic ? 100 : 0;  // size checked: cannot throw
}

std::unique_ptr<Image> vdi_open(std::shared_ptr<const ByteSource> src, Gate&) {
  std::vector<std::byte> h = src->read_vector(0, kHeaderSize);
  const uint32_t magic = io::load_le32(h, kSignature);
  if (magic != kMagic)
    throw Error(ErrorKind::Format, src->name(),
                "VDI signature " + io::hex(magic) + ", expected " + io::hex(kMagic), kSignature);
  // qemu vdi_open: "VBoxManage convertfromraw" can write odd sizes; qemu
  // rounds them up to a sector, and so do we (uint64 max rounds down instead
  // of wrapping).
  uint64_t vsize = io::load_le64(h, kDiskSize);
  if (vsize % 512 != 0 && vsize <= UINT64_MAX - 511) vsize = io::align_up(vsize, 512);
  ImageInfo info = detected_info(*src, Format::Vdi, vsize);
  info.cluster_size = io::load_le32(h, kBlockSize);  // qemu vdi_get_info
  const uint32_t version = io::load_le32(h, kVersion);
  info.extra.set("vdi-version",
                 InfoNode::string(std::to_string(version >> 16) + "." + std::to_string(version & 0xffff)));
  std::vector<Finding> findings;
  const uint32_t type = io::load_le32(h, kImageType);
  const bool has_parent = !io::all_zero(io::Bytes(h).subspan(kParentUuid, 16));
  // VDI names its parent by UUID only (VirtualBox finds it in its media
  // registry); the reference is the UUID, or the image type when unset.
  if (type == kTypeDiff || has_parent)
    info.named_files.push_back({FileRole::Parent, has_parent ? "{" + guid_to_string(h, kParentUuid) + "}"
                                                             : "(differencing VDI, image type " +
                                                                   std::to_string(type) + ")"});
  return std::make_unique<DetectedImage>(std::move(src), std::move(info), std::move(findings));
}

}  // namespace imgtool::formats
