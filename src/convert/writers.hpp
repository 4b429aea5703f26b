#pragma once
// Picks the target writer for ConvertOptions (src/convert/options.cpp).
#include <memory>
#include <span>
#include <string>

#include "formats/target_writer.hpp"
#include "imgtool/convert.hpp"

namespace imgtool::convert {

// A sink that only counts: writers are constructed on it to validate options
// (seekable, so no layout is refused for being a stream) and to plan a
// conversion (not seekable, so the writer picks its stream layout).
class DiscardSink final : public ByteSink {
 public:
  explicit DiscardSink(bool seekable) : seekable_(seekable) {}
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> d) override { pos_ += d.size(); }
  void write_zeros(uint64_t n) override { pos_ += n; }
  uint64_t position() const override { return pos_; }
  void finish() override {}
  bool seekable() const override { return seekable_; }
  void pwrite(uint64_t, std::span<const std::byte>) override {}

 private:
  std::string name_ = "(output)";
  uint64_t pos_ = 0;
  bool seekable_;
};

// Validates the target format name, -o keys (unknown key -> the list of valid
// ones) and values, then makes the writer. Throws Error(Usage).
std::unique_ptr<TargetWriter> make_writer(ByteSink& sink, const ConvertOptions& opts);

// -S: multiples of 512 up to 16 MiB, as qemu-img.
void validate_zero_granularity(uint64_t s);

}  // namespace imgtool::convert
