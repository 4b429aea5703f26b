#pragma once
// A new, empty temporary file beside a target path, to be renamed over it.
#include <string>

#include "io/unique_fd.hpp"

namespace imgtool::io {

struct TempFile {
  UniqueFd fd;       // open for writing
  std::string path;  // "<target>.imgtool-XXXXXX"
};

// Creates "<target>.imgtool-XXXXXX" (random suffix) in the target's directory
// with open(O_CREAT | O_EXCL | O_NOFOLLOW, 0666): the kernel applies the
// umask or the directory's default ACL, as for any new file. Throws
// Error(Io) naming `name` (the path the user gave) when it cannot.
TempFile create_temp_beside(const std::string& target, const std::string& name);

}  // namespace imgtool::io
