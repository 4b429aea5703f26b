// PLACEHOLDER: replaced by the iso detector (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int iso_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> iso_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "iso detector not built yet");
}
}  // namespace imgtool::formats
