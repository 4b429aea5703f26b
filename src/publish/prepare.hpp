#pragma once
// The first step of publish: every option validated, the image opened and
// judged (unsafe or contradicting images are refused before anything is
// sent), the create request built.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "imgtool/checksum.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::publishing {

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
// Whether the data goes through interoperable import (stage + import, or
// web-download) rather than PUT /file: asked for, or implied by stores.
bool uses_import(const PublishOptions& opts);
// The image name when none is given: the source's file name without
// directory, compression suffixes and extension ("…/jammy.img.xz" -> "jammy");
// Error(Usage) for standard input.
std::string default_image_name(const Source& src);

// The POST /v2/images body (api-ref "Create image").
nlohmann::json create_body(const PreparedImage& p, const PublishOptions& opts);

}  // namespace imgtool::publishing
