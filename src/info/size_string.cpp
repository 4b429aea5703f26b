// qemu util/cutils.c size_to_str(): the unit is chosen so that the printed
// number stays below 1000 (frexp of val*1024/1000), printed with "%0.3g", so
// 1023488 bytes is "1e+03 KiB" exactly as qemu-img prints it.
#include <cmath>
#include <cstdio>

#include "imgtool/info.hpp"

namespace imgtool {

std::string size_to_str(uint64_t bytes) {
  static constexpr const char* kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int e = 0;
  std::frexp(static_cast<double>(bytes) / (1000.0 / 1024.0), &e);
  int i = (e - 1) / 10;  // 0 for bytes == 0 (frexp gives e = 0)
  if (i < 0) i = 0;
  if (i > 6) i = 6;  // unreachable for uint64_t, kept as a bound
  const uint64_t div = uint64_t(1) << (i * 10);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%0.3g %sB", static_cast<double>(bytes) / static_cast<double>(div),
                kSuffixes[i]);
  return buf;
}

}  // namespace imgtool
