// PLACEHOLDER: replaced by the vpc detector (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int vpc_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> vpc_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "vpc detector not built yet");
}
}  // namespace imgtool::formats
