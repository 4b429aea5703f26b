#pragma once
// The one comparison between what publish sent and what Glance recorded.
// Field by field it is compare_with_glance() (src/hash, the same function
// `checksum --verify` uses); this adds the status, a server hashing with
// another algorithm, and an image Glance converted itself during an import
// (the image_conversion plugin rewrites disk_format, size and hashes).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "imgtool/checksum.hpp"

namespace imgtool::publishing {

struct SentImage {
  GlanceDigests digests;  // over the bytes sent (md5 + sha512)
  std::string disk_format;
  std::optional<uint64_t> virtual_size;  // of the image sent, when known
};

// Other digests of the same image, when Glance's record is not about the
// bytes as sent. Each returns nullopt when it cannot be computed (a stream
// that cannot be read again).
struct OtherDigests {
  std::function<std::optional<GlanceDigests>(HashAlgo)> rehash;  // the sent bytes, another algorithm
  std::function<std::optional<GlanceDigests>()> as_raw;          // the image converted to raw (sha512)
};

struct Verification {
  std::vector<std::string> differences;  // empty = verified
  std::string hash_algo;                 // the os_hash_algo compared; empty = not compared
  std::string what;                      // what was compared, for the report
  std::vector<std::string> notes;        // one line each, for the user
};

Verification verify_record(const GlanceImageRecord& rec, const SentImage& sent, const OtherDigests& other);

}  // namespace imgtool::publishing
