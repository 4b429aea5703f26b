// vmdk check(): Glance's VMDK rules (oslo format_inspector VMDKInspector) on
// the descriptor, then the metadata of each sparse extent
// (vmdk_check_sparse.cpp). Reads only metadata of files that are already
// open; never opens an extent file.
#include "formats/vmdk/vmdk_check.hpp"

#include <algorithm>
#include <cctype>

#include "formats/vmdk/vmdk_layout.hpp"
#include "imgtool/cancel.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

std::string num(uint64_t v) {
  return std::to_string(v);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool qemu_uses(const DescriptorExtent& e) {
  static constexpr std::string_view kTypes[] = {"FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE"};
  return e.access == "RW" && e.sectors > 0 &&
         std::find(std::begin(kTypes), std::end(kTypes), e.type) != std::end(kTypes);
}

void check_descriptor(const Layout& L, CheckSink& s) {
  const Descriptor& d = L.descriptor;
  const bool hosted = L.hosted != nullptr;
  const std::string* ct = d.find("createType");
  const std::string lct = ct ? lower(*ct) : "";
  // oslo VMDKInspector "Unsupported subformat". A rule of Glance's, not a
  // defect: imgtool reads the other create types through the gate.
  if (lct != "monolithicsparse" && lct != "streamoptimized")
    s.glance("createType '" + (ct ? escape_name(*ct, 64) : std::string("(none)")) +
             "': Glance accepts only monolithicSparse and streamOptimized vmdk images");
  uint64_t steps = 0;
  for (const auto& e : d.extents) {  // <= kMaxExtents
    if (++steps % kCheckPollEvery == 0) throw_if_interrupted();
    if (!hosted && !qemu_uses(e))
      s.corrupt(FindingKind::Metadata,
                "extent line " + num(e.line_no) + " '" + escape_name(e.line, 120) +
                    "' is ignored by qemu (only RW FLAT/SPARSE/VMFS/VMFSSPARSE/SESPARSE lines with sectors > "
                    "0 count)");
    // A descriptor file's extents are files the image names: assess() asks
    // the gate about each. The descriptor embedded in a hosted sparse file is
    // ignored by qemu, but Glance refuses paths in it ("Invalid extent
    // filenames found") and other readers may follow them.
    if (hosted && e.filename.find('/') != std::string::npos)
      s.unsafe("embedded descriptor line " + num(e.line_no) + " names the extent '" +
               escape_name(e.filename) +
               "', a path outside the image (Glance: Invalid extent filenames found)");
  }
  if (d.extents.empty())
    s.corrupt(FindingKind::Metadata, "descriptor has no extent lines (Glance: No extents found)");
  for (const auto& [n, line] : d.invalid_lines) {  // bounded by the descriptor cap
    if (++steps % kCheckPollEvery == 0) throw_if_interrupted();
    s.corrupt(FindingKind::Metadata,
              "descriptor line " + num(n) + " '" + escape_name(line, 120) +
                  "' is not key=value, ddb.* or an extent line (Glance: Invalid VMDK descriptor data)");
  }
}

}  // namespace

void CheckSink::finish() {
  if (corruptions_ > kMaxListed)
    r_.findings.push_back({Severity::Corruption, FindingKind::Metadata,
                           "... and " + num(corruptions_ - kMaxListed) + " more corruption findings"});
}

CheckReport check_layout(const Layout& L) {
  CheckReport r;
  CheckSink s{r};
  check_descriptor(L, s);
  for (const auto& x : L.extents) {
    if (!x.sparse) continue;
    const std::string label = x.separate_file ? "extent '" + escape_name(x.name) + "': " : "";
    uint64_t end = 0;
    try {
      end = check_sparse_extent(*x.sparse, label, s);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Interrupted) throw;
      // A table that cannot be read; its path, if any, is escaped (gate.cpp).
      s.corrupt(FindingKind::Metadata, label + e.what());
    }
    if (!x.separate_file) r.image_end_offset = io::align_up(end, kSector);
  }
  s.finish();
  return r;
}

}  // namespace imgtool::vmdk
