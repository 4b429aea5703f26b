// The raw target: guest bytes at their guest offsets; everything not written
// is a hole (ByteSink::write_zeros seeks on files, so the output is sparse).
// The size is the virtual size rounded up to a sector, as qemu-img writes it
// (raw::virtual_size, shared with the reader).
#include "formats/driver.hpp"
#include "formats/raw/raw_layout.hpp"
#include "formats/target_writer.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::convert {
namespace {

class RawWriter final : public TargetWriter {
 public:
  explicit RawWriter(ByteSink& sink) : sink_(sink) {}

  // Any multiple of the sector works; the pipeline hands over runs of
  // zero-detection units.
  uint64_t cluster_size() const override { return raw::kSector; }
  std::optional<uint64_t> planned_size(const TargetPlan& plan) const override {
    return raw::virtual_size(plan.virtual_size);
  }
  void begin(const TargetPlan& plan) override { size_ = raw::virtual_size(plan.virtual_size); }

  void write_prepared(uint64_t off, uint64_t, std::vector<std::byte> prepared) override {
    write_data(off, prepared);
  }

  void write_data(uint64_t off, std::span<const std::byte> data) override {
    const uint64_t pos = sink_.position();
    if (off < pos || data.size() > size_ || off > size_ - data.size())
      throw Error(ErrorKind::Usage, sink_.name(), "raw writer: data out of order or past the end", off);
    if (off > pos) sink_.write_zeros(off - pos);
    sink_.write(data);
  }

  void end() override {
    const uint64_t pos = sink_.position();
    if (pos < size_) sink_.write_zeros(size_ - pos);
  }

 private:
  ByteSink& sink_;
  uint64_t size_ = 0;
};

}  // namespace
}  // namespace imgtool::convert

namespace imgtool::formats {

using convert::TargetOptions;
using convert::TargetWriter;

std::unique_ptr<TargetWriter> make_raw_writer(ByteSink& sink, const TargetOptions& opts) {
  if (!opts.options.empty())
    throw Error(ErrorKind::Usage, sink.name(),
                "raw option '" + opts.options.begin()->first + "' is unknown (raw takes no -o options)");
  if (opts.compress)
    throw Error(ErrorKind::Usage, sink.name(), "raw output cannot be compressed (-c is for qcow2 and vmdk)");
  return std::make_unique<convert::RawWriter>(sink);
}

}  // namespace imgtool::formats
