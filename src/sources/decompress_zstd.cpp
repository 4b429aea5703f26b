// zstd through libzstd's streaming decoder, which reads frame after frame
// (and skips skippable frames) as `zstd -d` does.
#include <zstd.h>
#include <zstd_errors.h>

#include <string>

#include "sources/decompress_codec.hpp"

namespace imgtool::sources::detail {
namespace {

// 2^27 (128 MiB): zstd's own default limit; every compression level up to
// --ultra -22 stays within it. Frames made with --long=28 and up are refused
// with a message instead of making the decoder allocate up to 2 GiB.
constexpr int kWindowLogMax = 27;

class ZstdCodec final : public Codec {
 public:
  explicit ZstdCodec(CompressedInput& in) : in_(in), d_(ZSTD_createDCtx()) {
    if (!d_ || ZSTD_isError(ZSTD_DCtx_setParameter(d_, ZSTD_d_windowLogMax, kWindowLogMax)))
      in_.fail("libzstd could not be initialised", in_.offset());
  }
  ~ZstdCodec() override { ZSTD_freeDCtx(d_); }

  Step step(std::span<const std::byte> in, std::span<std::byte> out) override {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    const size_t rc = ZSTD_decompressStream(d_, &ob, &ib);
    Step s{ib.pos, ob.pos, false};
    if (ZSTD_isError(rc)) {
      const uint64_t at = in_.offset() + s.consumed;
      const ZSTD_ErrorCode code = ZSTD_getErrorCode(rc);
      if (code == ZSTD_error_frameParameter_windowTooLarge)
        throw Error(ErrorKind::Unsupported, in_.name(),
                    "the zstd frame needs a window larger than the limit of " +
                        std::to_string((uint64_t(1) << kWindowLogMax) >> 20) +
                        " MiB (made with zstd --long?)",
                    at);
      if (code == ZSTD_error_memory_allocation)
        throw Error(ErrorKind::Io, in_.name(), "out of memory in libzstd", at);
      // At a frame boundary, bytes that are no frame are trailing garbage.
      if (between_frames_ && code == ZSTD_error_prefix_unknown)
        in_.fail("trailing bytes after the zstd stream that are not another zstd frame", at);
      in_.fail(std::string("corrupt zstd data: ") + ZSTD_getErrorName(rc), at);
    }
    // 0: a frame is complete and flushed. The next call starts a new one;
    // the driver's next_member() decides whether there is one.
    s.member_end = rc == 0;
    between_frames_ = rc == 0;
    return s;
  }

  bool next_member() override {
    // libzstd starts the next frame (or rejects what follows) by itself:
    // only the end of the input is decided here.
    return !in_.available().empty();
  }

 private:
  CompressedInput& in_;
  ZSTD_DCtx* d_;
  bool between_frames_ = false;
};

}  // namespace

std::unique_ptr<Codec> zstd_codec(CompressedInput& in) {
  return std::make_unique<ZstdCodec>(in);
}

}  // namespace imgtool::sources::detail
