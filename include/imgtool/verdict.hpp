#pragma once
// The one safety verdict. Every command that reads or hands on an image
// (check, convert, publish, inspect) and every library user asks assess():
// it detects the format, opens the image through the gate (the only way a
// file named inside an image is ever opened), runs the driver's consistency
// walk and the rules that span formats (several formats at once, Glance's
// partition-table rules, compressed streams and archives), and returns typed
// findings with one verdict. Callers map the verdict to exit codes and
// words; none of them looks at message text.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/finding.hpp"
#include "imgtool/format.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

namespace imgtool {

enum class Verdict : uint8_t { Clean, Leaks, Corrupt, Unreadable, Unsafe };

std::string_view to_string(Verdict v) noexcept;  // "clean", "leaks", "corrupt", "unreadable", "unsafe"

// Which files named inside an image the gate may open (always only plain
// names in the image's own directory, O_NOFOLLOW, regular files, opened once).
struct GatePolicy {
  // Backing files are read (the chain is flattened). Default: refused.
  bool allow_backing = false;
  // qcow2 external data files, and vmdk extents whose names do not end in
  // ".vmdk". Default: refused. (Extents named like VMware's own extent files,
  // "*.vmdk", are followed without this.)
  bool allow_external_files = false;
};

// What happens to the image after the verdict.
enum class Purpose : uint8_t {
  // imgtool itself reads the guest data (check, convert, publish
  // --convert-to): files the gate admits are followed.
  Read,
  // The bytes go as they are to a reader imgtool does not control (Glance and
  // its consumers, qemu under libguestfs): any file named inside the image is
  // unsafe, and so is anything Glance refuses to store.
  HandOver,
};

struct AssessOptions {
  std::optional<Format> format;  // -f; nullopt: detect from the bytes
  GatePolicy gate;
  Purpose purpose = Purpose::Read;
  CancelToken cancel;  // empty: the calling thread's token (imgtool/cancel.hpp)
  // For an image read once from a stream (a spool in one-pass mode,
  // io/spool_source.hpp): do now only what needs the header-level metadata
  // (detection and the several-formats rule on the head of the bytes, the
  // format's own open, the gate on named files: a stream has no directory, so
  // any file it names is Unsafe; raw's partition-table rules) and skip the
  // driver's walk over every table (qcow2 L2 tables and refcounts, vmdk grain
  // tables), which would pull the whole stream into the spool before the
  // first byte is converted. The Assessment says check_deferred; the caller
  // reads the image, drains the spool and calls complete_deferred_check().
  bool defer_check = false;
};

// A file named inside the image that the gate opened.
struct OpenedFile {
  FileRef ref;
  std::string path;  // where it was opened (the image's directory + the name)
};

struct Assessment {
  Verdict verdict = Verdict::Clean;
  // The driver's walk plus the cross-format rules, worst first; for a
  // flattened backing chain, the findings of every image in it.
  CheckReport report;
  // The image, opened through the gate and ready to read (with its backing
  // chain when allowed). Null when the verdict is Unreadable.
  std::shared_ptr<const Image> image;
  std::vector<OpenedFile> opened;
  // True when assess() ran with defer_check and skipped the driver's walk:
  // the verdict is provisional (it may still get worse, never better).
  bool check_deferred = false;

  // Unsafe, Unreadable or Corrupt: convert, publish and inspect refuse.
  bool refuses() const noexcept;
  // The finding that decides the verdict (the first of the worst severity);
  // null when the verdict is Clean.
  const Finding* deciding() const noexcept;
  // Throws the refusal as one Error naming the deciding finding and its
  // override: ErrorKind::Unsafe for Unsafe, Format for Corrupt and Unreadable.
  // `action` completes "refusing to <action>" ("convert", "upload").
  void throw_if_refused(const std::string& action) const;
};

// Opens `path` (a regular file or block device) and assesses it. Throws
// Error only when the file cannot be opened at all (missing, a directory, a
// FIFO, no permission) or on Error(Interrupted); everything about the bytes
// is in the verdict.
Assessment assess(const std::string& path, const AssessOptions& opts = {});
// Same on a source that is already open. Files named inside the image are
// only ever opened for a source backed by a file (native_handle() >= 0),
// relative to the directory in its name.
Assessment assess(std::shared_ptr<const ByteSource> src, const AssessOptions& opts = {});

// The second half of a deferred assessment: call it with the Assessment that
// assess(src, opts with defer_check) returned, once the one-pass reader is
// done and the spool drained to the end (only guest data was released; the
// metadata the walk reads, the first 64 KiB and the last bytes are still
// there). Detects again over the whole probe window (the tail included), opens
// the image again as the format found the first time (now with the real
// size) and runs the walk and every rule of a normal assess(). Returns the
// final verdict, with `first.image` (the image that was read) as its image;
// `first` itself when nothing was deferred. The caller throws a refusal of it
// (throw_if_refused) before the output is renamed into place or deletes what
// it uploaded. Bytes the walk needs that a reader released (metadata that
// overlaps guest data) make the check stop with a Corrupt finding.
Assessment complete_deferred_check(const Assessment& first, std::shared_ptr<const ByteSource> src,
                                   const AssessOptions& opts = {});

}  // namespace imgtool
