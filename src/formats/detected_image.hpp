#pragma once
// An Image for detection-only formats (vhd, vhdx, vdi, qed, luks, iso): it
// carries ImageInfo (name, virtual size, disk size) and refuses extents and reads,
// like go-qcow2reader's image/stub.
#include <memory>

#include "imgtool/error.hpp"
#include "imgtool/image.hpp"

namespace imgtool::formats {

class DetectedImage final : public Image {
 public:
  DetectedImage(std::shared_ptr<const ByteSource> src, ImageInfo info, std::vector<Finding> findings = {})
      : src_(std::move(src)), info_(std::move(info)), findings_(std::move(findings)) {
    info_.detection_only = true;
  }
  const ImageInfo& info() const override { return info_; }
  bool readable() const override { return false; }
  Extent map(uint64_t, uint64_t) const override { refuse(); }
  void read(uint64_t, std::span<std::byte>) const override { refuse(); }
  CheckReport check() const override {
    CheckReport r;
    r.filename = info_.filename;
    r.format = info_.format;
    r.findings = findings_;
    return r;
  }

 private:
  [[noreturn]] void refuse() const {
    throw Error(ErrorKind::Unsupported, info_.filename,
                "format '" + std::string(format_name(info_.format)) + "' is detected but not readable by imgtool");
  }
  std::shared_ptr<const ByteSource> src_;
  ImageInfo info_;
  std::vector<Finding> findings_;
};

// Common ImageInfo skeleton: filename, format, disk size.
ImageInfo detected_info(const ByteSource& src, Format format, uint64_t virtual_size);

}  // namespace imgtool::formats
