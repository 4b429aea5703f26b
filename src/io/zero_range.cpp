#include "io/zero_range.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstddef>
#include <span>

#include "io/fd_write.hpp"

namespace imgtool::io {
namespace {

// Below this a run is simply written: one more system call is cheaper than
// the page-cache invalidation that device zeroing implies.
constexpr uint64_t kDeviceZeroMin = 1 << 20;

int write_zeros(int fd, uint64_t offset, uint64_t len) noexcept {
  static const std::byte zeros[1 << 16] = {};
  while (len > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, sizeof zeros));
    if (int err = pwrite_all(fd, std::span<const std::byte>(zeros, n), offset)) return err;
    offset += n;
    len -= n;
  }
  return 0;
}

// Any failure here (EOPNOTSUPP, EINVAL on an older kernel, EINTR...) only
// means "write them instead": a real I/O error shows again in that write.
bool device_zero(int fd, uint64_t offset, uint64_t len) noexcept {
  if (::fallocate(fd, FALLOC_FL_ZERO_RANGE, static_cast<off_t>(offset), static_cast<off_t>(len)) == 0)
    return true;
  uint64_t range[2] = {offset, len};
  return ::ioctl(fd, BLKZEROOUT, range) == 0;
}

}  // namespace

int zero_range(int fd, uint64_t offset, uint64_t len, uint64_t sector) noexcept {
  if (sector == 0) sector = 512;
  const uint64_t end = offset + len;
  const uint64_t first = std::min(end, (offset + sector - 1) / sector * sector);  // aligned start
  const uint64_t last = std::max(first, end / sector * sector);                   // aligned end
  if (last - first < kDeviceZeroMin || !device_zero(fd, first, last - first))
    return write_zeros(fd, offset, len);
  if (int err = write_zeros(fd, offset, first - offset)) return err;
  return write_zeros(fd, last, end - last);
}

}  // namespace imgtool::io
