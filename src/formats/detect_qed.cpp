// PLACEHOLDER: replaced by the qed detector (work in progress).
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
int qed_probe(const ProbeInput&) noexcept { return 0; }
std::unique_ptr<Image> qed_open(std::shared_ptr<const ByteSource> src, const OpenOptions&) {
  throw Error(ErrorKind::Unsupported, src->name(), "qed detector not built yet");
}
}  // namespace imgtool::formats
