#pragma once
// The pieces imgtool::download() shares between its two paths (the bytes as
// they are, download.cpp; converted on the way, download_convert.cpp).
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "imgtool/convert.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/sink.hpp"

namespace imgtool::glance {

class ImagesApi;

// Standard output as a sink: forward only, no holes, nothing to rename.
std::unique_ptr<ByteSink> stdout_sink();

// The record's "stores" (a comma-separated string on a multi-store Glance),
// split; empty when the record has none.
std::vector<std::string> image_stores(const nlohmann::json& image);

// --store: throws Error(Usage) when the image has no data in `store`, naming
// the stores it is in (or saying that this Glance reports no stores).
void require_store(const nlohmann::json& image, const std::string& id, const std::string& store);

// Compares what was received (size, md5, the image's os_hash_algo) with the
// record in `r` and fills r.verified_hash_algo; throws Error(Mismatch) naming
// every difference and what became of `dst`.
void verify_received(DownloadResult& r, const std::string& algo_name, const std::string& dst);

// The conversion of convert_to into `dst`, validated before anything is
// asked of Glance: the target and its -o options, and for standard output a
// writer that needs no first pass over the image (Error(Usage) otherwise).
ConvertOptions download_convert_options(const DownloadOptions& opts, const std::string& dst);

// The conversion path of download(): the active image whose record is in `r`
// (image, disk_format) goes through imgtool's reader and converter into
// `dst`, hashed with md5 and `algo_name` on the way.
void download_converted(ImagesApi& api, const std::string& dst, const DownloadOptions& opts,
                        const std::string& algo_name, DownloadResult& r);

}  // namespace imgtool::glance
