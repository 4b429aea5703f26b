#include "sources/peek_stream.hpp"

#include <algorithm>
#include <cstring>

namespace imgtool::sources {

PeekStream::PeekStream(std::unique_ptr<ByteStream> inner) : inner_(std::move(inner)) {}

std::span<const std::byte> PeekStream::peek(size_t n) {
  if (head_ > 0) {  // keep the unread bytes at the front
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  while (buf_.size() < n) {
    const size_t have = buf_.size();
    buf_.resize(n);
    const size_t got = inner_->read(std::span(buf_).subspan(have));
    buf_.resize(have + got);
    if (got == 0) break;
  }
  return std::span<const std::byte>(buf_).first(std::min(n, buf_.size()));
}

size_t PeekStream::read(std::span<std::byte> out) {
  if (out.empty()) return 0;
  size_t n;
  if (head_ < buf_.size()) {
    n = std::min(out.size(), buf_.size() - head_);
    std::memcpy(out.data(), buf_.data() + head_, n);
    head_ += n;
    if (head_ == buf_.size()) {
      buf_.clear();
      head_ = 0;
    }
  } else {
    n = inner_->read(out);
  }
  pos_ += n;
  return n;
}

}  // namespace imgtool::sources
