// make_vmdk_writer: picks the subformat writer from -o subformat=...
// (monolithicSparse by default, as qemu-img).
#include "formats/driver.hpp"
#include "formats/vmdk/vmdk_writer.hpp"

namespace imgtool::formats {

std::unique_ptr<convert::TargetWriter> make_vmdk_writer(ByteSink& sink, const convert::TargetOptions& opts) {
  convert::vmdk::Options o = convert::vmdk::parse_options(opts, sink.name());
  if (o.subformat == convert::vmdk::Subformat::StreamOptimized) return convert::vmdk::make_stream_writer(sink, o);
  return convert::vmdk::make_sparse_writer(sink, o);
}

}  // namespace imgtool::formats
