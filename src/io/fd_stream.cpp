// ByteStream over a file descriptor: standard input, a pipe, or a file read
// front to back.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/stream.hpp"

namespace imgtool {

size_t read_full(ByteStream& s, std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const size_t n = s.read(out.subspan(done));
    if (n == 0) break;
    done += n;
  }
  return done;
}

namespace {

class FdStream final : public ByteStream {
 public:
  FdStream(int fd, std::string name, bool own) : fd_(fd), name_(std::move(name)), own_(own) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      const off_t at = ::lseek(fd_, 0, SEEK_CUR);
      if (at >= 0 && st.st_size >= at) hint_ = static_cast<uint64_t>(st.st_size - at);
    }
  }
  ~FdStream() override {
    if (own_) ::close(fd_);
  }
  const std::string& name() const override { return name_; }
  std::optional<uint64_t> size_hint() const override { return hint_; }
  uint64_t position() const override { return pos_; }

  size_t read(std::span<std::byte> out) override {
    if (out.empty()) return 0;
    for (;;) {
      CancelToken::current().throw_if_cancelled();
      const ssize_t n = ::read(fd_, out.data(), out.size());
      if (n >= 0) {
        pos_ += static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      if (errno == EINTR) continue;  // the token decides whether to stop
      if (errno == EAGAIN) {         // a non-blocking descriptor: wait for it
        ::usleep(1000);
        continue;
      }
      throw Error(ErrorKind::Io, name_, std::string("read failed: ") + std::strerror(errno), pos_);
    }
  }

 private:
  int fd_;
  std::string name_;
  bool own_;
  std::optional<uint64_t> hint_;
  uint64_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteStream> fd_stream(int fd, std::string name, bool own) {
  return std::make_unique<FdStream>(fd, std::move(name), own);
}

}  // namespace imgtool
