// xz through liblzma. Streams one after the other, with stream padding (NUL
// bytes, a multiple of four) between them, are one stream, as `xz -d` reads
// them. The concatenation is walked here rather than with LZMA_CONCATENATED
// so that bytes after the last stream are named as trailing garbage, not as
// a corrupt stream.
#include <lzma.h>

#include <algorithm>
#include <string>

#include "sources/decompress_codec.hpp"

namespace imgtool::sources::detail {
namespace {

constexpr std::string_view kXzMagic(
    "\xfd"
    "7zXZ\0",
    6);
// xz -9 needs 65 MiB to decompress; 256 MiB leaves room for custom
// dictionaries without letting a header claim gigabytes.
constexpr uint64_t kMemoryLimit = uint64_t(256) << 20;

class XzCodec final : public Codec {
 public:
  explicit XzCodec(CompressedInput& in) : in_(in) { init(); }
  ~XzCodec() override { lzma_end(&s_); }

  Step step(std::span<const std::byte> in, std::span<std::byte> out) override {
    s_.next_in = reinterpret_cast<const uint8_t*>(in.data());
    s_.avail_in = in.size();
    s_.next_out = reinterpret_cast<uint8_t*>(out.data());
    s_.avail_out = out.size();
    // LZMA_FINISH once the input ended: a stream cut short then reports
    // itself instead of waiting for more.
    const lzma_ret rc = lzma_code(&s_, in.empty() ? LZMA_FINISH : LZMA_RUN);
    Step s{in.size() - s_.avail_in, out.size() - s_.avail_out, rc == LZMA_STREAM_END};
    const uint64_t at = in_.offset() + s.consumed;
    switch (rc) {
      case LZMA_OK:
      case LZMA_STREAM_END:
      case LZMA_BUF_ERROR:  // no progress possible: the caller sees it
        return s;
      case LZMA_MEMLIMIT_ERROR:
        throw Error(ErrorKind::Unsupported, in_.name(),
                    "the xz stream needs " + std::to_string(lzma_memusage(&s_) >> 20) +
                        " MiB to decompress, more than the limit of " + std::to_string(kMemoryLimit >> 20) +
                        " MiB",
                    at);
      case LZMA_MEM_ERROR: throw Error(ErrorKind::Io, in_.name(), "out of memory in liblzma", at);
      case LZMA_FORMAT_ERROR: in_.fail("corrupt xz data: not an xz stream header", at);
      case LZMA_OPTIONS_ERROR:
        in_.fail("unsupported xz options (a filter or flag liblzma does not know)", at);
      case LZMA_DATA_ERROR: in_.fail("corrupt xz data", at);
      default: in_.fail("corrupt xz data (liblzma error " + std::to_string(int(rc)) + ")", at);
    }
  }

  bool next_member() override {
    // Stream padding: NUL bytes, a multiple of four in all (xz file format
    // 1.0.4 §2.2).
    uint64_t padding = 0;
    for (;;) {
      const std::span<const std::byte> b = in_.available();
      if (b.empty()) break;
      const size_t zeros = static_cast<size_t>(
          std::find_if(b.begin(), b.end(), [](std::byte x) { return x != std::byte{0}; }) - b.begin());
      in_.consume(zeros);
      padding += zeros;
      if (zeros < b.size()) break;
    }
    if (padding % 4 != 0) in_.fail("xz stream padding that is not a multiple of four bytes", in_.offset());
    if (!another_member(in_, kXzMagic, "xz")) return false;
    lzma_end(&s_);
    init();
    return true;
  }

 private:
  void init() {
    s_ = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s_, kMemoryLimit, 0) != LZMA_OK)
      in_.fail("liblzma could not be initialised", in_.offset());
  }
  CompressedInput& in_;
  lzma_stream s_ = LZMA_STREAM_INIT;
};

}  // namespace

std::unique_ptr<Codec> xz_codec(CompressedInput& in) {
  return std::make_unique<XzCodec>(in);
}

}  // namespace imgtool::sources::detail
