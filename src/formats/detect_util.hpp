#pragma once
// Small helpers shared by the detection-only drivers (detect_*.cpp) and the
// partition-table reader: noexcept probes over the probe window, and GUIDs in
// Microsoft's mixed-endian on-disk layout (VHDX, GPT).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace imgtool::formats {

// True when `b` holds `magic` at `off` (false, never a throw, when `b` is short):
// probes run on arbitrary bytes and are noexcept.
inline bool has_magic(std::span<const std::byte> b, size_t off, std::string_view magic) noexcept {
  if (off > b.size() || magic.size() > b.size() - off) return false;
  for (size_t i = 0; i < magic.size(); ++i)
    if (static_cast<unsigned char>(b[off + i]) != static_cast<unsigned char>(magic[i])) return false;
  return true;
}

using Guid = std::array<std::byte, 16>;

// "8B7CA206-4790-4B9A-B8FE-575F050F886E" → on-disk bytes: the first three
// fields little-endian, the last two as written (MS-VHDX §2.2.1, UEFI 2.10
// Appendix A). Evaluated at compile time for the constants below; a malformed
// literal fails to compile (the throw is not a constant expression).
consteval Guid guid_from_string(std::string_view s) {
  if (s.size() != 36) throw "GUID literal must be 36 characters";
  auto nib = [](char c) -> unsigned {
    if (c >= '0' && c <= '9') return unsigned(c - '0');
    if (c >= 'A' && c <= 'F') return unsigned(c - 'A' + 10);
    if (c >= 'a' && c <= 'f') return unsigned(c - 'a' + 10);
    throw "bad hex digit in GUID literal";
  };
  std::array<unsigned, 16> v{};
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '-') {
      ++i;
      continue;
    }
    v[n++] = nib(s[i]) * 16 + nib(s[i + 1]);
    i += 2;
  }
  // Byte order on disk: 3 2 1 0 | 5 4 | 7 6 | 8 9 | 10..15
  constexpr std::array<size_t, 16> order{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  Guid g{};
  for (size_t i = 0; i < 16; ++i) g[i] = std::byte(v[order[i]]);
  return g;
}

inline bool guid_at(std::span<const std::byte> b, size_t off, const Guid& g) noexcept {
  if (off > b.size() || g.size() > b.size() - off) return false;
  for (size_t i = 0; i < g.size(); ++i)
    if (b[off + i] != g[i]) return false;
  return true;
}

// Bytes of an on-disk string (name, path) made safe for one-line messages:
// printable ASCII kept, anything else '?', at most `max` characters ("..." marks a cut).
inline std::string printable(std::string_view s, size_t max = 256) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

// On-disk GUID bytes at `off` (caller checked the bounds) → canonical upper-case text.
std::string guid_to_string(std::span<const std::byte> b, size_t off);

}  // namespace imgtool::formats
