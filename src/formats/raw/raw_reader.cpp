// raw: every byte is guest data; holes in the host file are guest zeros.
// Scores 1 so it is chosen only when no other driver claims the bytes
// (qemu block/raw-format.c).
#include <algorithm>
#include <cstring>

#include "formats/driver.hpp"
#include "formats/raw/partition_table.hpp"
#include "formats/raw/raw_layout.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

class RawImage final : public Image {
 public:
  // The virtual size is the source's size: a stream without a size hint (a
  // pipe, a decompressor) is read to its end and spooled here, unless it is
  // read once (one-pass): then the size stays pending (ImageInfo says so) and
  // the bytes go by untouched, for a consumer that passes them on as they
  // are. With a hint (a file, an HTTP Content-Length) nothing is read ahead.
  explicit RawImage(std::shared_ptr<const ByteSource> src) : src_(std::move(src)) {
    info_.filename = src_->name();
    info_.format = Format::Raw;
    if (!src_->known_size() && src_->one_pass())
      info_.virtual_size_pending = true;
    else
      info_.virtual_size = raw::virtual_size(src_->size());
    info_.actual_size = src_->allocated_size();
    std::string pt = detect_partition_table(*src_);
    if (!pt.empty()) info_.extra.set("partition-table", InfoNode::string(pt));
  }

  const ImageInfo& info() const override { return info_; }

  Extent map(uint64_t offset, uint64_t max_len) const override {
    const uint64_t vsize = info_.virtual_size;
    if (offset >= vsize || max_len == 0)
      throw Error(ErrorKind::Usage, info_.filename, "map() past the virtual size", offset);
    const uint64_t end = offset + std::min(max_len, vsize - offset);
    const uint64_t fsize = src_->size();
    if (offset >= fsize) return {offset, end - offset, ExtentKind::Zero};  // the sector rounding tail
    uint64_t data = src_->next_data(offset);
    if (data > offset) return {offset, std::min(data, end) - offset, ExtentKind::Zero};
    uint64_t hole = src_->next_hole(offset);
    return {offset, std::min(std::max(hole, offset + 1), end) - offset, ExtentKind::Data};
  }

  // qemu's raw format passes the question to the file (block/file-posix.c
  // raw_co_block_status): SEEK_DATA/SEEK_HOLE runs, data or zero, always
  // allocated, the host offset being the guest offset; past EOF (the sector
  // rounding tail) a trailing hole.
  BlockStatus block_status(uint64_t offset, uint64_t max_len) const override {
    const Extent e = map(offset, max_len);
    BlockStatus s;
    s.offset = e.offset;
    s.length = e.length;
    s.data = e.kind == ExtentKind::Data;
    s.zero = !s.data;
    if (s.zero && offset + s.length >= src_->size()) {
      // A hole that runs to EOF is one trailing hole up to the rounded size
      // (SEEK_DATA fails with ENXIO), as one answer.
      s.length = std::max(s.length, std::min(max_len, info_.virtual_size - offset));
    }
    s.allocated = true;
    s.host_offset = offset;
    s.file = info_.filename;
    return s;
  }

  void read(uint64_t offset, std::span<std::byte> out) const override {
    uint64_t end;
    if (io::add_overflows(offset, out.size(), &end) || end > info_.virtual_size)
      throw Error(ErrorKind::Usage, info_.filename, "read past the virtual size", offset);
    size_t n = src_->read_at(offset, out);
    std::memset(out.data() + n, 0, out.size() - n);  // rounding tail past EOF
    src_->consumed(offset, n);
  }

  // raw has no metadata that could be inconsistent or name another file; what
  // can be wrong is Glance's view of its first sector (partition table rules)
  // and partitions that end past the image.
  CheckReport check() const override {
    CheckReport r;
    r.filename = info_.filename;
    r.format = Format::Raw;
    r.findings = partition_table_findings(*src_);
    return r;
  }

 private:
  std::shared_ptr<const ByteSource> src_;
  ImageInfo info_;
};

}  // namespace

int raw_probe(const ProbeInput&) noexcept {
  return 1;
}

std::unique_ptr<Image> raw_open(std::shared_ptr<const ByteSource> src, Gate&) {
  return std::make_unique<RawImage>(std::move(src));
}

}  // namespace imgtool::formats
