#pragma once
// raw's only layout rule, shared by the reader, the writer and the partition
// table reader.
#include <cstdint>

#include "io/bytes.hpp"

namespace imgtool::raw {

// qemu's BDRV_SECTOR_SIZE, and the legacy sector of MBR partition tables.
inline constexpr uint64_t kSector = 512;

// qemu-img reports a raw image's size rounded up to a sector, and
// `convert -O raw` writes that many bytes.
inline uint64_t virtual_size(uint64_t file_size) {
  return io::align_up(file_size, kSector);
}

}  // namespace imgtool::raw
