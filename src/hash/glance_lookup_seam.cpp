// The seam between `checksum --verify` and the Glance client (publish
// issue): a lookup that authenticates from --os-cloud/OS_CLOUD or the OS_*
// environment (src/glance/credentials.cpp) and resolves an image id or
// unique name (imgtool::glance_find_image, src/glance/find_image.cpp).
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool {

GlanceImageLookup default_glance_image_lookup() {
  return [](const std::string& id_or_name) -> GlanceImageRecord {
    GlanceImageInfo i = glance_find_image(id_or_name);
    GlanceImageRecord r;
    r.id = i.id;
    r.name = i.name;
    r.status = i.status;
    r.checksum = i.checksum;
    r.os_hash_algo = i.os_hash_algo;
    r.os_hash_value = i.os_hash_value;
    r.size = i.size;
    return r;
  };
}

}  // namespace imgtool
