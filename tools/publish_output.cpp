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

}  // namespace

void print_publish_table(const PublishResult& r) {
  std::vector<std::pair<std::string, std::string>> rows{{"checksum", or_none(r.checksum)},
                                                        {"container_format", r.container_format},
                                                        {"disk_format", r.disk_format},
                                                        {"id", or_none(r.id)},
                                                        {"name", r.name},
                                                        {"os_hash_algo", or_none(r.os_hash_algo)},
                                                        {"os_hash_value", or_none(r.os_hash_value)},
                                                        {"size", opt_str(r.size)},
                                                        {"status", or_none(r.status)},
                                                        {"virtual_size", opt_str(r.virtual_size)},
                                                        {"visibility", or_none(r.visibility)}};
  std::string tags;
  for (const auto& t : r.tags) tags += (tags.empty() ? "" : ", ") + t;
  rows.emplace_back("tags", tags);
  std::string props;
  for (const auto& [k, v] : r.properties) props += (props.empty() ? "" : ", ") + k + "='" + v + "'";
  if (!props.empty()) rows.emplace_back("properties", props);
  if (r.dry_run) {
    rows.emplace_back("dry_run", "True (nothing was sent)");
    rows.emplace_back("local md5", r.local_md5);
    rows.emplace_back("local sha512", r.local_sha512);
    rows.emplace_back("request", r.request_json);
  } else if (r.reused) {
    rows.emplace_back("reused", "yes (an active image with the same size and hashes exists)");
  } else {
    rows.emplace_back("verified", !r.verified ? "no (still importing: use --wait to verify)"
                                  : r.verified_hash_algo.empty() ? "size, checksum"
                                                                 : "size, checksum, " + r.verified_hash_algo);
  }
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

void print_publish_json(const PublishResult& r) {
  nlohmann::json j{{"id", nullable(r.id)},
                   {"name", r.name},
                   {"status", nullable(r.status)},
                   {"disk_format", r.disk_format},
                   {"container_format", r.container_format},
                   {"visibility", nullable(r.visibility)},
                   {"size", nullable(r.size)},
                   {"virtual_size", nullable(r.virtual_size)},
                   {"checksum", nullable(r.checksum)},
                   {"os_hash_algo", nullable(r.os_hash_algo)},
                   {"os_hash_value", nullable(r.os_hash_value)},
                   {"tags", r.tags},
                   {"properties", r.properties},
                   {"local_md5", nullable(r.local_md5)},
                   {"local_sha512", nullable(r.local_sha512)},
                   {"sent_bytes", r.sent_bytes},
                   {"verified", r.verified},
                   {"verified_hash_algo", nullable(r.verified_hash_algo)},
                   {"endpoint", nullable(r.endpoint)},
                   {"dry_run", r.dry_run},
                   {"reused", r.reused}};
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
