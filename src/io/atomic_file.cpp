// AtomicFile: output goes to a temporary file beside DST, renamed over DST
// only by finish(). Any other end (exception, interrupt) unlinks it, so a
// half-written image never carries the final name.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "io/fd_write.hpp"
#include "io/temp_file.hpp"
#include "io/unique_fd.hpp"

namespace imgtool {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class AtomicFile final : public ByteSink {
 public:
  AtomicFile(std::string dst, bool fsync) : dst_(std::move(dst)), fsync_(fsync) {
    io::TempFile tmp = io::create_temp_beside(dst_, dst_);
    fd_ = std::move(tmp.fd);
    tmp_ = std::move(tmp.path);
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
    io::UniqueFd dir(::open(dir_of(dst_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
  }

 private:
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
