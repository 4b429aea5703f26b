// The one table of formats. A new format is one file plus one line here; no
// self-registering static initializers (a static library would drop them).
#include <array>

#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
namespace {

constexpr std::array<FormatDescriptor, 9> kFormats{{
    {"qcow2", "qcow2", qcow2_probe, qcow2_open},
    {"vmdk", "vmdk", vmdk_probe, vmdk_open},
    {"vpc", "vhd", vpc_probe, vpc_open},
    {"vhdx", "vhdx", vhdx_probe, vhdx_open},
    {"vdi", "vdi", vdi_probe, vdi_open},
    {"qed", "", qed_probe, qed_open},
    {"luks", "", luks_probe, luks_open},
    {"iso", "iso", iso_probe, iso_open},
    {"raw", "raw", raw_probe, raw_open},  // scores 1: wins only when nothing else does
}};

}  // namespace

std::span<const FormatDescriptor> registry() noexcept { return kFormats; }

const FormatDescriptor* find_format(std::string_view name) noexcept {
  for (const auto& f : kFormats)
    if (f.name == name) return &f;
  return nullptr;
}

ProbeWindow read_probe_window(const ByteSource& src) {
  ProbeWindow w;
  w.file_size = src.size();
  w.head.resize(static_cast<size_t>(std::min<uint64_t>(kProbeHeadBytes, w.file_size)));
  src.read_exact(0, w.head);
  size_t tail = static_cast<size_t>(std::min<uint64_t>(kProbeTailBytes, w.file_size));
  w.tail.resize(tail);
  src.read_exact(w.file_size - tail, w.tail);
  return w;
}

}  // namespace imgtool::formats
