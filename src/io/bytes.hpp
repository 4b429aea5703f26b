#pragma once
// Bounds-checked loads from byte spans and overflow-checked arithmetic: the
// first line of the untrusted-input discipline: checked math, then the file size, then the caps. Every on-disk
// field is read with these; no struct is ever cast onto bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "imgtool/error.hpp"

namespace imgtool::io {

using Bytes = std::span<const std::byte>;

[[noreturn]] void throw_short(size_t need_end, size_t have);

inline void need(Bytes b, size_t off, size_t len) {
  if (off > b.size() || len > b.size() - off) throw_short(off + len, b.size());
}

inline uint8_t load_u8(Bytes b, size_t off) {
  need(b, off, 1);
  return static_cast<uint8_t>(b[off]);
}
inline uint16_t load_be16(Bytes b, size_t off) {
  need(b, off, 2);
  return static_cast<uint16_t>((uint16_t(b[off]) << 8) | uint16_t(b[off + 1]));
}
inline uint32_t load_be32(Bytes b, size_t off) {
  need(b, off, 4);
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | uint32_t(b[off + i]);
  return v;
}
inline uint64_t load_be64(Bytes b, size_t off) {
  need(b, off, 8);
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | uint64_t(b[off + i]);
  return v;
}
inline uint16_t load_le16(Bytes b, size_t off) {
  need(b, off, 2);
  return static_cast<uint16_t>(uint16_t(b[off]) | (uint16_t(b[off + 1]) << 8));
}
inline uint32_t load_le32(Bytes b, size_t off) {
  need(b, off, 4);
  uint32_t v = 0;
  for (size_t i = 4; i-- > 0;) v = (v << 8) | uint32_t(b[off + i]);
  return v;
}
inline uint64_t load_le64(Bytes b, size_t off) {
  need(b, off, 8);
  uint64_t v = 0;
  for (size_t i = 8; i-- > 0;) v = (v << 8) | uint64_t(b[off + i]);
  return v;
}

inline void store_be16(std::span<std::byte> b, size_t off, uint16_t v) {
  need(b, off, 2);
  for (size_t i = 0; i < 2; ++i) b[off + i] = std::byte(v >> (8 * (1 - i)));
}
inline void store_be32(std::span<std::byte> b, size_t off, uint32_t v) {
  need(b, off, 4);
  for (size_t i = 0; i < 4; ++i) b[off + i] = std::byte(v >> (8 * (3 - i)));
}
inline void store_be64(std::span<std::byte> b, size_t off, uint64_t v) {
  need(b, off, 8);
  for (size_t i = 0; i < 8; ++i) b[off + i] = std::byte(v >> (8 * (7 - i)));
}
inline void store_le16(std::span<std::byte> b, size_t off, uint16_t v) {
  need(b, off, 2);
  for (size_t i = 0; i < 2; ++i) b[off + i] = std::byte(v >> (8 * i));
}
inline void store_le32(std::span<std::byte> b, size_t off, uint32_t v) {
  need(b, off, 4);
  for (size_t i = 0; i < 4; ++i) b[off + i] = std::byte(v >> (8 * i));
}
inline void store_le64(std::span<std::byte> b, size_t off, uint64_t v) {
  need(b, off, 8);
  for (size_t i = 0; i < 8; ++i) b[off + i] = std::byte(v >> (8 * i));
}

// Bytes [off, off+len) as a string_view (e.g. a name field).
inline std::string_view load_chars(Bytes b, size_t off, size_t len) {
  need(b, off, len);
  return {reinterpret_cast<const char*>(b.data() + off), len};
}

// Overflow-checked arithmetic: returns false on overflow.
inline bool add_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}
inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
// Throwing forms; `what` names the quantity in the message.
uint64_t checked_add(uint64_t a, uint64_t b, const char* what);
uint64_t checked_mul(uint64_t a, uint64_t b, const char* what);

inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }  // a > 0, no overflow check
inline uint64_t div_round_up(uint64_t v, uint64_t a) { return v / a + (v % a != 0); }
inline bool all_zero(Bytes b) {
  for (std::byte x : b)
    if (x != std::byte{0}) return false;
  return true;
}

std::string hex(uint64_t v);  // "0x1f"

}  // namespace imgtool::io
