// The one table of formats. A new format is one folder plus one line here; no
// self-registering static initializers (a static library would drop them).
// Order matters twice: probe ties go to the earlier line, and raw, which
// scores 1, comes last.
#include <array>

#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {
namespace {

using F = Format;

constexpr std::array<FormatDescriptor, 15> kFormats{{
    {F::Qcow2, "qcow2", "qcow2", qcow2_probe, qcow2_open, make_qcow2_writer, qcow2_option_keys,
     qcow2_needs_seekable_sink},
    {F::Qcow, "qcow", "", qcow_probe, qcow_open},
    {F::Vmdk, "vmdk", "vmdk", vmdk_probe, vmdk_open, make_vmdk_writer, vmdk_option_keys, nullptr},
    {F::Vpc, "vpc", "vhd", vpc_probe, vpc_open},
    {F::Vhdx, "vhdx", "vhdx", vhdx_probe, vhdx_open},
    {F::Vdi, "vdi", "vdi", vdi_probe, vdi_open},
    {F::Qed, "qed", "", qed_probe, qed_open},
    {F::Luks, "luks", "", luks_probe, luks_open},
    {F::Iso, "iso", "iso", iso_probe, iso_open},
    {F::Gzip, "gzip", "", gzip_probe, gzip_open},
    {F::Xz, "xz", "", xz_probe, xz_open},
    {F::Bzip2, "bzip2", "", bzip2_probe, bzip2_open},
    {F::Zstd, "zstd", "", zstd_probe, zstd_open},
    {F::Tar, "tar", "", tar_probe, tar_open},
    {F::Raw, "raw", "raw", raw_probe, raw_open, make_raw_writer, nullptr, nullptr},  // scores 1
}};

// descriptor() indexes by enum value: every Format must have its line.
constexpr bool covers_every_format() {
  bool seen[kFormats.size()] = {};
  for (const auto& f : kFormats) {
    const auto i = static_cast<size_t>(f.id);
    if (i >= kFormats.size() || seen[i]) return false;
    seen[i] = true;
  }
  return true;
}
static_assert(covers_every_format(), "registry: one line per imgtool::Format");

}  // namespace

std::span<const FormatDescriptor> registry() noexcept {
  return kFormats;
}

const FormatDescriptor& descriptor(Format f) noexcept {
  for (const auto& d : kFormats)
    if (d.id == f) return d;
  return kFormats.back();  // unreachable: covers_every_format()
}

ProbeWindow read_probe_window(const ByteSource& src) {
  ProbeWindow w;
  if (src.one_pass()) {
    // A stream read once: the head as it arrives, and the tail only when it
    // is inside the head (reading it would mean holding the whole stream
    // first). The deferred check (verdict.hpp) probes again with the tail once
    // the stream ended. (A spool read at random is read to its end for the
    // tail, like any source: a fixed VHD has nothing but a footer.)
    w.head.resize(kProbeHeadBytes);
    w.head.resize(src.read_at(0, w.head));
    const std::optional<uint64_t> known = src.known_size();
    w.file_size = known.value_or(UINT64_MAX);
    if (known && *known == w.head.size()) {
      const size_t tail = std::min(kProbeTailBytes, w.head.size());
      w.tail.assign(w.head.end() - static_cast<std::ptrdiff_t>(tail), w.head.end());
    } else {
      w.tail_missing = true;
    }
    return w;
  }
  w.file_size = src.size();
  w.head.resize(static_cast<size_t>(std::min<uint64_t>(kProbeHeadBytes, w.file_size)));
  src.read_exact(0, w.head);
  size_t tail = static_cast<size_t>(std::min<uint64_t>(kProbeTailBytes, w.file_size));
  w.tail.resize(tail);
  src.read_exact(w.file_size - tail, w.tail);
  return w;
}

}  // namespace imgtool::formats

namespace imgtool {

std::string_view format_name(Format f) noexcept {
  return formats::descriptor(f).name;
}
std::string_view glance_disk_format(Format f) noexcept {
  return formats::descriptor(f).glance_disk_format;
}

std::optional<Format> format_from_name(std::string_view name) noexcept {
  for (const auto& d : formats::registry())
    if (d.name == name) return d.id;
  return std::nullopt;
}

std::vector<Format> known_formats() {
  std::vector<Format> v;
  for (const auto& d : formats::registry()) v.push_back(d.id);
  return v;
}

std::vector<Format> writable_formats() {
  // qemu-img's usual order for targets: raw first.
  std::vector<Format> v{Format::Raw};
  for (const auto& d : formats::registry())
    if (d.make_writer && d.id != Format::Raw) v.push_back(d.id);
  return v;
}

std::string format_list(const std::vector<Format>& formats) {
  std::string s;
  for (Format f : formats) {
    if (!s.empty()) s += ", ";
    s += format_name(f);
  }
  return s;
}

}  // namespace imgtool
