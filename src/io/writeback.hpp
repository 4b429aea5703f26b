#pragma once
// Writeback behind a forward writer. Without it a conversion only dirties the
// page cache, and the fsync before the rename (-t writeback) then writes the
// whole image while nothing else happens: the time of the copy plus the time
// of the disk. Starting the kernel's writeback of each range soon after it
// is written overlaps the two, so the final fsync finds little left; waiting
// for ranges well behind the writer bounds the dirty memory one conversion
// leaves (the kernel would otherwise throttle the writer anyway, later and
// in bigger stalls, and slow down every other process writing meanwhile).
#include <cstdint>

namespace imgtool::io {

class WritebackBehind {
 public:
  // Writeback of [started, end) starts once `step` bytes are written past
  // the last start; ranges more than `window` bytes behind the newest start
  // are waited for.
  static constexpr uint64_t kStep = uint64_t{8} << 20;
  static constexpr uint64_t kWindow = uint64_t{64} << 20;

  // The file open as `fd` now holds everything below `end` (the writer's
  // position).
  // Returns 0, or the errno of a failed writeback: an error that
  // sync_file_range() reports is consumed by it (the file's error cursor
  // advances), so a later fsync() would not see it and the caller must
  // treat it as a failed write. A file or device that does not support
  // sync_file_range() turns this into a no-op (the fsync does it all).
  int advance(int fd, uint64_t end) noexcept;

 private:
  bool off_ = false;
  uint64_t started_ = 0;  // writeback started below here
  uint64_t waited_ = 0;   // written back below here
};

}  // namespace imgtool::io
