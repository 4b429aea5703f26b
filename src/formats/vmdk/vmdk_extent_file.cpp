// Safe access to VMDK extent files (see vmdk_extent_file.hpp).
#include "formats/vmdk/vmdk_extent_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "imgtool/error.hpp"
#include "io/unique_fd.hpp"

namespace imgtool::vmdk {
namespace {

std::string dir_prefix(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// pread-based, thread-safe source over an extent file opened by this module.
class ExtentFileSource final : public ByteSource {
 public:
  ExtentFileSource(std::string name, io::UniqueFd fd, uint64_t size)
      : name_(std::move(name)), fd_(std::move(fd)), size_(size) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return size_; }
  bool is_regular_file() const override { return true; }
  size_t read_at(uint64_t offset, std::span<std::byte> out) const override {
    size_t done = 0;
    while (done < out.size() && offset + done < size_) {
      ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw Error(ErrorKind::Io, name_, std::string("read failed: ") + std::strerror(errno), offset + done);
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }
  uint64_t next_data(uint64_t offset) const override { return seek(offset, SEEK_DATA); }
  uint64_t next_hole(uint64_t offset) const override { return seek(offset, SEEK_HOLE); }
  uint64_t allocated_size() const override {
    struct stat st {};
    return ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : size_;
  }

 private:
  uint64_t seek(uint64_t offset, int whence) const {
    if (offset >= size_) return size_;
    off_t r = ::lseek(fd_.get(), static_cast<off_t>(offset), whence);
    if (r < 0) {
      if (errno == ENXIO) return whence == SEEK_DATA ? size_ : offset;
      return whence == SEEK_DATA ? offset : size_;
    }
    return std::min<uint64_t>(static_cast<uint64_t>(r), size_);
  }
  std::string name_;
  io::UniqueFd fd_;
  uint64_t size_;
};

}  // namespace

bool is_plain_name(std::string_view name) noexcept {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

std::string unsafe_reason(std::string_view name) {
  if (name.empty()) return "has an empty file name";
  if (name.front() == '/') return "is an absolute path";
  if (name == ".." || name.rfind("../", 0) == 0 || name.find("/../") != std::string_view::npos ||
      (name.size() >= 3 && name.substr(name.size() - 3) == "/.."))
    return "escapes the image directory with '..'";
  if (name.find('/') != std::string_view::npos) return "names a file in another directory";
  if (name == ".") return "names the directory itself";
  return "";
}

std::string qemu_extent_path(const std::string& descriptor_path, const std::string& name) {
  if (!name.empty() && name.front() == '/') return name;
  return dir_prefix(descriptor_path) + name;
}

std::optional<uint64_t> plain_file_allocated_size(const std::string& descriptor_path,
                                                  const std::string& name) {
  if (!is_plain_name(name)) return std::nullopt;
  struct stat st {};
  if (::lstat((dir_prefix(descriptor_path) + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

std::shared_ptr<const ByteSource> open_extent_file(const std::string& descriptor_path,
                                                   const std::string& name) {
  const std::string path = qemu_extent_path(descriptor_path, name);
  if (!is_plain_name(name))
    throw Error(ErrorKind::Unsafe, descriptor_path,
                "vmdk extent '" + name + "' " + unsafe_reason(name) +
                    "; imgtool opens only plain file names beside "
                    "the descriptor");
  // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: a
  // symlink planted under the extent name is refused.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      throw Error(ErrorKind::Unsafe, path, "vmdk extent is a symbolic link; imgtool does not follow it");
    throw Error(ErrorKind::Io, path, std::string("cannot open vmdk extent: ") + std::strerror(e));
  }
  io::UniqueFd ufd(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw Error(ErrorKind::Io, path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::Unsafe, path, "vmdk extent is not a regular file");
  return std::make_shared<ExtentFileSource>(path, std::move(ufd), static_cast<uint64_t>(st.st_size));
}

}  // namespace imgtool::vmdk
