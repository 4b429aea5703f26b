// Transparent decompression: sniffing, the compressed input buffer and the
// one read loop the four codecs (decompress_{gzip,xz,bzip2,zstd}.cpp) share.
#include "sources/decompress.hpp"

#include <algorithm>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "sources/decompress_codec.hpp"

namespace imgtool::sources {
namespace {

bool starts_with(std::span<const std::byte> b, size_t off, std::string_view magic) {
  return b.size() >= off + magic.size() && std::memcmp(b.data() + off, magic.data(), magic.size()) == 0;
}
unsigned byte_at(std::span<const std::byte> b, size_t i) {
  return static_cast<unsigned char>(b[i]);
}

// The magics as src/formats/archive/archive_detect.cpp names them.
// RFC 1952: ID1 ID2, CM = 8 (deflate), FLG with the reserved bits 5-7 clear.
constexpr std::string_view kGzip("\x1f\x8b\x08", 3);
// xz file format 1.0.4 §2.1.1: magic, then stream flags 0x00 0x0X.
constexpr std::string_view kXz(
    "\xfd"
    "7zXZ\0",
    6);
// bzip2: "BZh" + block size '1'..'9', then a block (pi) or end-of-stream (sqrt pi) magic.
constexpr std::string_view kBzBlock("\x31\x41", 2), kBzEnd("\x17\x72", 2);
// RFC 8878 §3.1.1: zstd frame magic 0xFD2FB528, little-endian; skippable
// frames 0x184D2A5? (pzstd starts its output with one).
constexpr std::string_view kZstd("\x28\xb5\x2f\xfd", 4), kZstdSkippable("\x2a\x4d\x18", 3);

class DecompressStream final : public ByteStream {
 public:
  DecompressStream(Compression c, std::unique_ptr<ByteStream> inner) : in_(std::move(inner)) {
    switch (c) {
      case Compression::Gzip: codec_ = detail::gzip_codec(in_); break;
      case Compression::Xz: codec_ = detail::xz_codec(in_); break;
      case Compression::Bzip2: codec_ = detail::bzip2_codec(in_); break;
      case Compression::Zstd: codec_ = detail::zstd_codec(in_); break;
      case Compression::None: break;
    }
    name_ = std::string(compression_name(c));
  }

  const std::string& name() const override { return in_.name(); }
  uint64_t position() const override { return pos_; }

  size_t read(std::span<std::byte> out) override {
    if (out.empty() || done_) return 0;
    for (;;) {
      CancelToken::current().throw_if_cancelled();
      if (member_end_) {
        if (!codec_->next_member()) {
          done_ = true;
          return 0;
        }
        member_end_ = false;
      }
      const std::span<const std::byte> in = in_.available();
      const detail::Step s = codec_->step(in, out);
      in_.consume(s.consumed);
      pos_ += s.produced;
      member_end_ = s.member_end;
      if (s.produced > 0) return s.produced;
      if (s.member_end || s.consumed > 0) continue;
      // No progress: the input ended inside a member (a codec that could
      // still make progress without input would have produced output).
      if (in.empty()) in_.fail("truncated " + name_ + " stream: the input ends inside it", in_.offset());
      in_.fail("corrupt " + name_ + " data: the decoder makes no progress", in_.offset());
    }
  }

 private:
  detail::CompressedInput in_;
  std::unique_ptr<detail::Codec> codec_;
  std::string name_;
  uint64_t pos_ = 0;
  bool member_end_ = false, done_ = false;
};

}  // namespace

namespace detail {

CompressedInput::CompressedInput(std::unique_ptr<ByteStream> inner) : inner_(std::move(inner)) {}

std::span<const std::byte> CompressedInput::available() {
  if (head_ == end_ && !eof_) {
    if (buf_.empty()) buf_.resize(kBufferSize);
    head_ = end_ = 0;
    end_ = inner_->read(buf_);
    eof_ = end_ == 0;
  }
  return std::span<const std::byte>(buf_).subspan(head_, end_ - head_);
}

std::span<const std::byte> CompressedInput::ensure(size_t n) {
  if (buf_.empty()) buf_.resize(kBufferSize);
  if (end_ - head_ < n && head_ > 0) {  // move the rest to the front
    std::memmove(buf_.data(), buf_.data() + head_, end_ - head_);
    end_ -= head_;
    head_ = 0;
  }
  while (end_ - head_ < n && !eof_) {
    const size_t got = inner_->read(std::span(buf_).subspan(end_));
    eof_ = got == 0;
    end_ += got;
  }
  return std::span<const std::byte>(buf_).subspan(head_, end_ - head_);
}

void CompressedInput::consume(size_t n) {
  head_ += n;
  consumed_ += n;
}

bool another_member(CompressedInput& in, std::string_view magic, std::string_view codec) {
  const std::span<const std::byte> head = in.ensure(magic.size());
  if (head.empty()) return false;
  if (starts_with(head, 0, magic)) return true;
  in.fail("trailing bytes after the " + std::string(codec) + " stream that are not another " +
              std::string(codec) + " stream",
          in.offset());
}

}  // namespace detail

Compression sniff_compression(std::span<const std::byte> head) noexcept {
  if (head.size() < 6) return Compression::None;
  if (starts_with(head, 0, kGzip) && (byte_at(head, 3) & 0xe0) == 0) return Compression::Gzip;
  if (starts_with(head, 0, kXz) &&
      (head.size() < 8 || (byte_at(head, 6) == 0 && (byte_at(head, 7) & 0xf0) == 0)))
    return Compression::Xz;
  if (starts_with(head, 0, "BZh") && byte_at(head, 3) >= '1' && byte_at(head, 3) <= '9' &&
      (starts_with(head, 4, kBzBlock) || starts_with(head, 4, kBzEnd)))
    return Compression::Bzip2;
  if (starts_with(head, 0, kZstd)) return Compression::Zstd;
  if ((byte_at(head, 0) & 0xf0) == 0x50 && starts_with(head, 1, kZstdSkippable)) return Compression::Zstd;
  return Compression::None;
}

std::string_view compression_name(Compression c) noexcept {
  switch (c) {
    case Compression::Gzip: return "gzip";
    case Compression::Xz: return "xz";
    case Compression::Bzip2: return "bzip2";
    case Compression::Zstd: return "zstd";
    case Compression::None: break;
  }
  return "none";
}

std::unique_ptr<ByteStream> decompress_stream(Compression c, std::unique_ptr<ByteStream> inner) {
  if (c == Compression::None) return inner;
  return std::make_unique<DecompressStream>(c, std::move(inner));
}

}  // namespace imgtool::sources
