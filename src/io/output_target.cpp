#include "io/output_target.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "imgtool/error.hpp"

namespace imgtool::io {
namespace {

// Linux's own limit (MAXSYMLINKS): a chain the kernel would refuse with ELOOP
// is refused here too.
constexpr int kMaxLinks = 40;

std::string read_link(const std::string& link, const struct stat& st, const std::string& dst) {
  // st_size is the target's length, but may be 0 (some pseudo file systems)
  // or stale: grow until the target fits.
  std::vector<char> buf(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
  for (;;) {
    ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
    if (n < 0)
      throw Error(ErrorKind::Io, dst, "cannot read symbolic link '" + link + "': " + std::strerror(errno));
    if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
    buf.resize(buf.size() * 2);
  }
}

// A relative link target is relative to the directory holding the link. The
// directory part is kept as written (not normalised): the kernel then
// resolves "..", and further links in it, exactly as it would for the link.
std::string join_link(const std::string& link, const std::string& target) {
  if (!target.empty() && target[0] == '/') return target;
  const auto slash = link.find_last_of('/');
  return slash == std::string::npos ? target : link.substr(0, slash + 1) + target;
}

std::string kind_error(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  const char* what = S_ISFIFO(mode)   ? "is a FIFO"
                     : S_ISSOCK(mode) ? "is a socket"
                     : S_ISCHR(mode)  ? "is a character device"
                                      : "is not a regular file";
  return std::string(what) + "; imgtool writes images to regular files and block devices only";
}

}  // namespace

OutputTarget resolve_output(const std::string& dst) {
  OutputTarget t;
  t.path = dst;
  std::set<std::pair<dev_t, ino_t>> seen;  // links passed, to name a loop as one
  for (int links = 0;; ++links) {
    if (::lstat(t.path.c_str(), &t.st) != 0) {
      // Missing: DST or the target of a dangling link is created. A missing
      // directory on the way is reported when the temporary file cannot be.
      const int e = errno;
      if (e == ENOENT) return t;
      const std::string what = t.path == dst ? "" : " its target '" + t.path + "'";
      throw Error(ErrorKind::Io, dst, "cannot look up" + what + ": " + std::strerror(e));
    }
    if (!S_ISLNK(t.st.st_mode)) break;
    if (!seen.insert({t.st.st_dev, t.st.st_ino}).second)
      throw Error(ErrorKind::Io, dst,
                  "symbolic link loop: following the links reaches '" + t.path + "' again");
    if (links == kMaxLinks)
      throw Error(
          ErrorKind::Io, dst,
          "more than " + std::to_string(kMaxLinks) + " symbolic links to follow (the kernel's limit)");
    t.path = join_link(t.path, read_link(t.path, t.st, dst));
  }
  if (S_ISBLK(t.st.st_mode)) {
    t.kind = OutputKind::BlockDevice;
    return t;
  }
  if (!S_ISREG(t.st.st_mode)) {
    const std::string whose = t.path == dst ? "" : "its target '" + t.path + "' ";
    throw Error(ErrorKind::Io, dst, whose + kind_error(t.st.st_mode));
  }
  t.kind = OutputKind::RegularFile;
  return t;
}

}  // namespace imgtool::io
