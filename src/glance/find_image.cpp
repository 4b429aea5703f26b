// glance_find_image: one image by id, or by a name that matches exactly one
// image (GET /v2/images?name=...), for `imgtool checksum --verify`.
#include <iostream>

#include "glance/credentials.hpp"
#include "glance/images_api.hpp"
#include "glance/keystone.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool {

GlanceImageInfo glance_find_image(const std::string& id_or_name, const GlanceConnection& conn) {
  std::vector<std::string> notes;
  glance::Credentials creds = glance::connection_credentials(conn, notes);
  for (const auto& n : notes) std::cerr << "imgtool: note: " << n << "\n";
  glance::Session session(creds, conn.debug);
  glance::ImagesApi api(session);
  return glance::to_image_info(api.find(id_or_name));
}

namespace glance {

GlanceImageInfo to_image_info(const nlohmann::json& im) {
  GlanceImageInfo r;
  r.id = im.value("id", "");
  r.name = im.value("name", "");
  r.status = im.value("status", "");
  auto s = [&](const char* k) -> std::optional<std::string> {
    if (im.contains(k) && im[k].is_string()) return im[k].get<std::string>();
    return std::nullopt;
  };
  r.checksum = s("checksum");
  r.os_hash_algo = s("os_hash_algo");
  r.os_hash_value = s("os_hash_value");
  if (im.contains("size") && im["size"].is_number_unsigned()) r.size = im["size"].get<uint64_t>();
  return r;
}

}  // namespace glance
}  // namespace imgtool
