// BackedImage: the top image's Data/Zero extents win; Unallocated ranges come
// from the backing image (which may itself be a BackedImage: chains nest).
#include "formats/backed_image.hpp"

#include <algorithm>
#include <cstring>

#include "imgtool/error.hpp"

namespace imgtool::formats {
namespace {

class BackedImage final : public Image {
 public:
  BackedImage(std::shared_ptr<const Image> top, std::shared_ptr<const Image> backing)
      : top_(std::move(top)), backing_(std::move(backing)), info_(top_->info()) {
    // The flattened image stands alone.
    info_.backing_filename.reset();
    info_.full_backing_filename.reset();
    info_.backing_filename_format.reset();
    bsize_ = backing_->info().virtual_size;
  }

  const ImageInfo& info() const override { return info_; }

  Extent map(uint64_t offset, uint64_t max_len) const override {
    Extent e = top_->map(offset, max_len);
    if (e.kind != ExtentKind::Unallocated || offset >= bsize_) return e;
    Extent b = backing_->map(offset, std::min(e.length, bsize_ - offset));
    b.offset = offset;
    b.length = std::max<uint64_t>(1, std::min(b.length, e.length));
    return b;
  }

  // qemu-img map's walk down the chain (get_block_status): the top answers
  // where it allocates; past the backing file's end its unallocated ranges
  // read as zeros (bdrv_co_block_status); elsewhere the next layer answers,
  // one level deeper.
  BlockStatus block_status(uint64_t offset, uint64_t max_len) const override {
    BlockStatus t = top_->block_status(offset, max_len);
    if (t.allocated) return t;
    if (offset >= bsize_) {
      t.zero = true;
      return t;
    }
    BlockStatus b = backing_->block_status(offset, std::min(t.length, bsize_ - offset));
    b.offset = offset;
    b.length = std::max<uint64_t>(1, std::min(b.length, t.length));
    b.depth += 1;
    return b;
  }

  void read(uint64_t offset, std::span<std::byte> out) const override {
    uint64_t done = 0;
    for (int guard = 0; done < out.size(); ++guard) {
      const uint64_t pos = offset + done;
      Extent e = top_->map(pos, out.size() - done);
      if (e.length == 0 || guard > (1 << 24))
        throw Error(ErrorKind::Format, info_.filename, "map() returned an empty extent", pos);
      const uint64_t n = std::min<uint64_t>(e.length, out.size() - done);
      std::span<std::byte> part = out.subspan(static_cast<size_t>(done), static_cast<size_t>(n));
      if (e.kind != ExtentKind::Unallocated) {
        top_->read(pos, part);
      } else {
        const uint64_t from_backing = pos >= bsize_ ? 0 : std::min(n, bsize_ - pos);
        if (from_backing > 0) backing_->read(pos, part.first(static_cast<size_t>(from_backing)));
        std::memset(part.data() + from_backing, 0, static_cast<size_t>(n - from_backing));
      }
      done += n;
    }
  }

  CheckReport check() const override { return top_->check(); }

 private:
  std::shared_ptr<const Image> top_;
  std::shared_ptr<const Image> backing_;
  ImageInfo info_;
  uint64_t bsize_ = 0;
};

}  // namespace

std::shared_ptr<const Image> make_backed_image(std::shared_ptr<const Image> top,
                                               std::shared_ptr<const Image> backing) {
  return std::make_shared<BackedImage>(std::move(top), std::move(backing));
}

}  // namespace imgtool::formats
