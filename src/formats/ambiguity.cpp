#include "formats/ambiguity.hpp"

#include <string>

#include "formats/raw/partition_table.hpp"

namespace imgtool::formats {

std::vector<Finding> ambiguity_findings(const ProbeWindow& w, const std::vector<ProbeResult>& results) {
  std::vector<std::string> claims;  // "qcow2 (score 100)", best first
  std::vector<std::string> glance_names;
  for (const ProbeResult& r : results) {
    if (r.format == Format::Raw) continue;
    claims.push_back(std::string(format_name(r.format)) + " (score " + std::to_string(r.score) + ")");
    const std::string_view g = glance_disk_format(r.format);
    glance_names.emplace_back(g.empty() ? format_name(r.format) : g);
  }
  // Glance's gpt inspector looks only at sector 0. It clashes only with a
  // format whose header is there too (score 100); a fixed VHD (tail footer,
  // score 50) of a partitioned disk has the guest's MBR at 510 by design.
  bool head_claim = false;
  for (const ProbeResult& r : results) head_claim = head_claim || (r.format != Format::Raw && r.score >= 100);
  if (head_claim && glance_gpt_match(w.head)) {
    claims.push_back("gpt (MBR signature at 510)");
    glance_names.push_back("gpt");
  }
  if (claims.size() < 2) return {};
  // Glance location.py: formats exactly {iso, gpt} is a hybrid ISO, accepted as iso.
  if (glance_names.size() == 2 && glance_names[0] == "iso" && glance_names[1] == "gpt") return {};

  std::string list;
  for (const auto& c : claims) list += (list.empty() ? "" : ", ") + c;
  return {{Severity::Unsafe, FindingKind::SeveralFormats,
           "multiple formats claim these bytes: " + list + "; imgtool uses '" +
               std::string(format_name(results.front().format)) +
               "', Glance refuses the upload (\"Multiple formats detected\")"}};
}

}  // namespace imgtool::formats
