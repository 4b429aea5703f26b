// --reuse-existing: an image of the caller's project that already holds
// these bytes is returned instead of uploading them again.
#include "publish/reuse.hpp"

namespace imgtool::publishing {

using nlohmann::json;

void add_owner_specified(nlohmann::json& body, const GlanceDigests& d, const std::string& name) {
  // openstacksdk (image/_base_proxy.py create_image): md5 and sha256 of the
  // data, and "<container>/<name>" with the default container "images". A
  // value the user gave with --property wins.
  auto set = [&](const char* k, const std::string& v) {
    if (!body.contains(k)) body[k] = v;
  };
  set("owner_specified.openstack.md5", d.checksum);
  if (d.sha256) set("owner_specified.openstack.sha256", *d.sha256);
  set("owner_specified.openstack.object", "images/" + name);
}

std::optional<nlohmann::json> find_reusable(ImagesApi& api, const GlanceDigests& d,
                                            const std::string& disk_format,
                                            const std::string& container_format, const std::string& owner) {
  // Glance 25 filters on os_hash_value (and size_min/size_max, status,
  // owner); the result is checked again client-side so a server ignoring a
  // filter is harmless. Only the caller's own project: another project's
  // public image with the same bytes is not the caller's to hand out (its
  // owner may delete or change it at any time).
  auto list = api.list({{"os_hash_value", d.os_hash_value},
                        {"status", "active"},
                        {"owner", owner},
                        {"size_min", std::to_string(d.size)},
                        {"size_max", std::to_string(d.size)}});
  for (const auto& im : list) {
    if (!im.is_object()) continue;
    if (owner.empty() || im.value("owner", "") != owner) continue;
    if (im.value("container_format", "") != container_format) continue;
    if (im.value("status", "") != "active") continue;
    if (im.value("os_hash_algo", "") != "sha512" || im.value("os_hash_value", "") != d.os_hash_value)
      continue;
    if (im.value("checksum", "") != d.checksum) continue;
    if (!im.contains("size") || !im["size"].is_number() || im["size"].get<uint64_t>() != d.size) continue;
    if (im.value("disk_format", "") != disk_format) continue;
    return im;
  }
  return std::nullopt;
}

std::vector<std::string> unapplied_attributes(const nlohmann::json& im, const PreparedImage& p,
                                              const PublishOptions& opts) {
  std::vector<std::string> out;
  auto differs = [&](const char* key, const std::string& wanted) {
    const std::string have = im.contains(key) && im[key].is_string() ? im[key].get<std::string>() : "";
    if (have != wanted) out.push_back(std::string(key) + " '" + wanted + "' (it has '" + have + "')");
  };
  differs("name", p.name);
  if (!opts.visibility.empty()) differs("visibility", opts.visibility);
  auto number = [&](const char* key, const std::optional<uint64_t>& wanted) {
    if (!wanted) return;
    const uint64_t have = im.contains(key) && im[key].is_number_unsigned() ? im[key].get<uint64_t>() : 0;
    if (have != *wanted)
      out.push_back(std::string(key) + " " + std::to_string(*wanted) + " (it has " + std::to_string(have) +
                    ")");
  };
  number("min_disk", opts.min_disk);
  number("min_ram", opts.min_ram);
  if (opts.protected_image && !(im.contains("protected") && im["protected"] == true))
    out.push_back("protected (it is not protected)");
  for (const auto& t : opts.tags) {
    bool has = false;
    if (im.contains("tags") && im["tags"].is_array())
      for (const auto& x : im["tags"]) has = has || (x.is_string() && x.get<std::string>() == t);
    if (!has) out.push_back("tag '" + t + "'");
  }
  for (const auto& [k, v] : opts.properties) {
    const std::string have = im.contains(k) && im[k].is_string() ? im[k].get<std::string>() : "";
    if (have != v) out.push_back("property " + k + "='" + v + "'");
  }
  return out;
}

}  // namespace imgtool::publishing
