#pragma once
// The driver interface behind imgtool::Image (QEMU's BlockDriver, libarchive's
// format table): each format is one FormatDescriptor in the constexpr table of
// registry.cpp, implemented in its own folder (src/formats/<format>/). A new
// target format is one folder plus one table line.
//
// probe() is noexcept, pure (no I/O) and fuzzable. open() parses through
// bounds-checked reads of the ByteSource; a file named inside the image is
// opened only through the Gate it is given (gate.hpp), never by path.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/target_writer.hpp"
#include "imgtool/format.hpp"
#include "imgtool/image.hpp"

namespace imgtool::formats {

class Gate;

// The probe window (libarchive-style read-ahead): the first 64 KiB, enough for
// iso9660's volume descriptor at 32 KiB and a tar header, and the last 512
// bytes (fixed-VHD footer).
inline constexpr size_t kProbeHeadBytes = 64 * 1024;
inline constexpr size_t kProbeTailBytes = 512;

struct ProbeInput {
  std::span<const std::byte> head;  // first min(64 KiB, size) bytes
  std::span<const std::byte> tail;  // last min(512, size) bytes
  uint64_t file_size = 0;           // UINT64_MAX: a stream whose end is not known yet (no tail then)
};

using ProbeFn = int (*)(const ProbeInput&) noexcept;  // 0 = not this format, 100 = certain, raw = 1
using OpenFn = std::unique_ptr<Image> (*)(std::shared_ptr<const ByteSource>, Gate&);
using WriterFn = std::unique_ptr<convert::TargetWriter> (*)(ByteSink&, const convert::TargetOptions&);
using OptionKeysFn = std::vector<std::string> (*)();
using NeedsSeekFn = bool (*)(const convert::TargetOptions&);

struct FormatDescriptor {
  Format id;
  std::string_view name;                // qemu's driver name (or the container's common name)
  std::string_view glance_disk_format;  // Glance's disk_format ("" when it has none)
  ProbeFn probe;
  OpenFn open;
  // The target side; null for formats imgtool does not write.
  WriterFn make_writer = nullptr;
  OptionKeysFn option_keys = nullptr;         // the -o keys the writer takes (qemu-img's names)
  NeedsSeekFn needs_seekable_sink = nullptr;  // true: the writer patches its output (no stream, no upload)
};

std::span<const FormatDescriptor> registry() noexcept;
// Every Format has exactly one descriptor.
const FormatDescriptor& descriptor(Format f) noexcept;

// Opens `src` as format `f`; files the image names are asked of `gate`.
std::unique_ptr<Image> open_with_gate(std::shared_ptr<const ByteSource> src, Format f, Gate& gate);

// Reads the probe window of `src`.
struct ProbeWindow {
  std::vector<std::byte> head;
  std::vector<std::byte> tail;
  uint64_t file_size = 0;
  // A stream read once: the tail was not read (it would mean holding the
  // whole stream); the deferred check probes again.
  bool tail_missing = false;
  ProbeInput input() const { return {head, tail, file_size}; }
};
ProbeWindow read_probe_window(const ByteSource& src);
// probe_all() over a window already read.
std::vector<ProbeResult> probe_window(const ProbeWindow& w);

// ---- the drivers (one folder each) -------------------------------------------
int qcow2_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> qcow2_open(std::shared_ptr<const ByteSource>, Gate&);
int qcow_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> qcow_open(std::shared_ptr<const ByteSource>, Gate&);
int vmdk_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vmdk_open(std::shared_ptr<const ByteSource>, Gate&);
int raw_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> raw_open(std::shared_ptr<const ByteSource>, Gate&);
// Detection-only: metadata, no extents.
int vpc_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vpc_open(std::shared_ptr<const ByteSource>, Gate&);
int vhdx_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vhdx_open(std::shared_ptr<const ByteSource>, Gate&);
int vdi_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> vdi_open(std::shared_ptr<const ByteSource>, Gate&);
int qed_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> qed_open(std::shared_ptr<const ByteSource>, Gate&);
int luks_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> luks_open(std::shared_ptr<const ByteSource>, Gate&);
int iso_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> iso_open(std::shared_ptr<const ByteSource>, Gate&);
// Containers and compressed streams (src/formats/archive/): named, never read.
int gzip_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> gzip_open(std::shared_ptr<const ByteSource>, Gate&);
int xz_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> xz_open(std::shared_ptr<const ByteSource>, Gate&);
int bzip2_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> bzip2_open(std::shared_ptr<const ByteSource>, Gate&);
int zstd_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> zstd_open(std::shared_ptr<const ByteSource>, Gate&);
int tar_probe(const ProbeInput&) noexcept;
std::unique_ptr<Image> tar_open(std::shared_ptr<const ByteSource>, Gate&);

// Writers and their -o keys.
std::unique_ptr<convert::TargetWriter> make_raw_writer(ByteSink&, const convert::TargetOptions&);
std::unique_ptr<convert::TargetWriter> make_qcow2_writer(ByteSink&, const convert::TargetOptions&);
std::unique_ptr<convert::TargetWriter> make_vmdk_writer(ByteSink&, const convert::TargetOptions&);
std::vector<std::string> qcow2_option_keys();
std::vector<std::string> vmdk_option_keys();
bool qcow2_needs_seekable_sink(const convert::TargetOptions&);

}  // namespace imgtool::formats
