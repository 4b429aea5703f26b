#pragma once
// A ByteSource over a ByteStream: random access for readers that look back at
// bytes a pipe or a download has already passed. Bytes are pulled from the
// stream on demand and kept in memory up to a limit, then in a temporary file
// in TMPDIR that is unlinked at once (O_TMPFILE, or unlink right after the
// open), so nothing is left behind on any exit path, a kill included.
#include <cstdint>
#include <memory>

#include "imgtool/source.hpp"
#include "imgtool/stream.hpp"

namespace imgtool {

class SpoolSource final : public ByteSource {
 public:
  SpoolSource(std::unique_ptr<ByteStream> stream, uint64_t memory_limit);
  ~SpoolSource() override;

  const std::string& name() const override;
  // The stream's size_hint() when it has one; else the stream is read to its
  // end (and kept) to learn it.
  uint64_t size() const override;
  // Pulls the stream forward as far as needed. Reading bytes that release()
  // dropped is Error(Unsupported) "… was already passed on: this image is not
  // laid out for reading from a stream".
  size_t read_at(uint64_t offset, std::span<std::byte> out) const override;
  uint64_t allocated_size() const override { return size(); }

  // The consumer will not read [offset, offset+length) again: memory is
  // freed, a range in the temporary file is punched out.
  void release(uint64_t offset, uint64_t length) const;
  // Reads the stream to its end, keeping nothing new (what a one-pass reader
  // calls when it is done, so upstream digests see every byte).
  void drain() const;

  uint64_t peak_memory() const;  // most bytes held in memory at once
  uint64_t peak_file() const;    // most bytes held in the temporary file at once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgtool
