#pragma once
// The bytes publish sends: the image as it is, or converted. A body is a
// producer that writes every byte, in order, into a sink (the hash tee, then
// the fan-out to the targets: fanout.hpp); it runs on a thread of its own
// while the uploads pull. Its size is known in advance when it can be (a
// file, a raw output), so the uploads carry a Content-Length.
#include <cstdint>
#include <functional>
#include <optional>

#include "imgtool/glance.hpp"
#include "imgtool/sink.hpp"
#include "publish/prepare.hpp"

namespace imgtool::publishing {

struct Body {
  std::optional<uint64_t> size;  // bytes the producer will write; none = chunked uploads
  bool converted = false;        // the bytes are a conversion (not the source's own bytes)
  // Writes the whole body into `out` (does not call out.finish()). Throws on
  // read errors, a source that shrinks, or the converter's errors.
  std::function<void(ByteSink& out)> produce;
};

// The body for `p` under `opts`: convert_to -> convert_image(); raw from a
// stream of unknown size converted to raw -> the bytes as they arrive,
// padded to whole sectors (what the raw writer would write); otherwise the
// source's bytes as they are.
Body make_body(const PreparedImage& p, const PublishOptions& opts);

}  // namespace imgtool::publishing
