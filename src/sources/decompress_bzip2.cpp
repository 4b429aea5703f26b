// bzip2 through libbz2; streams one after the other (pbzip2, `cat a.bz2
// b.bz2`) are one stream, as `bzip2 -d` reads them.
#include <bzlib.h>

#include <algorithm>
#include <string>

#include "sources/decompress_codec.hpp"

namespace imgtool::sources::detail {
namespace {

constexpr std::string_view kBzip2Magic("BZh", 3);

class Bzip2Codec final : public Codec {
 public:
  explicit Bzip2Codec(CompressedInput& in) : in_(in) { init(); }
  ~Bzip2Codec() override { BZ2_bzDecompressEnd(&bz_); }

  Step step(std::span<const std::byte> in, std::span<std::byte> out) override {
    constexpr size_t kMax = size_t(1) << 30;  // libbz2 counts in unsigned int
    bz_.next_in = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
    bz_.avail_in = static_cast<unsigned>(std::min(in.size(), kMax));
    bz_.next_out = reinterpret_cast<char*>(out.data());
    bz_.avail_out = static_cast<unsigned>(std::min(out.size(), kMax));
    const unsigned in0 = bz_.avail_in, out0 = bz_.avail_out;
    const int rc = BZ2_bzDecompress(&bz_);
    Step s{in0 - bz_.avail_in, out0 - bz_.avail_out, rc == BZ_STREAM_END};
    switch (rc) {
      case BZ_OK:
      case BZ_STREAM_END: return s;
      case BZ_MEM_ERROR:
        throw Error(ErrorKind::Io, in_.name(), "out of memory in libbz2", in_.offset() + s.consumed);
      case BZ_DATA_ERROR_MAGIC: in_.fail("corrupt bzip2 data: bad stream magic", in_.offset() + s.consumed);
      default:  // BZ_DATA_ERROR, BZ_PARAM_ERROR
        in_.fail("corrupt bzip2 data: a block fails its CRC or does not decode", in_.offset() + s.consumed);
    }
  }

  bool next_member() override {
    if (!another_member(in_, kBzip2Magic, "bzip2")) return false;
    BZ2_bzDecompressEnd(&bz_);
    init();
    return true;
  }

 private:
  void init() {
    bz_ = bz_stream{};
    // small = 0: the fast decoder (at most ~3.7 MB for a 900k block).
    if (BZ2_bzDecompressInit(&bz_, 0, 0) != BZ_OK) in_.fail("libbz2 could not be initialised", in_.offset());
  }
  CompressedInput& in_;
  bz_stream bz_{};
};

}  // namespace

std::unique_ptr<Codec> bzip2_codec(CompressedInput& in) {
  return std::make_unique<Bzip2Codec>(in);
}

}  // namespace imgtool::sources::detail
