// `imgtool checksum --verify`: compare a local file with what Glance recorded
// (image properties checksum, os_hash_algo, os_hash_value, size — Glance
// v2 images API, "GET /v2/images/{image_id}").
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"

namespace imgtool {
namespace {

void diff(std::vector<std::string>& out, const char* field, const std::string& local,
          const std::optional<std::string>& remote) {
  if (!remote)
    out.push_back(std::string(field) + ": local " + local + ", Glance has none");
  else if (*remote != local)
    out.push_back(std::string(field) + ": local " + local + ", Glance " + *remote);
}

}  // namespace

std::vector<std::string> compare_with_glance(const GlanceDigests& local, const GlanceImageRecord& remote) {
  std::vector<std::string> out;
  if (!remote.size)
    out.push_back("size: local " + std::to_string(local.size) + ", Glance has none");
  else if (*remote.size != local.size)
    out.push_back("size: local " + std::to_string(local.size) + ", Glance " + std::to_string(*remote.size));
  diff(out, "checksum", local.checksum, remote.checksum);
  diff(out, "os_hash_algo", local.os_hash_algo, remote.os_hash_algo);
  diff(out, "os_hash_value", local.os_hash_value, remote.os_hash_value);
  return out;
}

namespace {

// The record of `id_or_name` and the algorithm to hash with.
std::pair<GlanceImageRecord, HashAlgo> look_up(const std::string& id_or_name,
                                               const GlanceImageLookup& lookup) {
  if (!lookup) throw Error(ErrorKind::Usage, id_or_name, "no Glance lookup was given");
  GlanceImageRecord rec = lookup(id_or_name);
  HashAlgo algo = HashAlgo::sha512;
  if (rec.os_hash_algo) {
    auto a = parse_hash_algo(*rec.os_hash_algo);
    if (!a)
      throw Error(ErrorKind::Unsupported, id_or_name,
                  "Glance used os_hash_algo '" + *rec.os_hash_algo +
                      "'; imgtool computes md5, sha1, sha256, sha384, sha512");
    algo = *a;
  }
  return {std::move(rec), algo};
}

GlanceDigests check(GlanceDigests local, const GlanceImageRecord& rec, const std::string& id_or_name,
                    const std::string& path) {
  auto diffs = compare_with_glance(local, rec);
  if (!diffs.empty()) {
    std::string msg = "differs from Glance image " + (rec.id.empty() ? id_or_name : rec.id) + ": ";
    for (size_t i = 0; i < diffs.size(); ++i) msg += (i ? "; " : "") + diffs[i];
    throw Error(ErrorKind::Mismatch, path, msg);
  }
  return local;
}

}  // namespace

GlanceDigests verify_against_glance(const std::string& path, const std::string& id_or_name,
                                    const GlanceImageLookup& lookup) {
  auto [rec, algo] = look_up(id_or_name, lookup);
  return check(glance_digests_of_file(path, algo), rec, id_or_name, path);
}

GlanceDigests verify_against_glance(const std::string& spec, const SourceOptions& source,
                                    const std::string& id_or_name, const GlanceImageLookup& lookup,
                                    std::vector<UpstreamCheck>* upstream) {
  auto [rec, algo] = look_up(id_or_name, lookup);
  return check(glance_digests_of_source(spec, source, algo, upstream), rec, id_or_name, spec);
}

GlanceDigests verify_against_glance(const ByteSource& src, const std::string& id_or_name,
                                    const GlanceImageLookup& lookup) {
  auto [rec, algo] = look_up(id_or_name, lookup);
  return check(glance_digests(src, algo), rec, id_or_name, src.name());
}

}  // namespace imgtool
