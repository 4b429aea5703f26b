#pragma once
// The sequential side of the I/O layer: bytes that can only be read front to
// back (standard input, an HTTP body, the output of a decompressor, a member
// of a tar). ByteSource (source.hpp) is the random-access side; a spool
// (sources.hpp) turns a stream into a ByteSource when a reader needs to look
// back.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace imgtool {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // The name used in every error message (the path or URL as the user gave
  // it, with any password in a URL removed).
  virtual const std::string& name() const = 0;

  // Reads up to out.size() bytes; returns 0 only at the end of the stream
  // (never 0 for an empty `out` before the end: callers pass non-empty
  // buffers). Blocks until at least one byte or the end is there. Throws
  // Error (Io, Format for a corrupt compressed stream, Http, Interrupted);
  // a stream that ends before it said it would (a body shorter than its
  // Content-Length, a truncated xz) throws, it never just ends.
  virtual size_t read(std::span<std::byte> out) = 0;

  // The number of bytes the whole stream gives, when it is known before the
  // end (a file's size, the Content-Length of an identity-encoded body).
  virtual std::optional<uint64_t> size_hint() const { return std::nullopt; }

  // Bytes returned by read() so far.
  virtual uint64_t position() const = 0;
};

// Reads until `out` is full or the stream ends; returns the count.
size_t read_full(ByteStream& s, std::span<std::byte> out);

// A stream over an open file descriptor (standard input, a pipe, a file),
// read with read(2); `name` for messages. Takes ownership of `fd` when `own`.
std::unique_ptr<ByteStream> fd_stream(int fd, std::string name, bool own);

}  // namespace imgtool
