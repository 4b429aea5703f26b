#pragma once
// A new, empty temporary file beside a target path, renamed over the target
// when complete and unlinked otherwise.
#include <string>

#include "io/unique_fd.hpp"

namespace imgtool::io {

class TempFile {
 public:
  // Creates "<target>.imgtool-XXXXXX" (random suffix) in the target's
  // directory with open(O_CREAT | O_EXCL | O_NOFOLLOW, 0666): the kernel
  // applies the umask or the directory's default ACL, as for any new file.
  // Throws Error(Io) naming `name` (the path the user gave) when it cannot.
  TempFile(const std::string& target, const std::string& name);
  // Unlinks the file unless rename_over() succeeded: a half-written image
  // never stays behind, whatever ends the write (error, exception, interrupt).
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const noexcept { return fd_.get(); }
  const std::string& path() const noexcept { return path_; }
  // rename(2) over `target`; throws Error(Io) naming `name`.
  void rename_over(const std::string& target, const std::string& name);

 private:
  UniqueFd fd_;
  std::string path_;  // empty once renamed
};

}  // namespace imgtool::io
