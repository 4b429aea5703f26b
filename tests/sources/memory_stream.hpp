#pragma once
// A ByteStream over bytes in memory, for the tests of the source layer.
#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "imgtool/stream.hpp"

namespace imgtool::test {

// Bytes in memory, handed out at most `chunk` at a time (a pipe gives short
// reads too); a size hint only when asked for.
class MemoryStream final : public ByteStream {
 public:
  MemoryStream(std::string bytes, std::string name, size_t chunk = 64 * 1024, bool hint = false)
      : bytes_(std::move(bytes)), name_(std::move(name)), chunk_(chunk), hint_(hint) {}
  const std::string& name() const override { return name_; }
  size_t read(std::span<std::byte> out) override {
    const size_t n = std::min({out.size(), chunk_, bytes_.size() - pos_});
    std::memcpy(out.data(), bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::optional<uint64_t> size_hint() const override {
    return hint_ ? std::optional<uint64_t>(bytes_.size()) : std::nullopt;
  }
  uint64_t position() const override { return pos_; }

 private:
  std::string bytes_;
  std::string name_;
  size_t chunk_;
  bool hint_;
  size_t pos_ = 0;
};

}  // namespace imgtool::test
