#include "io/temp_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "imgtool/error.hpp"

namespace imgtool::io {
namespace {

// O_EXCL makes a name collision harmless (another name is tried), so the
// suffix only needs to be unlikely to collide, not secret.
std::string random_suffix() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static std::atomic<uint64_t> counter{0};
  uint64_t bits = 0;
  if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits)) {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    bits = (static_cast<uint64_t>(ts.tv_nsec) << 20) ^ static_cast<uint64_t>(::getpid()) ^
           (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull);
  }
  std::string s(6, 'x');
  for (char& c : s) {
    c = kChars[bits % (sizeof kChars - 1)];
    bits /= sizeof kChars - 1;
  }
  return s;
}

}  // namespace

TempFile::TempFile(const std::string& target, const std::string& name) {
  constexpr int kAttempts = 100;
  int err = EEXIST;
  for (int i = 0; i < kAttempts && err == EEXIST; ++i) {
    std::string path = target + ".imgtool-" + random_suffix();
    // Mode 0666, never chmod'ed afterwards: the umask or a default ACL
    // applies exactly as for a file created by any other tool. Reading the
    // umask would mean setting it (umask(2) has no read-only form): a race
    // with other threads creating files.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0) {
      fd_ = UniqueFd(fd);
      path_ = std::move(path);
      return;
    }
    err = errno;
  }
  const std::string where = target == name ? "" : " beside '" + target + "'";
  throw Error(ErrorKind::Io, name, "cannot create temporary output file" + where + ": " + std::strerror(err));
}

TempFile::~TempFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

void TempFile::rename_over(const std::string& target, const std::string& name) {
  if (::rename(path_.c_str(), target.c_str()) != 0) {
    const int e = errno;
    throw Error(ErrorKind::Io, name,
                std::string("cannot rename temporary file into place: ") + std::strerror(e));
  }
  path_.clear();
}

}  // namespace imgtool::io
