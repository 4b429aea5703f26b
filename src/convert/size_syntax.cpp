// qemu's size syntax, shared by -S (the CLI) and the qcow2 -o options.
#include <charconv>

#include "imgtool/convert.hpp"

namespace imgtool {

std::optional<uint64_t> parse_qemu_size(std::string_view s) {
  uint64_t n = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, n);
  if (ec != std::errc() || p == b) return std::nullopt;
  unsigned shift = 0;
  if (p != e) {
    switch (*p) {
      case 'b':
      case 'B': shift = 0; break;
      case 'k':
      case 'K': shift = 10; break;
      case 'm':
      case 'M': shift = 20; break;
      case 'g':
      case 'G': shift = 30; break;
      case 't':
      case 'T': shift = 40; break;
      default: return std::nullopt;
    }
    if (p + 1 != e) return std::nullopt;
  }
  if (n > (uint64_t{1} << (63 - shift))) return std::nullopt;
  return n << shift;
}

}  // namespace imgtool
