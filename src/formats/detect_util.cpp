#include "formats/detect_util.hpp"

#include "io/bytes.hpp"

namespace imgtool::formats {

std::string guid_to_string(std::span<const std::byte> b, size_t off) {
  io::need(b, off, 16);
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr size_t kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    auto v = static_cast<unsigned>(b[off + kOrder[i]]);
    s += kHex[v >> 4];
    s += kHex[v & 15];
  }
  return s;
}

}  // namespace imgtool::formats
