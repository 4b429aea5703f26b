#pragma once
// The sinks behind create_output_file() (src/io/output_file.cpp), one per kind
// of target that io::resolve_output() finds.
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>

#include "imgtool/sink.hpp"

namespace imgtool::io {

// A regular file, replaced through a temporary file beside `target` and a
// rename (src/io/atomic_file.cpp). `dst`: the name the user gave, for
// messages. `existing`: the file at `target` now, whose mode and owner the
// new one takes; null when there is none.
std::unique_ptr<ByteSink> make_atomic_file(std::string dst, std::string target, const struct stat* existing,
                                           bool fsync);

// A block device, written in place (src/io/block_device_sink.cpp).
std::unique_ptr<ByteSink> make_block_device_sink(std::string dst, const std::string& target,
                                                 uint64_t min_size);

}  // namespace imgtool::io
