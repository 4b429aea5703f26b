// GlanceImageRecord from an image's JSON (GET /v2/images/{id}, api-ref
// "Show image"): the one record type of every command.
#include <nlohmann/json.hpp>

#include "glance/images_api.hpp"

namespace imgtool::glance {

using nlohmann::json;

namespace {

std::optional<std::string> opt_str(const json& im, const char* k) {
  if (im.contains(k) && im[k].is_string()) return im[k].get<std::string>();
  return std::nullopt;
}

std::optional<uint64_t> opt_u64(const json& im, const char* k) {
  if (!im.contains(k)) return std::nullopt;
  const json& v = im[k];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

// The record's own fields; every other string is a property.
const char* const kCore[] = {"id",         "name",       "status",       "disk_format",   "container_format",
                             "visibility", "checksum",   "os_hash_algo", "os_hash_value", "owner",
                             "created_at", "updated_at", "self",         "file",          "schema",
                             "direct_url", "stores",     "protected",    "size",          "virtual_size",
                             "tags",       "min_disk",   "min_ram",      "os_hidden",     "locations"};

}  // namespace

GlanceImageRecord parse_image_record(const json& im) {
  GlanceImageRecord r;
  r.id = opt_str(im, "id").value_or("");
  r.name = opt_str(im, "name").value_or("");
  r.status = opt_str(im, "status").value_or("");
  r.disk_format = opt_str(im, "disk_format").value_or("");
  r.container_format = opt_str(im, "container_format").value_or("");
  r.visibility = opt_str(im, "visibility").value_or("");
  r.owner = opt_str(im, "owner").value_or("");
  r.protected_image = im.contains("protected") && im["protected"] == true;
  r.checksum = opt_str(im, "checksum");
  r.os_hash_algo = opt_str(im, "os_hash_algo");
  r.os_hash_value = opt_str(im, "os_hash_value");
  r.size = opt_u64(im, "size");
  r.virtual_size = opt_u64(im, "virtual_size");
  if (im.contains("tags") && im["tags"].is_array())
    for (const auto& t : im["tags"])
      if (t.is_string()) r.tags.push_back(t.get<std::string>());
  // Multi-store Glance: "stores" is one comma-separated string.
  if (auto s = opt_str(im, "stores"))
    for (size_t at = 0; at <= s->size();) {
      size_t comma = s->find(',', at);
      if (comma == std::string::npos) comma = s->size();
      if (comma > at) r.stores.push_back(s->substr(at, comma - at));
      at = comma + 1;
    }
  if (im.is_object())
    for (const auto& [k, v] : im.items()) {
      if (!v.is_string()) continue;
      bool core = false;
      for (const char* c : kCore) core = core || k == c;
      if (!core) r.properties[k] = v.get<std::string>();
    }
  return r;
}

}  // namespace imgtool::glance
