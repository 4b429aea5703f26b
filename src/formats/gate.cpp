// The gate: see gate.hpp.
#include "formats/gate.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "imgtool/error.hpp"
#include "io/file_source.hpp"

namespace imgtool::formats {
namespace {

bool ends_with_vmdk(std::string_view name) {
  if (name.size() < 5) return false;
  std::string_view ext = name.substr(name.size() - 5);
  static constexpr std::string_view kExt = ".vmdk";
  for (size_t i = 0; i < kExt.size(); ++i)
    if ((ext[i] | 0x20) != kExt[i]) return false;  // ASCII case-insensitive ('.' | 0x20 == '.')
  return true;
}

std::string dir_prefix_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// A role imgtool can read when it converts (so "let imgtool read it" helps).
bool imgtool_reads(FileRole r) { return r != FileRole::Parent; }

}  // namespace

bool is_plain_name(std::string_view name) noexcept { return not_plain_reason(name).empty(); }

std::string not_plain_reason(std::string_view name) {
  if (name.empty()) return "is an empty file name";
  if (name.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (name.front() == '/') return "is an absolute path";
  if (name == "." || name == "..") return "names a directory";
  if (name == ".." || name.rfind("../", 0) == 0 || name.find("/../") != std::string_view::npos ||
      (name.size() >= 3 && name.substr(name.size() - 3) == "/.."))
    return "escapes the image's directory with '..'";
  if (name.find('/') != std::string_view::npos) return "names a file in another directory";
  if (name.find(':') != std::string_view::npos) return "contains ':', which qemu reads as a protocol (nbd:, json:, ...)";
  return "";
}

Gate::Gate(const ByteSource& image, const GatePolicy& policy, Purpose purpose)
    : policy_(policy), purpose_(purpose) {
  if (image.native_handle() < 0) return;
  file_backed_ = true;
  dir_prefix_ = dir_prefix_of(image.name());
  const std::string dir = dir_prefix_.empty() ? "." : dir_prefix_;
  // O_PATH: the directory as it is now; later renames of the path change nothing.
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) dir_ = io::UniqueFd(fd);
}

Gate Gate::for_open_image(const ByteSource& image) {
  Gate g(image, GatePolicy{}, Purpose::HandOver);
  g.open_image_ = true;
  return g;
}

std::string Gate::display_path(std::string_view name) const {
  if (!name.empty() && name.front() == '/') return std::string(name);
  return dir_prefix_ + std::string(name);
}

GateDecision Gate::decide(const FileRef& ref) const {
  GateDecision d;
  if (open_image_) {
    d.reason = "is a separate file, which open_image() never opens (assess() reads it through the gate)";
    return d;
  }
  if (purpose_ == Purpose::HandOver) {
    d.reason = "would be opened by whoever reads the image next (Glance's consumers, qemu)";
    if (imgtool_reads(ref.role)) d.override_with = Override::ConvertTo;
    return d;
  }
  if (std::string why = not_plain_reason(ref.name); !why.empty()) {
    d.reason = why + " (imgtool opens only plain names in the image's own directory)";
    return d;
  }
  if (!file_backed_) {
    d.reason = "cannot be opened: the image is not a file, so it has no directory";
    return d;
  }
  switch (ref.role) {
    case FileRole::Parent:
      d.reason = "is not followed: imgtool does not read differencing chains";
      return d;
    case FileRole::BackingFile:
      if (policy_.allow_backing) break;
      d.reason = "is read only with --allow-backing (which flattens the chain)";
      d.override_with = Override::AllowBacking;
      return d;
    case FileRole::DataFile:
      if (policy_.allow_external_files) break;
      d.reason = "is read only with --allow-external-files";
      d.override_with = Override::AllowExternalFiles;
      return d;
    case FileRole::Extent:
      if (policy_.allow_external_files || ends_with_vmdk(ref.name)) break;
      d.reason = "is not named like a VMware extent file (*.vmdk): read only with --allow-external-files";
      d.override_with = Override::AllowExternalFiles;
      return d;
  }
  if (!dir_) {
    d.reason = "cannot be opened: the image's directory '" + escape_name(dir_prefix_) + "' cannot be opened";
    return d;
  }
  d.admit = true;
  return d;
}

const GateRecord* Gate::find(const FileRef& ref) const {
  auto it = index_.find({ref.role, ref.name});
  return it == index_.end() ? nullptr : &records_[it->second];
}

void Gate::record(GateRecord rec) {
  index_.emplace(std::make_pair(rec.ref.role, rec.ref.name), records_.size());
  records_.push_back(std::move(rec));
}

std::shared_ptr<const ByteSource> Gate::open(const FileRef& ref) {
  if (const GateRecord* r = find(ref)) {
    if (!r->error.empty()) throw Error(ErrorKind::Io, escape_name(r->path), r->error);
    return r->source;
  }
  GateRecord rec{ref, decide(ref), display_path(ref.name), "", nullptr};
  if (!rec.decision.admit) {
    record(std::move(rec));
    return nullptr;
  }
  const std::string shown = escape_name(rec.path);
  auto refuse = [&](ErrorKind kind, const std::string& why) {
    rec.error = why;
    record(rec);
    throw Error(kind, shown, why);
  };
  // O_NONBLOCK: a FIFO planted under the name must not block the open;
  // O_NOFOLLOW: neither may a symlink lead elsewhere.
  int fd = ::openat(dir_.get(), ref.name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP) refuse(ErrorKind::Unsafe, "is a symbolic link; imgtool does not follow links named by images");
    if (e == ENOENT) refuse(ErrorKind::Io, "no such file (named by the image as its " + std::string(to_string(ref.role)) + ")");
    refuse(ErrorKind::Io, std::string("cannot open: ") + std::strerror(e));
  }
  io::UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) refuse(ErrorKind::Io, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) refuse(ErrorKind::Unsafe, "is not a regular file");
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  rec.source = io::make_file_source(std::move(owned), shown);
  record(rec);
  return rec.source;
}

std::optional<uint64_t> Gate::allocated_size(std::string_view name) const {
  if (!is_plain_name(name) || !file_backed_ || !dir_) return std::nullopt;
  struct stat st {};
  const std::string n(name);
  if (::fstatat(dir_.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace imgtool::formats
