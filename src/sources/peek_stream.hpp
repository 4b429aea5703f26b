#pragma once
// A stream whose first bytes can be looked at before they are consumed: how
// the source layer sniffs a compression or tar header, then hands the very
// same bytes on to the decompressor or the image reader.
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "imgtool/stream.hpp"

namespace imgtool::sources {

class PeekStream final : public ByteStream {
 public:
  explicit PeekStream(std::unique_ptr<ByteStream> inner);

  // Up to `n` bytes from the current position, without consuming them
  // (fewer only at the end of the stream). Valid until the next call.
  std::span<const std::byte> peek(size_t n);

  const std::string& name() const override { return inner_->name(); }
  size_t read(std::span<std::byte> out) override;
  std::optional<uint64_t> size_hint() const override { return inner_->size_hint(); }
  uint64_t position() const override { return pos_; }

 private:
  std::unique_ptr<ByteStream> inner_;
  std::vector<std::byte> buf_;  // peeked, not yet read: buf_[head_, end)
  size_t head_ = 0;
  uint64_t pos_ = 0;
};

}  // namespace imgtool::sources
