#pragma once
// The I/O layer's write side: a forward-only byte sink. Every writer in imgtool
// (raw, qcow2, vmdk) emits its output strictly in order so that the same
// writer can feed a file, a hash tee or an HTTP upload body (publish) without
// a temporary file. File sinks turn write_zeros() into holes; a block device
// sink zeroes the range (the device has old data).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>

namespace imgtool {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual const std::string& name() const = 0;
  // Appends bytes at position().
  virtual void write(std::span<const std::byte> data) = 0;
  // Appends `len` zero bytes. File sinks leave a hole instead of writing;
  // a block device is zeroed.
  virtual void write_zeros(uint64_t len);
  // Bytes appended so far (including zeros).
  virtual uint64_t position() const = 0;
  // Makes the output final (flush, fsync, rename). Nothing may be written after.
  virtual void finish() = 0;

  // Random access for writers that must patch a header after the data (only
  // possible on files and block devices; streams, hash tees and uploads
  // return false). A writer
  // that needs it must check seekable() and say so when it is false.
  virtual bool seekable() const { return false; }
  // Overwrites bytes below position(). Throws Error(Unsupported) when !seekable().
  virtual void pwrite(uint64_t offset, std::span<const std::byte> data);
};

struct OutputFileOptions {
  // Regular files: fsync the data before the rename and the directory after
  // it. false is qemu-img's "-t unsafe" (its default cache mode for convert):
  // faster, but a crash soon after may leave DST short. A block device is
  // always flushed (see create_output_file).
  bool fsync = true;
  // Bytes the caller will write at least (raw: the virtual size). A block
  // device smaller than this is refused before anything is written; files
  // grow and ignore it.
  uint64_t min_size = 0;
};

// The output file of a conversion, as users expect it (docs/cli.md "Output
// files"). DST is followed through symbolic links (relative targets against
// the link's directory; loops refused) to the path written, the target:
//  - a regular file or nothing: written to a temporary file beside the target
//    ("TARGET.imgtool-XXXXXX", created with mode 0666 so that the umask or a
//    default ACL applies; the process umask is never changed). finish()
//    fsyncs (opts.fsync) and renames it over the target; destroying the sink
//    without finish() (error, exception, interrupt) unlinks it. A replaced
//    file's mode and owner are kept (refused when the owner cannot be).
//    write_zeros() leaves holes, so the result is sparse. A full disk is
//    reported with DST and the bytes written so far.
//  - a block device: written in place (O_EXCL: refused while mounted or
//    otherwise in use), refused when smaller than opts.min_size;
//    write_zeros() zeroes (the device has old data); finish() always fsyncs,
//    since on a device a write error only shows at fsync and no rename marks
//    success. A failure leaves a partial image on the device, and the errors
//    of this sink say so.
//  - anything else (directory, FIFO, socket, character device): refused.
// Errors are Error(Io) naming DST.
std::unique_ptr<ByteSink> create_output_file(const std::string& dst, const OutputFileOptions& opts = {});

// create_output_file(dst, {.fsync = fsync}): the name from when every output
// was a file replaced atomically.
std::unique_ptr<ByteSink> create_atomic_file(const std::string& dst, bool fsync = true);

// A sink that forwards to `inner` (not owned; must outlive it) after passing
// each span to `observer` — the hook for hashing what is written.
class ObservedSink : public ByteSink {
 public:
  using Observer = std::function<void(std::span<const std::byte>)>;
  ObservedSink(ByteSink& inner, Observer observer) : inner_(inner), observer_(std::move(observer)) {}
  const std::string& name() const override { return inner_.name(); }
  void write(std::span<const std::byte> data) override;
  void write_zeros(uint64_t len) override;
  uint64_t position() const override { return inner_.position(); }
  void finish() override { inner_.finish(); }

 private:
  ByteSink& inner_;
  Observer observer_;
};

}  // namespace imgtool
