// FileSource: pread-based, thread-safe reads of a host file, with
// SEEK_DATA/SEEK_HOLE and st_blocks for qemu's "disk size".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/source.hpp"
#include "io/unique_fd.hpp"

namespace imgtool {
namespace {

class FileSource final : public ByteSource {
 public:
  FileSource(std::string name, io::UniqueFd fd, uint64_t size, bool regular)
      : name_(std::move(name)), fd_(std::move(fd)), size_(size), regular_(regular) {}

  const std::string& name() const override { return name_; }
  uint64_t size() const override { return size_; }
  bool is_regular_file() const override { return regular_; }
  int native_handle() const override { return fd_.get(); }

  size_t read_at(uint64_t offset, std::span<std::byte> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      uint64_t pos = offset + done;
      if (pos < offset) break;  // wrapped: nothing is there
      ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) {  // no SA_RESTART: a signal ends a blocked read
          throw_if_interrupted();
          continue;
        }
        throw Error(ErrorKind::Io, name_, std::string("read failed: ") + std::strerror(errno), pos);
      }
      if (n == 0) break;  // EOF
      done += static_cast<size_t>(n);
    }
    return done;
  }

  uint64_t next_data(uint64_t offset) const override { return seek(offset, SEEK_DATA); }
  uint64_t next_hole(uint64_t offset) const override { return seek(offset, SEEK_HOLE); }

  uint64_t allocated_size() const override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return size_;
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

 private:
  uint64_t seek(uint64_t offset, int whence) const {
    if (offset >= size_) return size_;
    off_t r = ::lseek(fd_.get(), static_cast<off_t>(offset), whence);
    if (r < 0) {
      // ENXIO: no data past offset. EINVAL: the file system does not know
      // holes; then everything is data.
      if (errno == ENXIO) return whence == SEEK_DATA ? size_ : offset;
      return whence == SEEK_DATA ? offset : size_;
    }
    return std::min<uint64_t>(static_cast<uint64_t>(r), size_);
  }

  std::string name_;
  io::UniqueFd fd_;
  uint64_t size_;
  bool regular_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::vector<std::byte> bytes, std::string name)
      : bytes_(std::move(bytes)), name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return bytes_.size(); }
  size_t read_at(uint64_t offset, std::span<std::byte> out) const override {
    if (offset >= bytes_.size()) return 0;
    size_t n = std::min<uint64_t>(out.size(), bytes_.size() - offset);
    if (n != 0) std::memcpy(out.data(), bytes_.data() + offset, n);  // empty span: data() may be null (UB)
    return n;
  }

 private:
  std::vector<std::byte> bytes_;
  std::string name_;
};

// Why `path` cannot be read as an image, from its file type; "" when it can
// (a regular file or a block device).
std::string unreadable_type(mode_t mode) {
  if (S_ISREG(mode) || S_ISBLK(mode)) return "";
  if (S_ISDIR(mode)) return "is a directory, not an image file";
  const char* what = S_ISFIFO(mode)   ? "is a FIFO"
                     : S_ISSOCK(mode) ? "is a socket"
                     : S_ISCHR(mode)  ? "is a character device"
                                      : "is not a regular file";
  return std::string(what) + "; imgtool reads images from regular files and block devices only";
}

[[noreturn]] void throw_open_error(const std::string& path, int e) {
  if (e == ENOENT) throw Error(ErrorKind::Io, path, "no such file");
  if (e == EACCES) throw Error(ErrorKind::Io, path, "permission denied");
  throw Error(ErrorKind::Io, path, std::string("cannot open: ") + std::strerror(e));
}

}  // namespace

std::unique_ptr<ByteSource> open_file_source(const std::string& path) {
  // The type is checked before open(): opening a FIFO for reading blocks
  // until a writer appears, opening a socket fails with a misleading ENXIO,
  // and opening some character devices has effects (a watchdog starts, a tape
  // rewinds).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_open_error(path, errno);
  if (std::string why = unreadable_type(st.st_mode); !why.empty()) throw Error(ErrorKind::Io, path, why);
  // The path may be replaced between stat() and open(): O_NONBLOCK keeps a
  // FIFO that appeared meanwhile from blocking, and fstat() decides on what
  // was really opened.
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) throw_open_error(path, errno);
  if (::fstat(fd.get(), &st) != 0)
    throw Error(ErrorKind::Io, path, std::string("cannot stat: ") + std::strerror(errno));
  if (std::string why = unreadable_type(st.st_mode); !why.empty()) throw Error(ErrorKind::Io, path, why);
  // Reads of files and devices must wait for the data, not fail with EAGAIN.
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    throw Error(ErrorKind::Io, path, std::string("cannot clear O_NONBLOCK: ") + std::strerror(errno));
  uint64_t size = 0;
  const bool regular = S_ISREG(st.st_mode);
  if (regular) {
    size = static_cast<uint64_t>(st.st_size);
  } else {
    off_t end = ::lseek(fd.get(), 0, SEEK_END);
    if (end < 0) throw Error(ErrorKind::Io, path, "cannot determine block device size");
    size = static_cast<uint64_t>(end);
  }
  return std::make_unique<FileSource>(path, std::move(fd), size, regular);
}

std::unique_ptr<ByteSource> memory_source(std::vector<std::byte> bytes, std::string name) {
  return std::make_unique<MemorySource>(std::move(bytes), std::move(name));
}

// ---- ByteSource non-virtual helpers and defaults ----------------------------

namespace {

[[noreturn]] void past_eof(const ByteSource& src, const char* what, uint64_t offset, uint64_t len) {
  const std::optional<uint64_t> size = src.known_size();
  throw Error(ErrorKind::Format, src.name(),
              std::string(what) + " of " + std::to_string(len) + " bytes ends past end of file (" +
                  (size ? std::to_string(*size) + " bytes)" : "size not known yet)"),
              offset);
}

}  // namespace

void ByteSource::read_exact(uint64_t offset, std::span<std::byte> out) const {
  uint64_t end;
  const std::optional<uint64_t> known = known_size();
  if (__builtin_add_overflow(offset, out.size(), &end) || (known && end > *known))
    past_eof(*this, "read", offset, out.size());
  size_t n = read_at(offset, out);
  if (n != out.size()) {
    if (!known) past_eof(*this, "read", offset, out.size());  // the stream ended before
    throw Error(ErrorKind::Io, name(),
                "short read: got " + std::to_string(n) + " of " + std::to_string(out.size()) +
                    " bytes (file shrank?)",
                offset);
  }
}

std::vector<std::byte> ByteSource::read_vector(uint64_t offset, uint64_t len) const {
  uint64_t end;
  const std::optional<uint64_t> known = known_size();
  if (__builtin_add_overflow(offset, len, &end) || (known && end > *known))
    past_eof(*this, "structure", offset, len);
  std::vector<std::byte> v;
  if (known) {
    v.resize(static_cast<size_t>(len));
    read_exact(offset, v);
    return v;
  }
  // A stream whose size is not known yet: grow with what arrives, so a size
  // claimed by a header costs no more memory than the stream delivers.
  constexpr uint64_t kPiece = uint64_t(1) << 20;
  for (uint64_t done = 0; done < len;) {
    const size_t n = static_cast<size_t>(std::min(kPiece, len - done));
    v.resize(static_cast<size_t>(done) + n);
    if (read_at(offset + done, std::span<std::byte>(v).subspan(static_cast<size_t>(done))) != n)
      past_eof(*this, "structure", offset, len);
    done += n;
  }
  return v;
}

uint64_t ByteSource::next_data(uint64_t offset) const {
  return std::min(offset, size());
}
uint64_t ByteSource::next_hole(uint64_t) const {
  return size();
}
uint64_t ByteSource::allocated_size() const {
  return size();
}

}  // namespace imgtool

namespace imgtool::io {

std::unique_ptr<ByteSource> make_file_source(UniqueFd fd, std::string name) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw Error(ErrorKind::Io, name, std::string("cannot stat: ") + std::strerror(errno));
  uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else {
    off_t end = ::lseek(fd.get(), 0, SEEK_END);
    if (end < 0) throw Error(ErrorKind::Io, name, "cannot determine the size");
    size = static_cast<uint64_t>(end);
  }
  return std::make_unique<FileSource>(std::move(name), std::move(fd), size, S_ISREG(st.st_mode));
}

}  // namespace imgtool::io
