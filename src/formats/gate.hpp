#pragma once
// The gate (imago's ImplicitOpenGate, stricter): the one way a file named
// inside an image is ever opened. Drivers ask it for extents and data files,
// assess() for backing files. It denies by default; what it admits is a plain
// name (no '/', no ':', not "." or "..") in the image's own directory, opened
// once with openat(O_NOFOLLOW | O_NONBLOCK) relative to a descriptor of that
// directory taken when the gate was made, and only if it is a regular file.
// The source it returns is the descriptor every later check and read uses:
// nothing is reopened by path.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgtool/finding.hpp"
#include "imgtool/source.hpp"
#include "imgtool/verdict.hpp"
#include "io/unique_fd.hpp"

namespace imgtool::formats {

struct GateDecision {
  bool admit = false;
  std::string reason;  // why not, completing "<name> ..." (empty when admitted)
  Override override_with = Override::None;
};

struct GateRecord {
  FileRef ref;
  GateDecision decision;
  std::string path;   // image directory + name, as shown to people (escaped)
  std::string error;  // admitted but could not be opened: why
  std::shared_ptr<const ByteSource> source;  // admitted and opened
};

class Gate {
 public:
  // Denies everything: open_image(), info, and sources that are not files.
  Gate() = default;
  // A gate for the files `image` names. It can open anything only when
  // `image` is backed by a file (native_handle() >= 0) whose directory, taken
  // from its name, can be opened now.
  Gate(const ByteSource& image, const GatePolicy& policy, Purpose purpose);
  // open_image()'s gate: opens nothing (its reason says how to read such a
  // file), but can report the allocated size of plain names beside `image`.
  static Gate for_open_image(const ByteSource& image);

  // The answer for `ref`, without any I/O.
  GateDecision decide(const FileRef& ref) const;

  // Opens `ref` when admitted and returns its source; nullptr when denied.
  // Either way the decision is recorded. A file asked for again is not
  // opened again: the same source is returned (one descriptor per file). Admitted but unopenable (missing,
  // a symlink, not a regular file): recorded and rethrown as Error (Io, or
  // Unsafe for a symlink or a special file).
  std::shared_ptr<const ByteSource> open(const FileRef& ref);

  // Allocated bytes (st_blocks * 512) of a plain name beside the image, read
  // with fstatat(AT_SYMLINK_NOFOLLOW), never opened; nullopt otherwise. For
  // the "disk size" qemu-img info adds up over a descriptor's extents.
  std::optional<uint64_t> allocated_size(std::string_view name) const;

  // What was asked of the gate, in order.
  const std::vector<GateRecord>& records() const { return records_; }
  // The record for `ref`, if it was asked.
  const GateRecord* find(const FileRef& ref) const;

  // "dir/name" as qemu would resolve a relative name (for messages).
  std::string display_path(std::string_view name) const;

 private:
  void record(GateRecord rec);

  io::UniqueFd dir_;
  std::string dir_prefix_;  // the image's directory as written in its name, with '/', or ""
  GatePolicy policy_;
  Purpose purpose_ = Purpose::HandOver;
  bool file_backed_ = false;
  bool open_image_ = false;
  std::vector<GateRecord> records_;
  std::map<std::pair<FileRole, std::string>, size_t> index_;  // records_ by ref: a descriptor may name 16384 files
};

// True for a non-empty name without '/', ':' or NUL that is not "." or "..".
// ':' is out because qemu reads "nbd:...", "json:{...}" and friends as
// protocols rather than file names.
bool is_plain_name(std::string_view name) noexcept;

// Why `name` is not a plain name ("is an absolute path", ...); "" when it is.
std::string not_plain_reason(std::string_view name);

}  // namespace imgtool::formats
