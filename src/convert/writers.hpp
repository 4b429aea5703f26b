#pragma once
// Picks the target writer for ConvertOptions (src/convert/options.cpp).
#include <memory>

#include "formats/target_writer.hpp"
#include "imgtool/convert.hpp"

namespace imgtool::convert {

// Validates the target format name, -o keys (unknown key -> the list of valid
// ones) and values, then makes the writer. Throws Error(Usage).
std::unique_ptr<TargetWriter> make_writer(ByteSink& sink, const ConvertOptions& opts);

// -S: multiples of 512 up to 16 MiB, as qemu-img.
void validate_zero_granularity(uint64_t s);

}  // namespace imgtool::convert
