// PLACEHOLDER: replaced by the vdi detector (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int vdi_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> vdi_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "vdi detector not built yet");
}
}  // namespace imgtool::formats
