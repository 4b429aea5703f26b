#pragma once
// Writing to a descriptor, shared by the file and block-device sinks: a
// pwrite loop that retries EINTR and short writes, and the one wording of a
// write error (ENOSPC and EFBIG name the bytes written so far).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "imgtool/error.hpp"

namespace imgtool::io {

// Writes all of `data` at `offset`. Returns 0, or the errno of the failed
// write (a write that makes no progress counts as ENOSPC, so the loop ends).
int pwrite_all(int fd, std::span<const std::byte> data, uint64_t offset) noexcept;

// The error for a failed write to `name` at byte `at`, errno `err`. `note` is
// appended to the message when not empty (e.g. what the failure leaves behind).
Error write_error(const std::string& name, int err, uint64_t at, const std::string& note = "");

}  // namespace imgtool::io
