#pragma once
// VMDK target writer internals (hosted sparse extent, VMware "Virtual Disk
// Format 5.0"). The on-disk constants and the header and marker encoding are
// the reader's (vmdk_layout_constants.hpp, vmdk_sparse_header.hpp). Two
// subformats, each in its own file:
//   vmdk_sparse_writer.cpp  monolithicSparse (tables at the head, laid out
//                           from the TargetPlan so the file is written forward)
//   vmdk_stream_writer.cpp  streamOptimized (markers, deflate grains, GT/GD and
//                           footer at the end: forward-only on any ByteSink)
// vmdk_options.cpp parses -o, vmdk_descriptor_writer.cpp makes the embedded
// descriptor text.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/target_writer.hpp"
#include "formats/vmdk/vmdk_sparse_header.hpp"

namespace imgtool::vmdk {

// The layout both writers use (what qemu and VMware write).
inline constexpr uint64_t kGrainSectors = kDefaultGrainSectors;
inline constexpr uint64_t kGrainBytes = kGrainSectors * kSector;
inline constexpr uint64_t kGtSectors = kGtesPerGt * kTableEntryBytes / kSector;
inline constexpr uint64_t kGtCoverage = kGtesPerGt * kGrainBytes;  // 32 MiB of guest data per GT

enum class Subformat { MonolithicSparse, StreamOptimized };

struct WriterOptions {
  Subformat subformat = Subformat::MonolithicSparse;
  std::string adapter_type = "ide";
  std::string hwversion = "4";
  std::string toolsversion = "2147483647";
  bool zeroed_grain = false;
};

// Parses TargetOptions for the vmdk target; throws Error(Usage) naming the
// bad key/value and what is accepted. `target` names the output in messages.
WriterOptions parse_writer_options(const convert::TargetOptions& opts, const std::string& target);

// A header with the fields every writer sets the same way: 64 KiB grains,
// 512 GTEs per GT, the descriptor at sector 1 (20 sectors); the rest zero.
SparseHeader writer_header();

// Capacity in sectors for a virtual size (qemu rounds the size up to a
// sector). Throws Error(Unsupported) for 0 (qemu and libvmdk cannot open a
// capacity-0 sparse extent) and above `max_capacity` sectors.
uint64_t capacity_sectors(uint64_t virtual_size, uint64_t max_capacity, const std::string& target);

// The descriptor's identifiers, derived from the content digest of the
// conversion (convert/content_digest.hpp): CID = the digest's first 4 bytes
// read big-endian (ffffffff and fffffffe, which VMware reserves, lowered by
// 2); longContentID = hex of bytes 4..15, then the CID.
struct ContentIds {
  uint32_t cid = 0;
  std::string long_content_id;
};
ContentIds content_ids(const convert::ContentDigest& d);

// The embedded descriptor, NUL-padded to kDescriptorSectors sectors.
// `extent_file` comes from extent_file_name().
std::vector<std::byte> make_descriptor(const WriterOptions& o, uint64_t capacity,
                                       const std::string& extent_file, const ContentIds& ids);

// The descriptor's identifiers come from the data, which a writer on a file
// has seen only at the end: write() puts the descriptor at the sink's
// position, with the final IDs when the plan pass gave the digest, else with
// placeholders that finish() patches (one pwrite, so files only; a stream
// without the plan's digest is refused: the pipeline runs a plan pass for
// writers on streams that want the digest).
class DescriptorStamp {
 public:
  DescriptorStamp(ByteSink& sink, const WriterOptions& o) : sink_(sink), o_(o) {}
  void write(const convert::TargetPlan& plan, uint64_t capacity);
  void set_digest(const convert::ContentDigest& d) { digest_ = d; }
  void finish();

 private:
  std::vector<std::byte> bytes(const convert::ContentDigest& d) const;
  ByteSink& sink_;
  const WriterOptions& o_;
  uint64_t capacity_ = 0;
  uint64_t at_ = 0;  // sink offset of the descriptor
  std::optional<convert::ContentDigest> digest_;
  bool final_ = false;  // written with the final IDs
};

// Basename of the sink name reduced to characters every reader accepts in the
// extent line (no '/', no quotes, ASCII only: Glance's descriptor check).
std::string extent_file_name(const std::string& sink_name);

// The monolithicSparse layout of a disk (sectors): what SparseWriter writes
// and what `imgtool measure -O vmdk` counts, from one place.
struct SparseLayout {
  uint64_t capacity = 0;  // sectors
  uint64_t grains = 0;    // grains of the disk
  uint64_t gt_count = 0;
  uint64_t gd_sectors = 0;
  uint64_t rgd_offset = 0;
  uint64_t gd_offset = 0;
  uint64_t overhead = 0;  // first grain
};
SparseLayout sparse_layout(uint64_t virtual_size, const std::string& target);
// The file SparseWriter writes for `data_grains` grains of data.
uint64_t sparse_file_bytes(const SparseLayout& L, uint64_t data_grains);
// The largest file StreamWriter writes for a disk of `virtual_size` with
// `data_grains` grains of data in `tables` grain tables (each grain at
// zlib's worst case, compressBound).
uint64_t stream_file_bytes_max(uint64_t virtual_size, uint64_t data_grains, uint64_t tables,
                               const std::string& target);

std::unique_ptr<convert::TargetWriter> make_sparse_writer(ByteSink& sink, const WriterOptions& o);
std::unique_ptr<convert::TargetWriter> make_stream_writer(ByteSink& sink, const WriterOptions& o);

}  // namespace imgtool::vmdk
