// make_vmdk_writer: picks the subformat writer from -o subformat=...
// (monolithicSparse by default, as qemu-img).
#include "formats/vmdk/vmdk_writer.hpp"

#include "formats/driver.hpp"

namespace imgtool::formats {

std::unique_ptr<convert::TargetWriter> make_vmdk_writer(ByteSink& sink, const convert::TargetOptions& opts) {
  vmdk::WriterOptions o = vmdk::parse_writer_options(opts, sink.name());
  if (o.subformat == vmdk::Subformat::StreamOptimized) return vmdk::make_stream_writer(sink, o);
  return vmdk::make_sparse_writer(sink, o);
}

}  // namespace imgtool::formats
