// Compressed qcow2 clusters (qemu block/qcow2-threads.c qcow2_zlib_decompress,
// qcow2_zstd_decompress): zlib is raw deflate with a 4 KiB window (-12, no
// zlib header); zstd is one or more frames streamed until the cluster is full.
// Each call owns its own stream state, so reads stay thread-safe.
#include "formats/qcow2/qcow2_decompress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <memory>

#include "imgtool/error.hpp"

namespace imgtool::qcow2 {
namespace {

struct InflateEnd {
  void operator()(z_stream* z) const noexcept { inflateEnd(z); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const noexcept { ZSTD_freeDCtx(c); }
};

bool inflate_raw(std::span<const std::byte> in, std::span<std::byte> out, size_t* used) {
  z_stream zs{};
  if (inflateInit2(&zs, -12) != Z_OK) return false;
  std::unique_ptr<z_stream, InflateEnd> guard(&zs);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int ret = inflate(&zs, Z_FINISH);
  *used = zs.total_in;
  // The stored size is only known to 512-byte precision, so the input may
  // end early or carry padding: qemu accepts Z_BUF_ERROR when the output is full.
  return (ret == Z_STREAM_END || ret == Z_BUF_ERROR) && zs.avail_out == 0;
}

bool zstd_stream(std::span<const std::byte> in, std::span<std::byte> out, size_t* used) {
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) return false;
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  size_t ret = 0;
  while (ob.pos < ob.size) {
    const size_t last_in = ib.pos, last_out = ob.pos;
    ret = ZSTD_decompressStream(dctx.get(), &ob, &ib);
    if (ZSTD_isError(ret)) return false;
    if (ib.pos <= last_in && ob.pos <= last_out) return false;  // no progress: truncated
  }
  *used = ib.pos;
  // ret > 0: the frame is not finished, i.e. it decodes to more than a cluster.
  return ret == 0;
}

}  // namespace

bool decompress_cluster(uint8_t compression_type, std::span<const std::byte> in, std::span<std::byte> out,
                        size_t* used) {
  size_t n = 0;
  const bool ok = compression_type == 1 ? zstd_stream(in, out, &n) : inflate_raw(in, out, &n);
  if (used) *used = n;
  return ok;
}

}  // namespace imgtool::qcow2
