#pragma once
// VMDK target writer internals (hosted sparse extent, VMware "Virtual Disk
// Format 5.0"; on-disk constants as in vmware/open-vmdk vmdk/vmware_vmdk.h and
// qemu block/vmdk.c). Two subformats, each in its own file:
//   vmdk_sparse_writer.cpp  monolithicSparse (tables at the head, laid out
//                           from the TargetPlan so the file is written forward)
//   vmdk_stream_writer.cpp  streamOptimized (markers, deflate grains, GT/GD and
//                           footer at the end: forward-only on any ByteSink)
// vmdk_options.cpp parses -o, vmdk_descriptor_writer.cpp makes the header
// sector and the embedded descriptor text.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/target_writer.hpp"

namespace imgtool::convert {

namespace vmdk {

constexpr uint64_t kSector = 512;
constexpr uint64_t kGrainSectors = 128;  // grainSize: 64 KiB, qemu's and VMware's default
constexpr uint64_t kGrainBytes = kGrainSectors * kSector;
constexpr uint64_t kGtes = 512;                        // numGTEsPerGT (the only value disklib supports)
constexpr uint64_t kGtSectors = 4;                     // 512 entries × 4 B
constexpr uint64_t kGtCoverage = kGtes * kGrainBytes;  // 32 MiB of guest data per GT
constexpr uint64_t kDescSectors = 20;                  // descriptorSize, as qemu and open-vmdk
constexpr uint64_t kDescOffset = 1;  // descriptor right after the header (Glance requires 0x200)
constexpr uint64_t kGdAtEnd = ~uint64_t{0};
constexpr uint64_t kMaxFileSectors = 0xFFFFFFFFu;  // GD/GT entries are u32 sector numbers

// Header flags (vmware_vmdk.h SPARSEFLAG_*).
constexpr uint32_t kFlagNewlineTest = 1u << 0;
constexpr uint32_t kFlagRedundantGt = 1u << 1;
constexpr uint32_t kFlagZeroedGrain = 1u << 2;
constexpr uint32_t kFlagCompressed = 1u << 16;
constexpr uint32_t kFlagMarkers = 1u << 17;

// Stream marker types (vmware_vmdk.h GRAIN_MARKER_*).
constexpr uint32_t kMarkerEos = 0;
constexpr uint32_t kMarkerGt = 1;
constexpr uint32_t kMarkerGd = 2;
constexpr uint32_t kMarkerFooter = 3;

enum class Subformat { MonolithicSparse, StreamOptimized };

struct Options {
  Subformat subformat = Subformat::MonolithicSparse;
  std::string adapter_type = "ide";
  std::string hwversion = "4";
  std::string toolsversion = "2147483647";
  bool zeroed_grain = false;
};

// Parses TargetOptions for the vmdk target; throws Error(Usage) naming the
// bad key/value and what is accepted. `target` names the output in messages.
Options parse_options(const TargetOptions& opts, const std::string& target);

// The fields of the 512-byte SparseExtentHeader we set (all others zero).
struct HeaderFields {
  uint32_t version = 1;
  uint32_t flags = 0;
  uint64_t capacity = 0;  // sectors
  uint64_t desc_offset = kDescOffset;
  uint64_t desc_size = kDescSectors;
  uint64_t rgd_offset = 0;
  uint64_t gd_offset = 0;
  uint64_t overhead = 0;  // sectors before the first grain
  uint16_t compress_algorithm = 0;
};
using Sector = std::array<std::byte, kSector>;
Sector encode_header(const HeaderFields& h);

// A 16-byte special marker {val u64, size=0 u32, type u32} padded to a sector.
Sector encode_marker(uint64_t val, uint32_t type);

// Capacity in sectors for a virtual size (qemu rounds the size up to a
// sector). Throws Error(Unsupported) for 0 (qemu and libvmdk cannot open a
// capacity-0 sparse extent) and above `max_capacity` sectors.
uint64_t capacity_sectors(uint64_t virtual_size, uint64_t max_capacity, const std::string& target);

// The embedded descriptor, NUL-padded to kDescSectors sectors.
// `extent_file` comes from extent_file_name().
std::vector<std::byte> make_descriptor(const Options& o, uint64_t capacity, const std::string& extent_file);

// Basename of the sink name reduced to characters every reader accepts in the
// extent line (no '/', no quotes, ASCII only: Glance's descriptor check).
std::string extent_file_name(const std::string& sink_name);

std::unique_ptr<TargetWriter> make_sparse_writer(ByteSink& sink, const Options& o);
std::unique_ptr<TargetWriter> make_stream_writer(ByteSink& sink, const Options& o);

}  // namespace vmdk
}  // namespace imgtool::convert
