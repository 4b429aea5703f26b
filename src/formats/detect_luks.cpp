// PLACEHOLDER: replaced by the luks detector (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int luks_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> luks_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "luks detector not built yet");
}
}  // namespace imgtool::formats
