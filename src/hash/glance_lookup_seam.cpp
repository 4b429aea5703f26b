// The seam between `checksum --verify` and the Glance client: a lookup that
// authenticates from OS_CLOUD (clouds.yaml) or the OS_* environment
// (src/glance/credentials.cpp) and resolves an image id or unique name
// (imgtool::glance_find_image, src/glance/find_image.cpp). src/hash/ stays
// free of HTTP: only this function calls the Glance client.
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool {

GlanceImageLookup default_glance_image_lookup() {
  return glance_image_lookup(GlanceConnection{});
}

GlanceImageLookup glance_image_lookup(const GlanceConnection& conn) {
  return [conn](const std::string& id_or_name) { return glance_find_image(id_or_name, conn); };
}

}  // namespace imgtool
