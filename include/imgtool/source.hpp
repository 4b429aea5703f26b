#pragma once
// The I/O layer's read side: a random-access byte source with checked reads,
// hole knowledge and the host's allocated size. Modelled on RocksDB's
// FSRandomAccessFile: reads are const and thread-safe (pread), short only at EOF.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace imgtool {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Name used in every error message (the path as the user gave it).
  virtual const std::string& name() const = 0;
  // Current size in bytes.
  virtual uint64_t size() const = 0;

  // Reads up to out.size() bytes at `offset`; returns the count, which is
  // smaller only at EOF. Throws Error(Io) on a read error.
  virtual size_t read_at(uint64_t offset, std::span<std::byte> out) const = 0;

  // Reads exactly out.size() bytes or throws Error(Format) naming the offset
  // and the file size (a table or header that runs past EOF). Checks against
  // known_size() first, so a stream is not read to its end for the check.
  void read_exact(uint64_t offset, std::span<std::byte> out) const;
  // Convenience: a vector of `len` bytes read with read_exact. Refuses
  // (Error(Format)) when offset+len exceeds size() *before* allocating; when
  // the size is not known yet (known_size()), reads in pieces of at most 1 MiB
  // so the allocation never runs ahead of the bytes that arrived.
  std::vector<std::byte> read_vector(uint64_t offset, uint64_t len) const;

  // First offset >= `offset` that holds data (SEEK_DATA); size() if none.
  // Default: every byte is data.
  virtual uint64_t next_data(uint64_t offset) const;
  // First offset >= `offset` that starts a hole (SEEK_HOLE); size() if none.
  virtual uint64_t next_hole(uint64_t offset) const;
  // Bytes the host has allocated for this source (st_blocks * 512) — qemu's
  // "disk size". Default: size().
  virtual uint64_t allocated_size() const;
  // True when the source is a regular file that may be stat'ed / mmaped etc.
  virtual bool is_regular_file() const { return false; }
  // The open file descriptor behind the source, or -1 (memory, streams). Lets
  // a caller hand the very file that was checked to another reader (dup it;
  // never close it) instead of opening the path a second time.
  virtual int native_handle() const { return -1; }

  // The size when it is known without reading further: a spool over a pipe
  // whose end has not been seen yet says nullopt (size() would read the whole
  // stream to learn it). Parsers that only validate against the size use it,
  // and a deferred check (verdict.hpp) validates again once the end is known.
  virtual std::optional<uint64_t> known_size() const { return size(); }

  // A hint from a one-pass reader: it will not read host bytes [offset,
  // offset+length) again (guest data it has handed on). A spool in one-pass
  // mode frees them; everything else ignores it.
  virtual void consumed(uint64_t offset, uint64_t length) const {
    (void)offset;
    (void)length;
  }
  // True when the source is read once, front to back (a spool in one-pass
  // mode): readers should not look far ahead at metadata, since every byte
  // between here and there has to be held until it is read.
  virtual bool one_pass() const { return false; }
};

// Opens a regular file (or block device) read-only. Errors name the path:
// missing file, directory, no permission. A FIFO, a socket or a character
// device is refused at once ("is a FIFO; ...") and never blocks: the type is
// checked before the open, which is O_NONBLOCK and checked again. O_CLOEXEC,
// no O_NOFOLLOW (the user named the path).
std::unique_ptr<ByteSource> open_file_source(const std::string& path);

// A source over bytes in memory (tests, fuzzers, standard input buffers).
std::unique_ptr<ByteSource> memory_source(std::vector<std::byte> bytes, std::string name);

}  // namespace imgtool
