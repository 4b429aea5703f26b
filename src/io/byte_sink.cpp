// ByteSink's defaults (zeros as written bytes, no random access) and
// ObservedSink, the hook that lets a hash see every byte a writer emits.
#include <algorithm>

#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"

namespace imgtool {

void ByteSink::write_zeros(uint64_t len) {
  static const std::byte zeros[65536] = {};
  while (len > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, sizeof zeros));
    write(std::span<const std::byte>(zeros, n));
    len -= n;
  }
}

void ByteSink::pwrite(uint64_t offset, std::span<const std::byte>) {
  throw Error(ErrorKind::Unsupported, name(), "this output is a stream: cannot go back to patch it", offset);
}

void ObservedSink::write(std::span<const std::byte> data) {
  observer_(data);
  inner_.write(data);
}

void ObservedSink::write_zeros(uint64_t len) {
  static const std::byte zeros[65536] = {};
  uint64_t left = len;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof zeros));
    observer_(std::span<const std::byte>(zeros, n));
    left -= n;
  }
  inner_.write_zeros(len);
}

}  // namespace imgtool
