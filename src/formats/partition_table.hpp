#pragma once
// Partition table detection for raw images: "gpt", "mbr" or "" (none).
#include <string>

#include "imgtool/source.hpp"

namespace imgtool::formats {
std::string detect_partition_table(const ByteSource& src);
}
