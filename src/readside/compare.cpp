// `qemu-img compare` (qemu-img.c img_compare, 7.2): walks both images'
// block statuses in step; skips what both read as zeros, reads and compares
// what both allocate (sector by sector), checks that what only one allocates
// reads as zeros, then that the larger image's extra area reads as zeros.
#include <algorithm>
#include <cstring>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/readside.hpp"

namespace imgtool {
namespace {

constexpr uint64_t kIoBuf = 2u << 20;  // IO_BUF_SIZE
constexpr uint64_t kSector = 512;

// A block status failed (exit 3) or a read failed (exit 4): carried out of the walk.
struct Stop {
  CompareOutcome outcome;
  Error error;
};

BlockStatus status_of(const Image& img, uint64_t offset, uint64_t len) {
  try {
    return img.block_status(offset, len);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Interrupted) throw;
    throw Stop{CompareOutcome::StatusError, e.with_path(img.info().filename)};
  }
}

void read_into(const Image& img, uint64_t offset, std::vector<std::byte>& buf, uint64_t len) {
  buf.resize(len);
  try {
    img.read(offset, buf);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Interrupted) throw;
    throw Stop{CompareOutcome::ReadError, e.with_path(img.info().filename)};
  }
}

bool all_zero(const std::byte* p, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

// qemu-img find_nonzero: the first sector that is not all zeros, as a byte
// index; nullopt when all are zero.
std::optional<uint64_t> first_nonzero_sector(const std::vector<std::byte>& b) {
  for (uint64_t i = 0; i < b.size(); i += kSector)
    if (!all_zero(b.data() + i, std::min<uint64_t>(kSector, b.size() - i))) return i;
  return std::nullopt;
}

// qemu's BDRV_BLOCK_* word, for -s: statuses must be equal flag for flag
// (EOF: the answer reaches the end of its image).
unsigned flags(const BlockStatus& s, uint64_t image_size) {
  return (s.data ? 1u : 0u) | (s.zero ? 2u : 0u) | (s.host_offset ? 4u : 0u) | (s.allocated ? 8u : 0u) |
         (s.offset + s.length == image_size ? 16u : 0u);
}

}  // namespace

CompareResult compare_images(const Image& a, const Image& b, const CompareOptions& opts) {
  CompareResult r;
  const uint64_t size1 = a.info().virtual_size, size2 = b.info().virtual_size;
  const uint64_t total = std::min(size1, size2), base = std::max(size1, size2);
  const auto progress = [&](uint64_t done) {
    if (opts.progress) opts.progress(done, base);
  };
  const auto say = [&](const std::string& line) {
    r.output += line;
    if (opts.print) opts.print(line);
  };
  const auto differ = [&](const std::string& line) {
    r.outcome = CompareOutcome::Different;
    say(line);
    return r;
  };
  progress(0);
  if (opts.strict && size1 != size2) return differ("Strict mode: Image size mismatch!\n");
  std::vector<std::byte> buf1, buf2;
  uint64_t offset = 0;
  try {
    for (uint64_t steps = 0; offset < total; ++steps) {
      if (steps % 256 == 255) throw_if_interrupted();
      const BlockStatus s1 = status_of(a, offset, size1 - offset);
      const BlockStatus s2 = status_of(b, offset, size2 - offset);
      uint64_t chunk = std::min(s1.length, s2.length);
      if (opts.strict && flags(s1, size1) != flags(s2, size2))
        return differ("Strict mode: Offset " + std::to_string(offset) + " block status mismatch!\n");
      if (s1.zero && s2.zero) {
        // both read as zeros
      } else if (s1.allocated == s2.allocated) {
        if (s1.allocated) {
          chunk = std::min(chunk, kIoBuf);
          read_into(a, offset, buf1, chunk);
          read_into(b, offset, buf2, chunk);
          // qemu-img compare_buffers: sector by sector; the first differing one.
          for (uint64_t i = 0; i < chunk; i += kSector) {
            const uint64_t n = std::min(kSector, chunk - i);
            if (std::memcmp(buf1.data() + i, buf2.data() + i, n) != 0)
              return differ("Content mismatch at offset " + std::to_string(offset + i) + "!\n");
          }
        }
      } else {
        chunk = std::min(chunk, kIoBuf);
        read_into(s1.allocated ? a : b, offset, buf1, chunk);
        if (auto i = first_nonzero_sector(buf1))
          return differ("Content mismatch at offset " + std::to_string(offset + *i) + "!\n");
      }
      offset += chunk;
      progress(offset);
    }
    if (size1 != size2) {
      say("Warning: Image size mismatch!\n");
      const Image& over = size1 > size2 ? a : b;
      for (uint64_t steps = 0; offset < base; ++steps) {
        if (steps % 256 == 255) throw_if_interrupted();
        const BlockStatus s = status_of(over, offset, base - offset);
        uint64_t chunk = s.length;
        if (s.allocated && !s.zero) {
          chunk = std::min(chunk, kIoBuf);
          read_into(over, offset, buf1, chunk);
          if (auto i = first_nonzero_sector(buf1))
            return differ("Content mismatch at offset " + std::to_string(offset + *i) + "!\n");
        }
        offset += chunk;
        progress(offset);
      }
    }
  } catch (const Stop& stop) {
    r.outcome = stop.outcome;
    r.error = stop.error;
    return r;
  }
  say("Images are identical.\n");
  r.outcome = CompareOutcome::Identical;
  return r;
}

}  // namespace imgtool
