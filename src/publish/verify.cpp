// publish's verification (verify.hpp).
#include "publish/verify.hpp"

namespace imgtool::publishing {
namespace {

// compare_with_glance() with the os_hash fields taken as equal: for a
// comparison that cannot include them (the caller says so in `what`).
std::vector<std::string> compare_without_os_hash(GlanceDigests local, const GlanceImageRecord& rec) {
  local.os_hash_algo = rec.os_hash_algo.value_or("");
  local.os_hash_value = rec.os_hash_value.value_or("");
  return compare_with_glance(local, rec);
}

}  // namespace

Verification verify_record(const GlanceImageRecord& rec, const SentImage& sent, const OtherDigests& other) {
  Verification v;
  if (rec.status != "active") v.differences.push_back("status: expected active, Glance " + rec.status);
  const std::string algo = rec.os_hash_algo.value_or("sha512");

  // Converted by Glance (import plugin image_conversion): the record
  // describes the converted image. Never compare it with the bytes sent,
  // which would call a good image corrupt.
  if (!rec.disk_format.empty() && rec.disk_format != sent.disk_format) {
    if (rec.disk_format != "raw") {
      v.differences.push_back("disk_format: sent " + sent.disk_format + ", Glance " + rec.disk_format +
                              " (a conversion imgtool cannot reproduce)");
      return v;
    }
    std::optional<GlanceDigests> raw = other.as_raw ? other.as_raw() : std::nullopt;
    if (raw && algo == "sha512") {
      auto d = compare_with_glance(*raw, rec);
      v.differences.insert(v.differences.end(), d.begin(), d.end());
      v.hash_algo = algo;
      v.what = "converted by Glance to raw: size, checksum, sha512 of imgtool's own raw conversion";
      return v;
    }
    // What can still be checked without the converted bytes: a raw image's
    // size is its virtual size, and that is the size of the image sent.
    if (!sent.virtual_size || !rec.virtual_size || *rec.virtual_size != *sent.virtual_size)
      v.differences.push_back(
          "virtual_size: sent " +
          (sent.virtual_size ? std::to_string(*sent.virtual_size) : std::string("unknown")) + ", Glance " +
          (rec.virtual_size ? std::to_string(*rec.virtual_size) : "none"));
    if (!rec.size || !rec.virtual_size || *rec.size != *rec.virtual_size)
      v.differences.push_back("size: a raw image's size is its virtual size; Glance has size " +
                              (rec.size ? std::to_string(*rec.size) : std::string("none")));
    v.what = "converted by Glance: verified size and virtual_size only";
    v.notes.push_back(
        "Glance converted the image to raw during the import; imgtool could not read the source "
        "again to hash the raw conversion: verified size and virtual_size only");
    return v;
  }

  std::optional<GlanceDigests> local;
  if (algo == "sha512") {
    local = sent.digests;
  } else if (auto a = parse_hash_algo(algo); a && other.rehash) {
    local = other.rehash(*a);
    if (local) v.notes.push_back("Glance hashes with " + algo + "; the image was hashed again with it");
  }
  if (local) {
    local->size = sent.digests.size;
    auto d = compare_with_glance(*local, rec);
    v.differences.insert(v.differences.end(), d.begin(), d.end());
    v.hash_algo = algo;
    v.what = "size, checksum, " + algo;
  } else {
    auto d = compare_without_os_hash(sent.digests, rec);
    v.differences.insert(v.differences.end(), d.begin(), d.end());
    v.what = "size, checksum";
    v.notes.push_back(
        "Glance reports os_hash_algo " + algo +
        ", which imgtool did not compute over the converted stream: verified by size and md5 only");
  }
  return v;
}

}  // namespace imgtool::publishing
