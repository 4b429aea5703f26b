// WritebackBehind with sync_file_range(2) in two steps: SYNC_FILE_RANGE_WRITE
// on each new range (queues its I/O, does not wait), then
// WAIT_BEFORE|WRITE|WAIT_AFTER on a range far enough behind that its I/O is
// usually done, so the wait blocks only when the disk is slower than the
// conversion, which then could not finish sooner anyway.
#include "io/writeback.hpp"

#include <fcntl.h>

#include <cerrno>

namespace imgtool::io {

int WritebackBehind::advance(int fd, uint64_t end) noexcept {
  if (off_ || end < started_ + kStep) return 0;
  if (::sync_file_range(fd, static_cast<off_t>(started_), static_cast<off_t>(end - started_),
                        SYNC_FILE_RANGE_WRITE) != 0) {
    const int e = errno;
    // Not supported here (ESPIPE, EINVAL on some file systems, ENOSYS): the
    // fsync at the end does all the work, as before.
    if (e == ESPIPE || e == EINVAL || e == ENOSYS || e == EOPNOTSUPP) {
      off_ = true;
      return 0;
    }
    return e;
  }
  started_ = end;
  if (started_ - waited_ <= kWindow) return 0;
  const uint64_t upto = started_ - kWindow;
  if (::sync_file_range(fd, static_cast<off_t>(waited_), static_cast<off_t>(upto - waited_),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) !=
      0)
    return errno;
  waited_ = upto;
  return 0;
}

}  // namespace imgtool::io
