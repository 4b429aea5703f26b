#pragma once
// A ByteSource over a ByteStream: random access for readers that look back at
// bytes a pipe or a download has already passed. Bytes are pulled from the
// stream on demand and kept in memory up to a limit, then in a temporary file
// in TMPDIR that is unlinked at once (O_TMPFILE, or unlink right after the
// open), so nothing is left behind on any exit path, a kill included.
//
// One-pass mode (set_one_pass): readers report the guest data they handed on
// through consumed(), and the spool frees it, so an image laid out in guest
// order (raw, qemu-img's qcow2, streamOptimized vmdk) goes through with only
// its metadata and the bytes that arrived ahead of the reader held. Two small
// windows are always kept whatever is released: the first 64 KiB (the probe
// window's head: format detection, partition tables, cluster 0) and the last
// 4 KiB that arrived (the probe window's tail), so a deferred check can
// detect and open the image again once the stream ended.
#include <cstdint>
#include <memory>
#include <optional>

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
  // The hint, or the size once the end was seen; nullopt before.
  std::optional<uint64_t> known_size() const override;
  // Pulls the stream forward as far as needed. Reading bytes that release()
  // dropped is Error(Unsupported) "… was already passed on: this image is not
  // laid out for reading from a stream".
  size_t read_at(uint64_t offset, std::span<std::byte> out) const override;
  // What has arrived so far, or the size when known (a stream has no host
  // allocation; this keeps info from reading the stream to its end).
  uint64_t allocated_size() const override;
  // Every byte is data; without a known size there is no end to name.
  uint64_t next_data(uint64_t offset) const override;
  uint64_t next_hole(uint64_t offset) const override;

  // The consumer will not read [offset, offset+length) again: memory is
  // freed, a range in the temporary file is punched out. Bytes that have not
  // arrived yet and the first 64 KiB are not released.
  void release(uint64_t offset, uint64_t length) const;
  // Reads the stream to its end (what a one-pass reader's caller does when
  // the reader is done, so upstream digests see every byte). Bytes not
  // released are kept: a deferred check still reads the metadata that may
  // follow the last guest data (a vmdk footer, late refcount blocks). Ends
  // one-pass mode: what reads after it (a deferred check) reads at random.
  void drain() const;

  // One-pass mode: consumed() releases. Off by default, so random-access
  // users (info, check) never lose a byte.
  void set_one_pass(bool on);
  void consumed(uint64_t offset, uint64_t length) const override;
  bool one_pass() const override;

  uint64_t peak_memory() const;  // most bytes held in memory at once
  uint64_t peak_file() const;    // most bytes held in the temporary file at once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgtool
