#include "io/bytes.hpp"

#include <charconv>

namespace imgtool::io {

void throw_short(size_t need_end, size_t have) {
  throw Error(ErrorKind::Format, "",
              "structure needs " + std::to_string(need_end) + " bytes, only " +
                  std::to_string(have) + " available");
}

uint64_t checked_add(uint64_t a, uint64_t b, const char* what) {
  uint64_t r;
  if (add_overflows(a, b, &r))
    throw Error(ErrorKind::Format, "", std::string(what) + " overflows 64 bits");
  return r;
}

uint64_t checked_mul(uint64_t a, uint64_t b, const char* what) {
  uint64_t r;
  if (mul_overflows(a, b, &r))
    throw Error(ErrorKind::Format, "", std::string(what) + " overflows 64 bits");
  return r;
}

std::string hex(uint64_t v) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  return "0x" + std::string(buf, r.ptr);
}

}  // namespace imgtool::io
