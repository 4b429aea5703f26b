// The producers behind publish's body (body.hpp).
#include "publish/body.hpp"

#include <algorithm>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"

namespace imgtool::publishing {
namespace {

constexpr size_t kPiece = size_t{1} << 20;

// The source's bytes from offset 0 to its end (`size`, or wherever a stream
// ends when none is known), then zeros up to a multiple of `pad_to`.
// `release_sent`: each range is handed back to the source
// (ByteSource::consumed) once written, so a one-pass spool holds none of a
// raw image's bytes. A regular file's holes become write_zeros() (hashed and
// sent as zeros without being read).
void copy_source(const ByteSource& src, std::optional<uint64_t> size, bool release_sent, uint64_t pad_to,
                 ByteSink& out) {
  std::vector<std::byte> buf(kPiece);
  uint64_t off = 0;
  const bool holes = src.is_regular_file() && size.has_value();
  for (;;) {
    throw_if_interrupted();
    if (size && off >= *size) break;
    if (holes) {
      const uint64_t data = std::min(src.next_data(off), *size);
      if (data > off) {
        out.write_zeros(data - off);
        off = data;
        continue;
      }
    }
    uint64_t want = kPiece;
    if (size) want = std::min<uint64_t>(want, *size - off);
    if (holes) want = std::min(want, std::max<uint64_t>(src.next_hole(off), off + 1) - off);
    const size_t n = src.read_at(off, std::span(buf).first(static_cast<size_t>(want)));
    if (n == 0) {
      if (!size) break;  // a stream's end
      throw Error(ErrorKind::Io, src.name(),
                  "file shrank during the upload: read ended at byte " + std::to_string(off) + " of " +
                      std::to_string(*size));
    }
    out.write(std::span(buf).first(n));
    if (release_sent) src.consumed(off, n);
    off += n;
  }
  if (pad_to > 1 && off % pad_to != 0) out.write_zeros(pad_to - off % pad_to);
}

}  // namespace

Body make_body(const PreparedImage& p, const PublishOptions& opts) {
  Body b;
  const ImageInfo& info = p.image->info();
  // raw to raw from a stream whose size is its end: the conversion is the
  // bytes themselves (padded to whole sectors, as the raw writer pads), so
  // they are sent as they arrive instead of being held until the size is known.
  const bool identity = opts.convert_to == Format::Raw && p.detected_format == Format::Raw &&
                        opts.convert_options.empty() && info.virtual_size_pending;
  if (identity) {
    b.converted = true;
    b.produce = [src = p.source](ByteSink& out) {
      copy_source(*src, std::nullopt, /*release_sent=*/true, /*pad_to=*/512, out);
    };
    return b;
  }
  if (opts.convert_to) {
    ConvertOptions co;
    co.target_format = *opts.convert_to;
    co.options = opts.convert_options;
    b.converted = true;
    // The output's length when the target's layout fixes it before the first
    // byte (raw, qcow2 without -c, vmdk monolithicSparse): planned here,
    // before any connection is opened, so the uploads carry a Content-Length
    // (a store such as RBD then sizes the image once instead of growing it)
    // and the PUT never sits idle. The conversion reuses the plan, and
    // writing any other number of bytes than announced is an error.
    auto plan = std::make_shared<const OutputPlan>(plan_output(*p.image, co));
    b.size = plan->size;
    b.produce = [img = p.image, co, plan](ByteSink& out) { convert_image(*img, out, co, *plan); };
    return b;
  }
  b.size = p.source->known_size();
  // Sent as they are: a one-pass spool may let go of a raw image's bytes
  // (other formats' tables are walked again once the body went out).
  const bool release = p.detected_format == Format::Raw;
  b.produce = [src = p.source, size = b.size, release](ByteSink& out) {
    copy_source(*src, size, release, 0, out);
  };
  return b;
}

}  // namespace imgtool::publishing
