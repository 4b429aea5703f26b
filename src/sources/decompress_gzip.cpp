// gzip (RFC 1952) through zlib's inflate; members one after the other are one
// stream, as `gzip -d` reads them.
#include <zlib.h>

#include <algorithm>
#include <string>

#include "sources/decompress_codec.hpp"

namespace imgtool::sources::detail {
namespace {

constexpr std::string_view kGzipMagic("\x1f\x8b", 2);

class GzipCodec final : public Codec {
 public:
  explicit GzipCodec(CompressedInput& in) : in_(in) {
    // 15 + 16: a 32 KiB window, gzip wrapper only (no zlib or raw deflate).
    if (inflateInit2(&z_, 15 + 16) != Z_OK) in_.fail("zlib could not be initialised", in_.offset());
  }
  ~GzipCodec() override { inflateEnd(&z_); }

  Step step(std::span<const std::byte> in, std::span<std::byte> out) override {
    // zlib counts in uInt: hand it at most 1 GiB per call.
    constexpr size_t kMax = size_t(1) << 30;
    z_.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
    z_.avail_in = static_cast<uInt>(std::min(in.size(), kMax));
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(std::min(out.size(), kMax));
    const uInt in0 = z_.avail_in, out0 = z_.avail_out;
    const int rc = inflate(&z_, Z_NO_FLUSH);
    Step s{in0 - z_.avail_in, out0 - z_.avail_out, rc == Z_STREAM_END};
    switch (rc) {
      case Z_OK:
      case Z_STREAM_END:
      case Z_BUF_ERROR:  // no progress possible: the caller sees it
        return s;
      case Z_MEM_ERROR:
        throw Error(ErrorKind::Io, in_.name(), "out of memory in zlib", in_.offset() + s.consumed);
      default:  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
        in_.fail(std::string("corrupt gzip data: ") + (z_.msg ? z_.msg : "inflate failed"),
                 in_.offset() + s.consumed);
    }
  }

  bool next_member() override {
    if (!another_member(in_, kGzipMagic, "gzip")) return false;
    inflateReset(&z_);
    return true;
  }

 private:
  CompressedInput& in_;
  z_stream z_{};
};

}  // namespace

std::unique_ptr<Codec> gzip_codec(CompressedInput& in) {
  return std::make_unique<GzipCodec>(in);
}

}  // namespace imgtool::sources::detail
