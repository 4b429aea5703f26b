#pragma once
// Files named by a VMDK descriptor (extent files). The gate of STYLE.md §2:
// only plain names (no '/', hence no absolute path and no '..') beside the
// descriptor are ever stat'ed or opened, and opened only when the caller set
// OpenOptions::allow_external_files — with O_NOFOLLOW and only if the result is
// a regular file (a FIFO or device never blocks or leaks).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "imgtool/source.hpp"

namespace imgtool::vmdk {

// True for a non-empty name without '/' that is not "." or "..".
bool is_plain_name(std::string_view name) noexcept;

// Why `name` may not be opened ("" when it is a plain name).
std::string unsafe_reason(std::string_view name);

// The extent path as qemu 7.2 prints it: absolute names as-is, others
// appended to the descriptor's directory prefix (bdrv_dirname).
std::string qemu_extent_path(const std::string& descriptor_path, const std::string& name);

// Allocated bytes (st_blocks*512) of a plain-named regular file beside the
// descriptor, via lstat (never opened); nullopt otherwise.
std::optional<uint64_t> plain_file_allocated_size(const std::string& descriptor_path,
                                                  const std::string& name);

// Opens a plain-named extent beside the descriptor (caller checked
// allow_external_files). Throws Unsafe for non-plain names or non-regular
// files, Io when it cannot be opened.
std::shared_ptr<const ByteSource> open_extent_file(const std::string& descriptor_path,
                                                   const std::string& name);

}  // namespace imgtool::vmdk
