// A block device DST ("imgtool convert -O raw x.qcow2 /dev/sdb", as with
// qemu-img) is written in place: a temporary file and a rename would replace
// the device node with a regular file in /dev. Without a rename there is no
// moment that publishes a complete image, so every failure says that the
// device now holds a partial one.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "imgtool/error.hpp"
#include "io/fd_write.hpp"
#include "io/file_sinks.hpp"
#include "io/unique_fd.hpp"
#include "io/writeback.hpp"
#include "io/zero_range.hpp"

namespace imgtool::io {
namespace {

constexpr const char* kPartial = "the device now holds a partial image";

class BlockDeviceSink final : public ByteSink {
 public:
  BlockDeviceSink(std::string dst, const std::string& target, uint64_t min_size) : dst_(std::move(dst)) {
    // No O_CREAT/O_TRUNC: a device is neither. O_EXCL on a block device is
    // an exclusive open (as mkfs does): it fails with EBUSY while a file
    // system is mounted on it or on one of its partitions, or LVM, md or
    // swap holds it. O_NONBLOCK: should the path have become a FIFO since it
    // was looked up, the open fails at once instead of waiting for a reader
    // (fstat below then refuses anything but a block device).
    fd_ = UniqueFd(::open(target.c_str(), O_WRONLY | O_EXCL | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd_) {
      const int e = errno;
      if (e == EBUSY)
        throw Error(ErrorKind::Io, dst_,
                    "the block device is in use (a mounted file system, LVM, md, swap or another exclusive "
                    "user); nothing was written");
      throw Error(ErrorKind::Io, dst_,
                  std::string("cannot open the block device: ") + std::strerror(e) + "; nothing was written");
    }
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0 || !S_ISBLK(st.st_mode))
      throw Error(ErrorKind::Io, dst_, "is no longer a block device; nothing was written");
    const int flags = ::fcntl(fd_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK) != 0 ||
        ::ioctl(fd_.get(), BLKGETSIZE64, &size_) != 0) {
      const int e = errno;
      throw Error(ErrorKind::Io, dst_, std::string("cannot set up the block device: ") + std::strerror(e));
    }
    int sector = 0;
    if (::ioctl(fd_.get(), BLKSSZGET, &sector) == 0 && sector > 0) sector_ = static_cast<uint64_t>(sector);
    if (size_ < min_size)
      throw Error(ErrorKind::Io, dst_,
                  "the block device holds " + std::to_string(size_) + " bytes, the image needs " +
                      std::to_string(min_size) + " bytes; nothing was written");
  }

  const std::string& name() const override { return dst_; }
  uint64_t position() const override { return pos_; }
  bool seekable() const override { return true; }

  void write(std::span<const std::byte> data) override {
    need_room(data.size());
    flush_zeros();
    if (int err = pwrite_all(fd_.get(), data, pos_)) throw write_error(dst_, err, pos_, kPartial);
    pos_ += data.size();
    // The device is always fsynced at the end: write back while converting
    // so that the fsync has little left (io/writeback.hpp).
    if (int err = wb_.advance(fd_.get(), pos_)) throw write_error(dst_, err, pos_, kPartial);
  }

  void write_zeros(uint64_t len) override {
    // The device has old data: zeros must be written (a file would get a
    // hole). Adjacent runs are merged and zeroed at the next write.
    need_room(len);
    if (!pending_zeros_) {
      zeros_from_ = pos_;
      pending_zeros_ = true;
    }
    pos_ += len;
  }

  void pwrite(uint64_t offset, std::span<const std::byte> data) override {
    if (offset > pos_ || data.size() > pos_ - offset)
      throw Error(ErrorKind::Usage, dst_, "pwrite beyond the written length", offset);
    flush_zeros();  // or they would later overwrite the patch
    if (int err = pwrite_all(fd_.get(), data, offset)) throw write_error(dst_, err, offset, kPartial);
  }

  void finish() override {
    flush_zeros();
    // Always, whatever the cache mode: on a device a write error (a bad
    // sector, a pulled stick) is only reported by fsync, and the kernel
    // flushes a block device on its last close anyway, so skipping it would
    // save little and could turn a failed write into a success.
    if (::fsync(fd_.get()) != 0) throw write_error(dst_, errno, pos_, kPartial);
  }

 private:
  void need_room(uint64_t len) const {
    if (len > size_ - pos_)
      throw Error(ErrorKind::Io, dst_,
                  "the image goes past the end of the block device (" + std::to_string(size_) +
                      " bytes): " + std::to_string(len) + " more bytes at offset " + std::to_string(pos_) +
                      "; " + kPartial);
  }

  void flush_zeros() {
    if (!pending_zeros_) return;
    pending_zeros_ = false;
    if (int err = zero_range(fd_.get(), zeros_from_, pos_ - zeros_from_, sector_))
      throw write_error(dst_, err, zeros_from_, kPartial);
  }

  std::string dst_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  uint64_t sector_ = 512;  // logical sector: the unit the device zeroes in
  uint64_t pos_ = 0;
  WritebackBehind wb_;
  bool pending_zeros_ = false;
  uint64_t zeros_from_ = 0;  // start of the pending run of zeros, when pending_zeros_
};

}  // namespace

std::unique_ptr<ByteSink> make_block_device_sink(std::string dst, const std::string& target,
                                                 uint64_t min_size) {
  return std::make_unique<BlockDeviceSink>(std::move(dst), target, min_size);
}

}  // namespace imgtool::io
