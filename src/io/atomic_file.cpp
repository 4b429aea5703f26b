// AtomicFile: a regular-file DST (or the regular file its links lead to) is
// written to a temporary file beside it, renamed over it only by finish().
// Any other end (exception, interrupt) unlinks it, so a half-written image
// never carries the final name.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "io/fd_write.hpp"
#include "io/file_sinks.hpp"
#include "io/temp_file.hpp"
#include "io/unique_fd.hpp"
#include "io/writeback.hpp"

namespace imgtool {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class AtomicFile final : public ByteSink {
 public:
  // `dst`: the name the user gave (for messages). `target`: the file to
  // replace, where the temporary file is made (DST, or where its links lead).
  // `existing`: the file there now, whose mode and owner the new one takes;
  // null when there is none.
  AtomicFile(std::string dst, std::string target, const struct stat* existing, bool fsync)
      : dst_(std::move(dst)), target_(std::move(target)), fsync_(fsync), tmp_(target_, dst_) {
    if (existing != nullptr) keep_mode_and_owner(*existing);
  }

  const std::string& name() const override { return dst_; }
  uint64_t position() const override { return pos_; }

  void write(std::span<const std::byte> data) override {
    flush_hole();
    if (int err = io::pwrite_all(tmp_.fd(), data, pos_)) throw io::write_error(dst_, err, pos_);
    pos_ += data.size();
    // Durable output: write back while converting, so that finish()'s fsync
    // has little left (io/writeback.hpp). -t unsafe leaves it to the kernel.
    if (fsync_)
      if (int err = wb_.advance(tmp_.fd(), pos_)) throw io::write_error(dst_, err, pos_);
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
    if (int err = io::pwrite_all(tmp_.fd(), data, offset)) throw io::write_error(dst_, err, offset);
  }

  void finish() override {
    flush_hole();
    if (fsync_ && ::fsync(tmp_.fd()) != 0) throw io::write_error(dst_, errno, pos_);
    // The last moment a signal can still mean "no output": a long fsync is
    // where one usually arrives.
    throw_if_interrupted();
    tmp_.rename_over(target_, dst_);
    if (!fsync_) return;
    // Make the rename durable: fsync the directory (best effort).
    io::UniqueFd dir(::open(dir_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
  }

 private:
  // Replacing a file must not change who may read it: the new file gets the
  // old one's owner, then its mode (in this order: chown clears the set-ID
  // bits). When the owner cannot be given (only root may give a file away),
  // the file is not replaced at all rather than silently handed to the caller.
  void keep_mode_and_owner(const struct stat& old) {
    struct stat now {};
    if (::fstat(tmp_.fd(), &now) != 0)
      throw Error(ErrorKind::Io, dst_,
                  std::string("cannot stat the temporary file: ") + std::strerror(errno));
    if (now.st_uid != old.st_uid || now.st_gid != old.st_gid) {
      const uid_t uid = now.st_uid == old.st_uid ? static_cast<uid_t>(-1) : old.st_uid;
      const gid_t gid = now.st_gid == old.st_gid ? static_cast<gid_t>(-1) : old.st_gid;
      if (::fchown(tmp_.fd(), uid, gid) != 0) {
        const int e = errno;
        throw Error(ErrorKind::Io, dst_,
                    "cannot keep the owner (uid " + std::to_string(old.st_uid) + ", gid " +
                        std::to_string(old.st_gid) + ") of the existing file: " + std::strerror(e) +
                        "; remove it first to replace it with a file of your own");
      }
    }
    if (::fchmod(tmp_.fd(), old.st_mode & 07777) != 0) {
      const int e = errno;
      throw Error(ErrorKind::Io, dst_,
                  "cannot keep the mode of the existing file: " + std::string(std::strerror(e)));
    }
  }

  void flush_hole() {
    if (!pending_hole_) return;
    pending_hole_ = false;
    if (::ftruncate(tmp_.fd(), static_cast<off_t>(pos_)) != 0) throw io::write_error(dst_, errno, pos_);
  }

  std::string dst_;
  std::string target_;
  const bool fsync_;
  io::TempFile tmp_;  // declared after dst_ and target_: made from them
  io::WritebackBehind wb_;
  uint64_t pos_ = 0;
  bool pending_hole_ = false;
};

}  // namespace

namespace io {

std::unique_ptr<ByteSink> make_atomic_file(std::string dst, std::string target, const struct stat* existing,
                                           bool fsync) {
  return std::make_unique<AtomicFile>(std::move(dst), std::move(target), existing, fsync);
}

}  // namespace io
}  // namespace imgtool
