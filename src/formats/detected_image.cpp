#include "formats/detected_image.hpp"

namespace imgtool::formats {

ImageInfo detected_info(const ByteSource& src, Format format, uint64_t virtual_size) {
  ImageInfo i;
  i.filename = src.name();
  i.format = format;
  i.virtual_size = virtual_size;
  i.actual_size = src.allocated_size();
  i.detection_only = true;
  return i;
}

}  // namespace imgtool::formats
