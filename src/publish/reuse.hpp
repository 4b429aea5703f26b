#pragma once
// --reuse-existing: find an image of the caller's project with the same bytes
// and formats; never someone else's, and never changed.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "glance/images_api.hpp"
#include "imgtool/checksum.hpp"
#include "publish/prepare.hpp"

namespace imgtool::publishing {

using glance::ImagesApi;

// Adds openstacksdk's owner_specified.openstack.md5 / .sha256 / .object
// ("images/<name>") to a create body, keeping any the user set.
void add_owner_specified(nlohmann::json& body, const GlanceDigests& d, const std::string& name);

// An active image of project `owner` (the caller's) with this size,
// os_hash_value (sha512), checksum, disk and container format, if any.
std::optional<nlohmann::json> find_reusable(ImagesApi& api, const GlanceDigests& d,
                                            const std::string& disk_format,
                                            const std::string& container_format, const std::string& owner);

// What the user asked for that a reused image `im` does not have (name,
// visibility, min_disk, min_ram, protected, tags, properties), one phrase
// each: reusing never changes someone's existing image.
std::vector<std::string> unapplied_attributes(const nlohmann::json& im, const PreparedImage& p,
                                              const PublishOptions& opts);

}  // namespace imgtool::publishing
