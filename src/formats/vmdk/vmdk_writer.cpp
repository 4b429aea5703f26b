// make_vmdk_writer: picks the subformat writer from -o subformat=...
// (monolithicSparse by default, as qemu-img).
#include "formats/vmdk/vmdk_writer.hpp"

namespace imgtool::convert {

std::unique_ptr<TargetWriter> make_vmdk_writer(ByteSink& sink, const TargetOptions& opts) {
  vmdk::Options o = vmdk::parse_options(opts, sink.name());
  if (o.subformat == vmdk::Subformat::StreamOptimized) return vmdk::make_stream_writer(sink, o);
  return vmdk::make_sparse_writer(sink, o);
}

}  // namespace imgtool::convert
