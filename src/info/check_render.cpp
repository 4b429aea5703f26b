// `imgtool check` output. The human summary is qemu-img 7.2's
// dump_human_image_check() (qemu-img.c) fed with the verdict's findings: every
// Corruption finding counts as one qemu "error", every Leak finding as one
// leaked cluster; "No errors were found on the image." only for a clean
// verdict. Findings qemu has no words for (unsafe, unreadable, notes) get
// their own lines after the summary. JSON: qemu's ImageCheck keys under
// qemu's rules (collect_image_check: optional counters only when non-zero)
// plus "unsafe", "findings" and "verdict", all printed in QDict order like qemu.
#include <cstdio>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/info.hpp"
#include "info/qobject.hpp"

namespace imgtool {
namespace {

std::string percent(uint64_t num, uint64_t den) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%0.2f", static_cast<double>(num) * 100.0 / static_cast<double>(den));
  return buf;
}

}  // namespace

std::string render_check_human(const Assessment& a) {
  const CheckReport& r = a.report;
  if (a.verdict == Verdict::Unreadable && r.count(Severity::Corruption) == 0) return "";
  const uint64_t corruptions = r.count(Severity::Corruption), leaks = r.count(Severity::Leak);
  std::string out;
  if (a.verdict == Verdict::Clean) out += "No errors were found on the image.\n";
  if (corruptions)
    out += "\n" + std::to_string(corruptions) +
           " errors were found on the image.\n"
           "Data may be corrupted, or further writes to the image may corrupt it.\n";
  if (leaks)
    out += "\n" + std::to_string(leaks) +
           " leaked clusters were found on the image.\n"
           "This means waste of disk space, but no harm to data.\n";
  const uint64_t total = r.total_clusters.value_or(0), alloc = r.allocated_clusters.value_or(0);
  if (total != 0 && alloc != 0)
    out += std::to_string(alloc) + "/" + std::to_string(total) + " = " + percent(alloc, total) +
           "% allocated, " + percent(r.fragmented_clusters.value_or(0), alloc) + "% fragmented, " +
           percent(r.compressed_clusters.value_or(0), alloc) + "% compressed clusters\n";
  if (r.image_end_offset.value_or(0) != 0)
    out += "Image end offset: " + std::to_string(*r.image_end_offset) + "\n";
  const std::string name = escape_name(r.filename);
  // The number of findings depends on the image: poll now and then.
  for (Severity s : {Severity::Unsafe, Severity::Unreadable, Severity::Note})
    for (size_t i = 0; i < r.findings.size(); ++i) {
      if (i % 1024 == 1023) throw_if_interrupted();
      const Finding& f = r.findings[i];
      if (f.severity == s)
        out += name + ": " + std::string(to_string(s)) + ": " + terminal_safe(f.message) + "\n";
    }
  return out;
}

std::string render_check_json(const Assessment& a) {
  const CheckReport& r = a.report;
  auto i64 = [](uint64_t v) { return InfoNode::integer(static_cast<int64_t>(v)); };
  InfoNode n = InfoNode::dict();
  // qapi/block-core.json ImageCheck member order.
  n.set("filename", InfoNode::string(r.filename));
  n.set("format", InfoNode::string(std::string(format_name(r.format))));
  n.set("check-errors", InfoNode::integer(0));
  if (r.image_end_offset.value_or(0)) n.set("image-end-offset", i64(*r.image_end_offset));
  if (uint64_t c = r.count(Severity::Corruption)) n.set("corruptions", i64(c));
  if (uint64_t l = r.count(Severity::Leak)) n.set("leaks", i64(l));
  if (r.total_clusters.value_or(0)) n.set("total-clusters", i64(*r.total_clusters));
  if (r.allocated_clusters.value_or(0)) n.set("allocated-clusters", i64(*r.allocated_clusters));
  if (r.fragmented_clusters.value_or(0)) n.set("fragmented-clusters", i64(*r.fragmented_clusters));
  if (r.compressed_clusters.value_or(0)) n.set("compressed-clusters", i64(*r.compressed_clusters));
  InfoNode unsafe = InfoNode::list(), findings = InfoNode::list();
  for (size_t i = 0; i < r.findings.size(); ++i) {
    if (i % 1024 == 1023) throw_if_interrupted();  // as many as the image makes
    const Finding& f = r.findings[i];
    if (f.severity == Severity::Unsafe) unsafe.push(InfoNode::string(f.message));
    InfoNode fn = InfoNode::dict();
    fn.set("severity", InfoNode::string(std::string(to_string(f.severity))));
    fn.set("kind", InfoNode::string(std::string(to_string(f.kind))));
    fn.set("message", InfoNode::string(f.message));
    if (f.file) {
      InfoNode file = InfoNode::dict();
      file.set("role", InfoNode::string(std::string(to_string(f.file->role))));
      file.set("name", InfoNode::string(f.file->name));
      fn.set("file", std::move(file));
    }
    if (f.override_with != Override::None)
      fn.set("override", InfoNode::string(std::string(override_flag(f.override_with))));
    findings.push(std::move(fn));
  }
  n.set("unsafe", std::move(unsafe));
  n.set("findings", std::move(findings));
  n.set("verdict", InfoNode::string(std::string(to_string(a.verdict))));
  std::string out;
  info::append_json(out, n);
  out += '\n';
  return out;
}

}  // namespace imgtool
