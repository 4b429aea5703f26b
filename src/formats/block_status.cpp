// Image::block_status() for drivers that do not know where their bytes live:
// qemu's flags derived from the extent kind (block/io.c bdrv_co_block_status:
// DATA or ZERO from the driver means ALLOCATED; an unallocated range of an
// image without a backing file reads as zeros).
#include "imgtool/image.hpp"

namespace imgtool {

BlockStatus Image::block_status(uint64_t offset, uint64_t max_len) const {
  const Extent e = map(offset, max_len);
  BlockStatus s;
  s.offset = e.offset;
  s.length = e.length;
  s.compressed = e.compressed;
  s.data = e.kind == ExtentKind::Data;
  s.zero = e.kind != ExtentKind::Data;
  s.allocated = e.kind != ExtentKind::Unallocated;
  return s;
}

}  // namespace imgtool
