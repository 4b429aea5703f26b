#pragma once
// The local half of publish: open the image, refuse unsafe or contradicting
// ones before anything is sent, build the POST body, find a reusable image.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "glance/images_api.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::glance {

struct PreparedImage {
  std::shared_ptr<const ByteSource> source;
  std::shared_ptr<const Image> image;
  std::string name;
  Format detected_format = Format::Raw;
  std::string disk_format;  // what is sent to Glance
  std::optional<uint64_t> virtual_size;
  // The verdict and how it was reached: with check_deferred, the driver's
  // walk is still to run (complete_deferred_check) once the body was read.
  Assessment verdict;
  AssessOptions assess_options;
};

// Validates every option (the -o keys of convert_to included) before anything
// is opened or sent; assesses `path` (the bytes go to Glance as they are, or
// imgtool reads them with convert_to) and throws the verdict's refusal;
// explicit disk_format contradicting the bytes -> Error(Mismatch) naming the
// detected one.
PreparedImage prepare_image(std::shared_ptr<const ByteSource> source, const PublishOptions& opts);

// The option checks prepare_image() starts with, for callers that must fail
// before opening anything. Throws Error(Usage).
void validate_publish_options(const PublishOptions& opts);
// The image name when none is given: the source's file name without
// directory, compression suffixes and extension ("…/jammy.img.xz" -> "jammy");
// Error(Usage) for standard input.
std::string default_image_name(const Source& src);

// The POST /v2/images body (api-ref "Create image").
nlohmann::json create_body(const PreparedImage& p, const PublishOptions& opts);

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

}  // namespace imgtool::glance
