// Output of `imgtool publish` (see publish_output.hpp).
#include "publish_output.hpp"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sources/digest_stream.hpp"

namespace imgtool::cli {

namespace {

std::string opt_str(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : "None";
}

std::string or_none(const std::string& s) {
  return s.empty() ? "None" : s;
}

// JSON: what is not known is null, never "" (openstackclient's -f json does
// the same for unset fields).
nlohmann::json nullable(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

nlohmann::json nullable(const std::optional<uint64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

std::string or_none(const std::optional<std::string>& s) {
  return s && !s->empty() ? *s : "None";
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string verified_words(const PublishResult& r, const PublishTargetResult& t) {
  if (r.dry_run) return "no (dry run)";
  if (!t.error.empty()) return "no: " + t.error;
  if (t.reused) return "yes (reused: an active image with the same size and hashes exists)";
  if (!t.verified) return t.verification.empty() ? "no" : t.verification;
  return t.verification.empty() ? "yes" : t.verification;
}

// One target's summary line in a table of several.
std::string target_line(const PublishResult& r, const PublishTargetResult& t) {
  std::string s = or_none(t.image.id) + " " + or_none(t.image.status);
  if (!t.image.stores.empty()) s += " stores " + joined(t.image.stores);
  if (!t.stores_failed.empty()) s += " failed stores " + joined(t.stores_failed);
  return s + "; verified: " + verified_words(r, t);
}

}  // namespace

void print_publish_table(const PublishResult& r) {
  const PublishTargetResult& t = r.first();
  const GlanceImageRecord& im = t.image;
  std::vector<std::pair<std::string, std::string>> rows{{"checksum", or_none(im.checksum)},
                                                        {"container_format", im.container_format},
                                                        {"disk_format", im.disk_format},
                                                        {"id", or_none(im.id)},
                                                        {"name", im.name},
                                                        {"os_hash_algo", or_none(im.os_hash_algo)},
                                                        {"os_hash_value", or_none(im.os_hash_value)},
                                                        {"size", opt_str(im.size)},
                                                        {"status", or_none(im.status)},
                                                        {"virtual_size", opt_str(im.virtual_size)},
                                                        {"visibility", or_none(im.visibility)}};
  rows.emplace_back("tags", joined(im.tags));
  std::string props;
  for (const auto& [k, v] : im.properties) props += (props.empty() ? "" : ", ") + k + "='" + v + "'";
  if (!props.empty()) rows.emplace_back("properties", props);
  if (!im.stores.empty()) rows.emplace_back("stores", joined(im.stores));
  if (!t.stores_failed.empty()) rows.emplace_back("stores failed", joined(t.stores_failed));
  if (r.dry_run) {
    rows.emplace_back("dry_run", "True (nothing was sent)");
    rows.emplace_back("local md5", r.sent.checksum);
    rows.emplace_back("local sha512", r.sent.os_hash_value);
    rows.emplace_back("request", r.request_json);
  } else {
    if (t.reused) rows.emplace_back("reused", "yes (an active image with the same size and hashes exists)");
    rows.emplace_back("verified", verified_words(r, t));
  }
  if (r.targets.size() > 1)
    for (const auto& x : r.targets)
      rows.emplace_back("target " + (x.cloud.empty() ? std::string("(OS_*)") : x.cloud) +
                            (x.region.empty() ? "" : " " + x.region),
                        target_line(r, x));
  if (!r.source_layers.empty()) {
    std::string l;
    for (const SourceLayer& x : r.source_layers)
      l += (l.empty() ? "" : ", ") + x.kind + (x.member.empty() ? "" : " (" + x.member + ")");
    rows.emplace_back("source layers", l);
  }
  for (const UpstreamCheck& c : r.upstream)
    rows.emplace_back("upstream " + std::string(sources::to_string(c.expected.algorithm)),
                      "matches " + c.expected.origin +
                          (c.signature_checked                            ? " (signature checked)"
                           : c.expected.origin.rfind("--expect-", 0) == 0 ? ""
                                                                          : " (signature not checked)"));
  if (r.spool_peak_file > 0)
    rows.emplace_back("spool", "peak " + std::to_string(r.spool_peak_memory) + " bytes in memory, " +
                                   std::to_string(r.spool_peak_file) + " in a temporary file");
  size_t w1 = 5, w2 = 5;
  for (const auto& [k, v] : rows) {
    w1 = std::max(w1, k.size());
    w2 = std::max(w2, v.size());
  }
  std::string sep = "+" + std::string(w1 + 2, '-') + "+" + std::string(w2 + 2, '-') + "+\n";
  auto row = [&](const std::string& k, const std::string& v) {
    std::cout << "| " << k << std::string(w1 - k.size(), ' ') << " | " << v << std::string(w2 - v.size(), ' ')
              << " |\n";
  };
  std::cout << sep;
  row("Field", "Value");
  std::cout << sep;
  for (const auto& [k, v] : rows) row(k, v);
  std::cout << sep;
}

namespace {

nlohmann::json nullable(const std::optional<std::string>& s) {
  return s && !s->empty() ? nlohmann::json(*s) : nlohmann::json();
}

nlohmann::json target_json(const PublishResult& r, const PublishTargetResult& t) {
  const GlanceImageRecord& im = t.image;
  return {{"cloud", nullable(t.cloud)},
          {"region", nullable(t.region)},
          {"endpoint", nullable(t.endpoint)},
          {"id", nullable(im.id)},
          {"status", nullable(im.status)},
          {"disk_format", nullable(im.disk_format)},
          {"size", nullable(im.size)},
          {"checksum", nullable(im.checksum)},
          {"os_hash_value", nullable(im.os_hash_value)},
          {"stores", im.stores},
          {"stores_failed", t.stores_failed},
          {"verified", t.verified},
          {"verification", nullable(r.dry_run ? std::string() : t.verification)},
          {"verified_hash_algo", nullable(t.verified_hash_algo)},
          {"reused", t.reused},
          {"error", nullable(t.error)}};
}

}  // namespace

// The first target's image at the top level, as `openstack image show -f
// json` prints it (so scripts written for one cloud keep working), and
// every target under "targets".
void print_publish_json(const PublishResult& r) {
  const PublishTargetResult& t = r.first();
  const GlanceImageRecord& im = t.image;
  nlohmann::json j{{"id", nullable(im.id)},
                   {"name", im.name},
                   {"status", nullable(im.status)},
                   {"disk_format", im.disk_format},
                   {"container_format", im.container_format},
                   {"visibility", nullable(im.visibility)},
                   {"size", nullable(im.size)},
                   {"virtual_size", nullable(im.virtual_size)},
                   {"checksum", nullable(im.checksum)},
                   {"os_hash_algo", nullable(im.os_hash_algo)},
                   {"os_hash_value", nullable(im.os_hash_value)},
                   {"tags", im.tags},
                   {"properties", im.properties},
                   {"stores", im.stores},
                   {"stores_failed", t.stores_failed},
                   {"local_md5", nullable(r.sent.checksum)},
                   {"local_sha512", nullable(r.sent.os_hash_value)},
                   {"sent_bytes", r.sent.size},
                   {"verified", t.verified},
                   {"verification", nullable(r.dry_run ? std::string() : t.verification)},
                   {"verified_hash_algo", nullable(t.verified_hash_algo)},
                   {"endpoint", nullable(t.endpoint)},
                   {"dry_run", r.dry_run},
                   {"reused", t.reused}};
  auto targets = nlohmann::json::array();
  for (const auto& x : r.targets) targets.push_back(target_json(r, x));
  j["targets"] = targets;
  if (r.dry_run) j["request"] = nlohmann::json::parse(r.request_json, nullptr, false);
  auto layers = nlohmann::json::array();
  for (const SourceLayer& x : r.source_layers)
    layers.push_back(
        {{"type", x.kind}, {"member", x.member.empty() ? nlohmann::json() : nlohmann::json(x.member)}});
  j["source_layers"] = layers;
  auto up = nlohmann::json::array();
  for (const UpstreamCheck& c : r.upstream)
    up.push_back({{"algorithm", sources::to_string(c.expected.algorithm)},
                  {"value", c.actual},
                  {"origin", c.expected.origin},
                  {"signature_checked", c.signature_checked}});
  j["upstream"] = up;
  j["spool_peak_memory"] = r.spool_peak_memory;
  j["spool_peak_file"] = r.spool_peak_file;
  std::cout << j.dump(2) << "\n";
}

}  // namespace imgtool::cli
