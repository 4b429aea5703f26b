#pragma once
// The driver interface behind imgtool::Image (STYLE.md §2 "Registry"): each
// format is one FormatDescriptor in the constexpr table of registry.cpp.
// probe() is noexcept, pure (no I/O) and fuzzable; open() parses through
// bounds-checked reads of the ByteSource and never opens another file unless
// OpenOptions::allow_external_files says so.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "imgtool/image.hpp"

namespace imgtool::formats {

// The probe window (libarchive-style read-ahead): the first 64 KiB, enough for
// iso9660's volume descriptor at 32 KiB, and the last 512 bytes (fixed-VHD footer).
inline constexpr size_t kProbeHeadBytes = 64 * 1024;
inline constexpr size_t kProbeTailBytes = 512;

struct ProbeInput {
  std::span<const std::byte> head;  // first min(64 KiB, size) bytes
  std::span<const std::byte> tail;  // last min(512, size) bytes
  uint64_t file_size = 0;
};

using ProbeFn = int (*)(const ProbeInput&) noexcept;  // 0 = not this format, 100 = certain, raw = 1
using OpenFn = std::unique_ptr<Image> (*)(std::shared_ptr<const ByteSource>, const OpenOptions&);

struct FormatDescriptor {
  std::string_view name;                // qemu's driver name
  std::string_view glance_disk_format;  // Glance's disk_format ("" when it has none)
  ProbeFn probe;
  OpenFn open;
};

std::span<const FormatDescriptor> registry() noexcept;
const FormatDescriptor* find_format(std::string_view name) noexcept;

// Reads the probe window of `src`.
struct ProbeWindow {
  std::vector<std::byte> head;
  std::vector<std::byte> tail;
  uint64_t file_size = 0;
  ProbeInput input() const { return {head, tail, file_size}; }
};
ProbeWindow read_probe_window(const ByteSource& src);

// ---- the drivers (one .cpp each) ---------------------------------------------
int qcow2_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> qcow2_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
int vmdk_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vmdk_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
int raw_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> raw_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
// Detection-only (src/formats/detect_*.cpp): metadata, no extents.
int vpc_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vpc_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
int vhdx_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vhdx_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
int vdi_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vdi_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
int qed_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> qed_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
int luks_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> luks_open(std::shared_ptr<const ByteSource>, const OpenOptions&);
int iso_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> iso_open(std::shared_ptr<const ByteSource>, const OpenOptions&);

}  // namespace imgtool::formats
