#include "imgtool/error.hpp"

#include <charconv>

namespace imgtool {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::Io: return "I/O error";
    case ErrorKind::Format: return "invalid image";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Unsafe: return "unsafe image";
    case ErrorKind::Auth: return "authentication failed";
    case ErrorKind::Http: return "HTTP error";
    case ErrorKind::Usage: return "usage error";
    case ErrorKind::Interrupted: return "interrupted";
    case ErrorKind::Mismatch: return "verification failed";
  }
  return "error";
}

std::string format_error_line(const std::string& path, std::optional<uint64_t> offset,
                              const std::string& message) {
  std::string line;
  if (!path.empty()) line += path + ": ";
  if (offset) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, *offset, 16);
    line += "offset 0x" + std::string(buf, r.ptr) + ": ";
  }
  line += message;
  return line;
}

Error::Error(ErrorKind kind, std::string path, std::string message, std::optional<uint64_t> offset)
    : std::runtime_error(format_error_line(path, offset, message)),
      kind_(kind),
      path_(std::move(path)),
      message_(std::move(message)),
      offset_(offset) {}

Error Error::with_path(const std::string& path) const {
  if (!path_.empty()) return *this;
  return Error(kind_, path, message_, offset_);
}

}  // namespace imgtool
