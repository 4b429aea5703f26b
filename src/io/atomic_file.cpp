// AtomicFile: output goes to a temporary file beside DST, renamed over DST
// only by finish(). Any other end (exception, interrupt) unlinks it, so a
// half-written image never carries the final name.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "io/fd_write.hpp"
#include "io/unique_fd.hpp"

namespace imgtool {
namespace {

class AtomicFile final : public ByteSink {
 public:
  AtomicFile(std::string dst, bool fsync) : dst_(std::move(dst)), fsync_(fsync) {
    std::string tmpl = dst_ + ".imgtool-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = ::mkostemp(buf.data(), O_CLOEXEC);
    if (fd < 0)
      throw Error(ErrorKind::Io, dst_,
                  std::string("cannot create temporary output file: ") + std::strerror(errno));
    fd_ = io::UniqueFd(fd);
    tmp_.assign(buf.data());
    ::fchmod(fd, 0644 & ~current_umask());
  }

  ~AtomicFile() override {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }

  const std::string& name() const override { return dst_; }
  uint64_t position() const override { return pos_; }

  void write(std::span<const std::byte> data) override {
    flush_hole();
    if (int err = io::pwrite_all(fd_.get(), data, pos_)) throw io::write_error(dst_, err, pos_);
    pos_ += data.size();
  }

  void write_zeros(uint64_t len) override {
    // A hole: nothing is written; the file is extended at the end.
    pos_ += len;
    pending_hole_ = true;
  }

  bool seekable() const override { return true; }

  void pwrite(uint64_t offset, std::span<const std::byte> data) override {
    if (offset > pos_ || data.size() > pos_ - offset)
      throw Error(ErrorKind::Usage, dst_, "pwrite beyond the written length", offset);
    if (int err = io::pwrite_all(fd_.get(), data, offset)) throw io::write_error(dst_, err, offset);
  }

  void finish() override {
    flush_hole();
    if (fsync_ && ::fsync(fd_.get()) != 0) throw io::write_error(dst_, errno, pos_);
    if (::rename(tmp_.c_str(), dst_.c_str()) != 0)
      throw Error(ErrorKind::Io, dst_,
                  std::string("cannot rename temporary file into place: ") + std::strerror(errno));
    tmp_.clear();
    if (!fsync_) return;
    // Make the rename durable: fsync the directory (best effort).
    std::string dir =
        dst_.substr(0, dst_.find_last_of('/') == std::string::npos ? 0 : dst_.find_last_of('/'));
    if (dir.empty()) dir = dst_.find('/') == 0 ? "/" : ".";
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

 private:
  static mode_t current_umask() {
    mode_t m = ::umask(022);
    ::umask(m);
    return m;
  }

  void flush_hole() {
    if (!pending_hole_) return;
    pending_hole_ = false;
    if (::ftruncate(fd_.get(), static_cast<off_t>(pos_)) != 0) throw io::write_error(dst_, errno, pos_);
  }

  std::string dst_;
  const bool fsync_;
  std::string tmp_;
  io::UniqueFd fd_;
  uint64_t pos_ = 0;
  bool pending_hole_ = false;
};

}  // namespace

std::unique_ptr<ByteSink> create_atomic_file(const std::string& dst, bool fsync) {
  return std::make_unique<AtomicFile>(dst, fsync);
}

}  // namespace imgtool
