#pragma once
// raw's only layout rule, shared by the reader and the writer.
#include <cstdint>

#include "io/bytes.hpp"

namespace imgtool::raw {

// qemu-img reports a raw image's size rounded up to a 512-byte sector, and
// `convert -O raw` writes that many bytes.
inline uint64_t virtual_size(uint64_t file_size) { return io::align_up(file_size, 512); }

}  // namespace imgtool::raw
