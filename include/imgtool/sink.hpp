#pragma once
// The I/O layer's write side: a forward-only byte sink. Every writer in imgtool
// (raw, qcow2, vmdk) emits its output strictly in order so that the same
// writer can feed a file, a hash tee or an HTTP upload body (publish) without
// a temporary file. Random-access sinks turn write_zeros() into holes.
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
  // Appends `len` zero bytes. File sinks leave a hole instead of writing.
  virtual void write_zeros(uint64_t len);
  // Bytes appended so far (including zeros).
  virtual uint64_t position() const = 0;
  // Makes the output final (flush, fsync, rename). Nothing may be written after.
  virtual void finish() = 0;

  // Random access for writers that must patch a header after the data (only
  // possible on files; streams, hash tees and uploads return false). A writer
  // that needs it must check seekable() and say so when it is false.
  virtual bool seekable() const { return false; }
  // Overwrites bytes below position(). Throws Error(Unsupported) when !seekable().
  virtual void pwrite(uint64_t offset, std::span<const std::byte> data);
};

// Writes to DST through a temporary file beside it ("DST.imgtool-XXXXXX",
// created with mode 0666 so that the umask or a default ACL applies; the
// process umask is never changed): finish() fsyncs and renames over DST; destroying the sink without finish()
// (error, exception, interrupt) unlinks the temporary file. write_zeros()
// seeks, so the result is sparse. A full disk is reported with the target
// name and the bytes written so far. With fsync = false (qemu-img's "-t unsafe",
// its default cache mode for convert) finish() renames without fsyncing the
// data: faster, but a crash soon after may leave DST short.
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
