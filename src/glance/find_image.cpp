// glance_find_image: one image by id, or by a name that matches exactly one
// image (GET /v2/images?name=...), for `imgtool checksum --verify`.
#include <iostream>

#include "glance/credentials.hpp"
#include "glance/images_api.hpp"
#include "glance/keystone.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool {

namespace {
bool looks_like_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}
}  // namespace

GlanceImageInfo glance_find_image(const std::string& id_or_name, const GlanceConnection& conn) {
  std::vector<std::string> notes;
  glance::Credentials creds = glance::connection_credentials(conn, notes);
  for (const auto& n : notes) std::cerr << "imgtool: note: " << n << "\n";
  glance::Session session(creds, conn.debug);
  glance::ImagesApi api(session);
  nlohmann::json im;
  if (looks_like_uuid(id_or_name)) {
    im = api.get(id_or_name);
  } else {
    auto list = api.list({{"name", id_or_name}});
    if (list.empty()) throw Error(ErrorKind::Http, id_or_name, "no Glance image with this id or name");
    if (list.size() > 1)
      throw Error(ErrorKind::Usage, id_or_name,
                  std::to_string(list.size()) + " Glance images have this name; give the id");
    im = list.front();
  }
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

}  // namespace imgtool
