#pragma once
// The parts decompress.cpp shares with the four codecs: the compressed input
// (one bounded buffer over the inner stream) and the interface a codec
// implements. decompress.cpp drives the loop; a codec only turns bytes into
// bytes and says where a member ends.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imgtool/error.hpp"
#include "imgtool/stream.hpp"

namespace imgtool::sources::detail {

// The compressed bytes, front to back, through one fixed buffer: memory does
// not grow with the input.
class CompressedInput {
 public:
  static constexpr size_t kBufferSize = size_t(1) << 20;
  explicit CompressedInput(std::unique_ptr<ByteStream> inner);

  const std::string& name() const { return inner_->name(); }
  // Compressed bytes the codec consumed: the offset named in errors.
  uint64_t offset() const { return consumed_; }

  // The unread bytes; refills when none are left. Empty only at the end.
  std::span<const std::byte> available();
  // The unread bytes, at least `n` of them unless the input ends first (n is
  // small: a magic number).
  std::span<const std::byte> ensure(size_t n);
  void consume(size_t n);

  [[noreturn]] void fail(std::string message, uint64_t at) const {
    throw Error(ErrorKind::Format, name(), std::move(message), at);
  }

 private:
  std::unique_ptr<ByteStream> inner_;
  std::vector<std::byte> buf_;
  size_t head_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0;
};

// What one decoding call did.
struct Step {
  size_t consumed = 0;
  size_t produced = 0;
  bool member_end = false;  // a member/stream/frame ended exactly here
};

class Codec {
 public:
  virtual ~Codec() = default;
  // Decodes from `in` into `out` (both non-empty, except `in` at the end of
  // the input). Throws Error(Format) (through src.fail) for corrupt data.
  virtual Step step(std::span<const std::byte> in, std::span<std::byte> out) = 0;
  // Called at a member's end: skips what may sit between members and returns
  // true when another member follows (the codec is then ready for it), false
  // at the clean end of the input. Anything else is trailing garbage: throws.
  virtual bool next_member() = 0;
};

// The bytes of `magic` at the front of `in` (after at most one refill):
// another member follows. No bytes: the end. Else trailing garbage (throws).
bool another_member(CompressedInput& in, std::string_view magic, std::string_view codec);

std::unique_ptr<Codec> gzip_codec(CompressedInput& in);
std::unique_ptr<Codec> xz_codec(CompressedInput& in);
std::unique_ptr<Codec> bzip2_codec(CompressedInput& in);
std::unique_ptr<Codec> zstd_codec(CompressedInput& in);

}  // namespace imgtool::sources::detail
