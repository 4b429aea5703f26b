#include "io/fd_write.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "imgtool/cancel.hpp"

namespace imgtool::io {

int pwrite_all(int fd, std::span<const std::byte> data, uint64_t offset) noexcept {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      // No SA_RESTART: a signal ends a blocked write; the caller's error is
      // then reported as the interruption (tools/main.cpp).
      if (errno == EINTR && !interrupted()) continue;
      return errno;
    }
    // 0 bytes written for a non-empty buffer: the end of a device.
    if (n == 0) return ENOSPC;
    done += static_cast<size_t>(n);
  }
  return 0;
}

Error write_error(const std::string& name, int err, uint64_t at, const std::string& note) {
  const std::string tail = note.empty() ? "" : "; " + note;
  if (err == ENOSPC || err == EFBIG || err == EDQUOT)
    return Error(ErrorKind::Io, name,
                 std::string(err == EFBIG ? "file too large" : "no space left on device") +
                     " after writing " + std::to_string(at) + " bytes" + tail);
  return Error(ErrorKind::Io, name, std::string("write failed: ") + std::strerror(err) + tail, at);
}

}  // namespace imgtool::io
