// PLACEHOLDER: replaced by the vmdk driver (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int vmdk_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> vmdk_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "vmdk driver not built yet");
}
}  // namespace imgtool::formats
