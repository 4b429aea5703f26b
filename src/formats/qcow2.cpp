// PLACEHOLDER: replaced by the qcow2 driver (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int qcow2_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> qcow2_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "qcow2 driver not built yet");
}
}  // namespace imgtool::formats
