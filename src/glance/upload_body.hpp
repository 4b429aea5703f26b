#pragma once
// Request bodies for the image upload, pulled by libcurl's read callback and
// hashed (md5 + sha512, imgtool::MultiHasher) as they go out, so the digests
// are those of exactly the bytes Glance received. Memory is bounded: the
// file body reads straight into curl's buffer; the converted body runs
// convert() on its own thread into a queue of at most kMaxQueued buffers.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/image.hpp"
#include "imgtool/sink.hpp"
#include "imgtool/source.hpp"

namespace imgtool::glance {

using ProgressFn = std::function<void(uint64_t done, std::optional<uint64_t> total)>;

class UploadBody {
 public:
  virtual ~UploadBody() = default;
  // curl's read callback: fill `out`, 0 = end. Throws on errors.
  virtual size_t read(std::span<std::byte> out) = 0;
  virtual std::optional<uint64_t> size() const = 0;
  // After the last read: md5 and sha512 hex of what was read, byte count.
  struct Digests {
    std::string md5, sha512;
    uint64_t bytes = 0;
  };
  virtual Digests finish() = 0;
};

// The file's bytes as they are. Throws Error(Io) when the file shrinks.
// `release_sent`: tell the source (ByteSource::consumed) each range once it
// was sent, so a one-pass spool holds none of a raw image's bytes.
// `pad_to`: zeros after the source's end up to a multiple of it (raw's
// whole sectors; 0: none).
std::unique_ptr<UploadBody> file_body(std::shared_ptr<const ByteSource> src, ProgressFn progress,
                                      bool release_sent = false, uint64_t pad_to = 0);

// convert_image(img, ·, opts) streamed, planned first (plan_output(): the
// size is known for raw, qcow2 without -c and vmdk monolithicSparse, else
// nullopt: a chunked upload). Writing any other number of bytes than the
// planned size makes read() throw Error(Io).
std::unique_ptr<UploadBody> converted_body(std::shared_ptr<const Image> img, ConvertOptions opts,
                                           ProgressFn progress);

}  // namespace imgtool::glance
