// `imgtool check` output. The human summary is qemu-img 7.2's
// dump_human_image_check() (qemu-img.c) fed with imgtool's findings: every
// Corruption finding counts as one qemu "error", every Leak finding as one
// leaked cluster. Unsafe findings have no qemu counterpart and get their own
// lines after the summary. JSON: qemu's ImageCheck keys under qemu's rules
// (collect_image_check: optional counters only when non-zero) plus
// "unsafe", "findings" and "verdict", all printed in QDict order like qemu.
#include <cstdio>

#include "imgtool/info.hpp"
#include "info/qobject.hpp"

namespace imgtool {
namespace {

const char* kind_name(FindingKind k) {
  switch (k) {
    case FindingKind::Unsafe: return "unsafe";
    case FindingKind::Corruption: return "corruption";
    case FindingKind::Leak: return "leak";
  }
  return "unknown";
}

std::string percent(uint64_t num, uint64_t den) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%0.2f", static_cast<double>(num) * 100.0 / static_cast<double>(den));
  return buf;
}

}  // namespace

std::string check_verdict(const CheckReport& r) {
  if (r.count(FindingKind::Unsafe)) return "unsafe";
  if (r.count(FindingKind::Corruption)) return "corrupt";
  if (r.count(FindingKind::Leak)) return "leaks";
  return "clean";
}

std::string render_check_human(const CheckReport& r) {
  const uint64_t corruptions = r.count(FindingKind::Corruption), leaks = r.count(FindingKind::Leak);
  std::string out;
  if (corruptions == 0 && leaks == 0) {
    out += "No errors were found on the image.\n";
  } else {
    if (corruptions)
      out += "\n" + std::to_string(corruptions) +
             " errors were found on the image.\n"
             "Data may be corrupted, or further writes to the image may corrupt it.\n";
    if (leaks)
      out += "\n" + std::to_string(leaks) +
             " leaked clusters were found on the image.\n"
             "This means waste of disk space, but no harm to data.\n";
  }
  const uint64_t total = r.total_clusters.value_or(0), alloc = r.allocated_clusters.value_or(0);
  if (total != 0 && alloc != 0)
    out += std::to_string(alloc) + "/" + std::to_string(total) + " = " + percent(alloc, total) +
           "% allocated, " + percent(r.fragmented_clusters.value_or(0), alloc) + "% fragmented, " +
           percent(r.compressed_clusters.value_or(0), alloc) + "% compressed clusters\n";
  if (r.image_end_offset.value_or(0) != 0)
    out += "Image end offset: " + std::to_string(*r.image_end_offset) + "\n";
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::Unsafe)
      out += std::string(info::c_str_view(r.filename)) + ": unsafe: " + f.message + "\n";
  return out;
}

std::string render_check_json(const CheckReport& r) {
  auto i64 = [](uint64_t v) { return InfoNode::integer(static_cast<int64_t>(v)); };
  InfoNode n = InfoNode::dict();
  // qapi/block-core.json ImageCheck member order.
  n.set("filename", InfoNode::string(r.filename));
  n.set("format", InfoNode::string(r.format));
  n.set("check-errors", InfoNode::integer(0));
  if (r.image_end_offset.value_or(0)) n.set("image-end-offset", i64(*r.image_end_offset));
  if (uint64_t c = r.count(FindingKind::Corruption)) n.set("corruptions", i64(c));
  if (uint64_t l = r.count(FindingKind::Leak)) n.set("leaks", i64(l));
  if (r.total_clusters.value_or(0)) n.set("total-clusters", i64(*r.total_clusters));
  if (r.allocated_clusters.value_or(0)) n.set("allocated-clusters", i64(*r.allocated_clusters));
  if (r.fragmented_clusters.value_or(0)) n.set("fragmented-clusters", i64(*r.fragmented_clusters));
  if (r.compressed_clusters.value_or(0)) n.set("compressed-clusters", i64(*r.compressed_clusters));
  InfoNode unsafe = InfoNode::list(), findings = InfoNode::list();
  for (const auto& f : r.findings) {
    if (f.kind == FindingKind::Unsafe) unsafe.push(InfoNode::string(f.message));
    InfoNode fn = InfoNode::dict();
    fn.set("kind", InfoNode::string(kind_name(f.kind)));
    fn.set("message", InfoNode::string(f.message));
    findings.push(std::move(fn));
  }
  n.set("unsafe", std::move(unsafe));
  n.set("findings", std::move(findings));
  n.set("verdict", InfoNode::string(check_verdict(r)));
  std::string out;
  info::append_json(out, n);
  out += '\n';
  return out;
}

}  // namespace imgtool
