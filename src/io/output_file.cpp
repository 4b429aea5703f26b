// create_output_file(): where DST leads (io::resolve_output) decides which
// sink writes it.
#include "imgtool/sink.hpp"
#include "io/file_sinks.hpp"
#include "io/output_target.hpp"

namespace imgtool {

std::unique_ptr<ByteSink> create_output_file(const std::string& dst, const OutputFileOptions& opts) {
  io::OutputTarget t = io::resolve_output(dst);
  switch (t.kind) {
    case io::OutputKind::BlockDevice: return io::make_block_device_sink(dst, t.path, opts.min_size);
    case io::OutputKind::RegularFile: return io::make_atomic_file(dst, t.path, &t.st, opts.fsync);
    case io::OutputKind::NewFile: break;
  }
  return io::make_atomic_file(dst, t.path, nullptr, opts.fsync);
}

std::unique_ptr<ByteSink> create_atomic_file(const std::string& dst, bool fsync) {
  return create_output_file(dst, {.fsync = fsync});
}

}  // namespace imgtool
