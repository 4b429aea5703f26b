// glance_find_image: one image by id, or by a name that matches exactly one
// image (GET /v2/images?name=...), for `imgtool checksum --verify`.
#include <iostream>

#include "glance/credentials.hpp"
#include "glance/images_api.hpp"
#include "glance/keystone.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool {

GlanceImageRecord glance_find_image(const std::string& id_or_name, const GlanceConnection& conn) {
  std::vector<std::string> notes;
  glance::Credentials creds = glance::connection_credentials(conn, notes);
  for (const auto& n : notes) std::cerr << "imgtool: note: " << n << "\n";
  glance::Session session(creds, conn.debug);
  glance::ImagesApi api(session);
  return glance::parse_image_record(api.find(id_or_name));
}

}  // namespace imgtool
