#pragma once
// Zeroing a range of a block device, which (unlike a new file) holds old data.
#include <cstdint>

namespace imgtool::io {

// Makes bytes [offset, offset + len) of the device behind `fd` read as
// zeros. Whole logical sectors (`sector` bytes) of a long run are zeroed by
// the device (fallocate(FALLOC_FL_ZERO_RANGE), then ioctl(BLKZEROOUT)), which
// is fast where the device supports it (discard with zeroing, thin volumes,
// loop); everything else, and every run the device refuses, is written as
// zeros. Returns 0, or the errno of the failed write.
int zero_range(int fd, uint64_t offset, uint64_t len, uint64_t sector) noexcept;

}  // namespace imgtool::io
