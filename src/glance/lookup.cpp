// The Glance lookup of `checksum --verify`: a lookup that
// authenticates from OS_CLOUD (clouds.yaml) or the OS_* environment
// (src/glance/credentials.cpp) and resolves an image id or unique name
// (imgtool::glance_find_image, src/glance/find_image.cpp). It lives with
// the Glance client so that src/hash/ never calls into it.
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
