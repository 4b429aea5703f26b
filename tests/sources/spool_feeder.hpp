#pragma once
// Test helpers for the spool: a stream that behaves like a pipe (a socket pair
// fed by a thread: no size hint, reads return what arrived) and an in-memory
// stream with a chosen read size and an optional size hint.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "imgtool/stream.hpp"
#include "sources/memory_stream.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {

// Writes the bytes of a file (or a string) into one end of a socket pair from
// a thread; stream() reads the other end through fd_stream, as standard input
// from a pipe would be read. A socket pair rather than a pipe: send() with
// MSG_NOSIGNAL fails with EPIPE when the reader went away early, where a pipe
// would raise SIGPIPE in the test binary.
class SocketFeeder {
 public:
  static std::unique_ptr<SocketFeeder> from_file(const std::string& path) {
    auto f = std::unique_ptr<SocketFeeder>(new SocketFeeder());
    f->start([path](SocketFeeder& self) {
      std::ifstream in(path, std::ios::binary);
      std::vector<char> buf(1 << 20);
      while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (!self.send_all(buf.data(), static_cast<size_t>(in.gcount()))) return;
      }
    });
    return f;
  }
  static std::unique_ptr<SocketFeeder> from_bytes(std::string bytes) {
    auto f = std::unique_ptr<SocketFeeder>(new SocketFeeder());
    f->start([bytes = std::move(bytes)](SocketFeeder& self) { self.send_all(bytes.data(), bytes.size()); });
    return f;
  }
  ~SocketFeeder() {
    ::shutdown(wfd_, SHUT_RDWR);  // wakes a send() blocked on a reader that is gone
    if (thread_.joinable()) thread_.join();
    ::close(wfd_);
    if (rfd_ >= 0) ::close(rfd_);
  }
  // The reading end as a ByteStream (call once).
  std::unique_ptr<ByteStream> stream(const std::string& name = "-") {
    const int fd = rfd_;
    rfd_ = -1;
    return fd_stream(fd, name, true);
  }

 private:
  SocketFeeder() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::runtime_error("socketpair");
    rfd_ = fds[0];
    wfd_ = fds[1];
  }
  template <class Fn>
  void start(Fn fn) {
    thread_ = std::thread([this, fn = std::move(fn)] {
      fn(*this);
      ::shutdown(wfd_, SHUT_WR);  // the end of the stream
    });
  }
  bool send_all(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(wfd_, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  int rfd_ = -1, wfd_ = -1;
  std::thread thread_;
};

// A stream that announces its size (as an HTTP Content-Length would).
class HintedStream final : public ByteStream {
 public:
  HintedStream(std::unique_ptr<ByteStream> s, uint64_t size) : s_(std::move(s)), size_(size) {}
  const std::string& name() const override { return s_->name(); }
  size_t read(std::span<std::byte> out) override { return s_->read(out); }
  std::optional<uint64_t> size_hint() const override { return size_; }
  uint64_t position() const override { return s_->position(); }

 private:
  std::unique_ptr<ByteStream> s_;
  uint64_t size_;
};

// Points TMPDIR at a private directory for the test's lifetime.
class PrivateTmpdir {
 public:
  PrivateTmpdir() {
    if (const char* t = std::getenv("TMPDIR")) old_ = t;
    ::setenv("TMPDIR", dir_.path().c_str(), 1);
  }
  ~PrivateTmpdir() {
    if (old_)
      ::setenv("TMPDIR", old_->c_str(), 1);
    else
      ::unsetenv("TMPDIR");
  }
  PrivateTmpdir(const PrivateTmpdir&) = delete;
  PrivateTmpdir& operator=(const PrivateTmpdir&) = delete;
  size_t entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_.path())) ++n;
    return n;
  }

 private:
  TempDir dir_;
  std::optional<std::string> old_;
};

}  // namespace imgtool::test
