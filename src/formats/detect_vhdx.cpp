// PLACEHOLDER: replaced by the vhdx detector (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int vhdx_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> vhdx_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "vhdx detector not built yet");
}
}  // namespace imgtool::formats
