#include "formats/detected_image.hpp"

namespace imgtool::formats {

ImageInfo detected_info(const ByteSource& src, std::string format, std::string glance, uint64_t virtual_size) {
  ImageInfo i;
  i.filename = src.name();
  i.format = std::move(format);
  i.glance_disk_format = std::move(glance);
  i.virtual_size = virtual_size;
  i.actual_size = src.allocated_size();
  i.detection_only = true;
  return i;
}

}  // namespace imgtool::formats
