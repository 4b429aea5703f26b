#pragma once
// The format layer's public face: detect a format from bytes, open an image
// through its driver, read its metadata (ImageInfo), walk its guest extents and
// read guest data. Drivers live in src/formats/, one per format, listed in one
// table (src/formats/registry.cpp).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "imgtool/finding.hpp"
#include "imgtool/format.hpp"
#include "imgtool/info_tree.hpp"
#include "imgtool/source.hpp"

namespace imgtool {

// ---- metadata --------------------------------------------------------------

struct SnapshotInfo {  // qcow2 internal snapshot, as qemu-img info lists it
  std::string id;
  std::string name;
  uint64_t vm_state_size = 0;
  uint32_t date_sec = 0;
  uint32_t date_nsec = 0;
  uint64_t vm_clock_nsec = 0;
  std::optional<uint64_t> icount;
};

// Everything `qemu-img info` reports, plus what imgtool adds. Field names
// follow QAPI's ImageInfo.
struct ImageInfo {
  std::string filename;         // as given by the user
  Format format = Format::Raw;  // format_name() is qemu's driver name, glance_disk_format() Glance's
  uint64_t virtual_size = 0;
  std::optional<uint64_t> actual_size;   // host bytes allocated ("disk size")
  std::optional<uint64_t> cluster_size;  // only when the driver reports one
  bool encrypted = false;
  bool dirty = false;                                // "cleanly shut down: no"
  std::optional<std::string> backing_filename;       // exactly as stored in the image
  std::optional<std::string> full_backing_filename;  // as qemu would resolve it (never opened)
  std::optional<std::string> backing_filename_format;
  std::vector<SnapshotInfo> snapshots;
  // "Format specific information": {type, data}; empty type = none.
  std::string format_specific_type;
  InfoNode format_specific_data;
  // Every file the image names (backing file, external data file, vmdk
  // extents, differencing parents), typed. Only the gate (assess) ever opens
  // one; info and the drivers just report them.
  std::vector<FileRef> named_files;
  // True for formats imgtool only detects (vhd, vhdx, vdi, iso, luks, qed,
  // qcow, and the containers): metadata only, no extents, no reads.
  bool detection_only = false;
  // raw read once from a stream whose end has not been seen (a pipe, a
  // decompressor; ByteSource::one_pass() without known_size()): its virtual
  // size is its end, so virtual_size is 0 and map()/read() refuse until the
  // image is opened again at the end (complete_deferred_check does). Only a
  // consumer that sends the bytes as they are (publish) can use such an image.
  bool virtual_size_pending = false;
  // Extra facts drivers want to report beyond qemu-img (e.g. raw partition
  // table: "partition-table" -> "gpt"/"mbr"). Printed only by imgtool-specific
  // outputs, never in the qemu-img compatible ones.
  InfoNode extra;
};

// ---- guest extents ---------------------------------------------------------

enum class ExtentKind : uint8_t {
  Data,         // guest bytes stored in the image
  Zero,         // reads as zeros, explicitly marked (qcow2 zero flag, vmdk zeroed GTE, raw hole)
  Unallocated,  // not allocated in this image (reads as zeros when there is no backing file)
};

struct Extent {
  uint64_t offset = 0;  // guest offset
  uint64_t length = 0;
  ExtentKind kind = ExtentKind::Unallocated;
  bool compressed = false;  // data stored compressed (qcow2/vmdk), informational
};

// qemu's block status of one run of guest bytes (block/io.c
// bdrv_co_block_status): the flags `qemu-img map`, `compare` and `measure`
// walk. Where Extent says what the bytes read as, this says how qemu's driver
// would describe them, so that those commands print what qemu-img prints.
struct BlockStatus {
  uint64_t offset = 0;     // guest offset
  uint64_t length = 0;     // never 0; a run qemu's driver would report in one answer
  bool data = false;       // BDRV_BLOCK_DATA: stored in the image (or a file below it)
  bool zero = false;       // BDRV_BLOCK_ZERO: reads as zeros
  bool allocated = false;  // BDRV_BLOCK_ALLOCATED: this layer answers for the bytes
  bool compressed = false;
  // BDRV_BLOCK_OFFSET_VALID: where the bytes are in `file` (raw, uncompressed
  // qcow2 and vmdk data, preallocated qcow2 zero clusters).
  std::optional<uint64_t> host_offset;
  std::string file;    // the file host_offset refers to (as opened), when host_offset is set
  unsigned depth = 0;  // 0: this image; n: the n-th backing file below it
};

// ---- the image -------------------------------------------------------------

// How to open an image. open_image() never opens a file the image names
// (backing file, data file, extents): reading those needs assess() and its gate.
struct OpenOptions {
  std::optional<Format> format;  // -f; nullopt: detect from the bytes
};

class Image {
 public:
  virtual ~Image() = default;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;

  virtual const ImageInfo& info() const = 0;

  // False for detection-only formats: map()/read() throw Error(Unsupported).
  virtual bool readable() const { return true; }

  // The extent that starts at guest `offset` (< virtual_size), at most
  // `max_len` long (> 0). Length is never 0. Thread-safe.
  virtual Extent map(uint64_t offset, uint64_t max_len) const = 0;

  // Reads guest bytes [offset, offset+out.size()); Zero/Unallocated read as
  // zeros. Throws Error(Format) on corrupt metadata or data (bad compressed
  // cluster, pointer past EOF). Thread-safe.
  virtual void read(uint64_t offset, std::span<std::byte> out) const = 0;

  // The driver's consistency walk over the metadata (no guest data read).
  // Findings of this image alone; assess() adds the rules that span formats
  // and decides the verdict.
  virtual CheckReport check() const = 0;

  // qemu's block status at guest `offset` (< virtual_size), at most `max_len`
  // (> 0) long. The default derives it from map() without host offsets;
  // drivers that know where the bytes live override it. Thread-safe.
  virtual BlockStatus block_status(uint64_t offset, uint64_t max_len) const;

 protected:
  Image() = default;
};

// Detection: the format the bytes of `src` claim (Raw when no other driver
// does). Looks at the first 64 KiB and the last 512 bytes; never at the name.
Format detect_format(const ByteSource& src);

struct ProbeResult {
  Format format = Format::Raw;
  int score = 0;
};
// Every format that claims the bytes, best first (raw last, score 1).
std::vector<ProbeResult> probe_all(const ByteSource& src);

// Opens `path` (detected, or opts.format). Errors name the path.
std::unique_ptr<Image> open_image(const std::string& path, const OpenOptions& opts = {});
// Same on an already opened source (takes ownership).
std::unique_ptr<Image> open_image(std::shared_ptr<const ByteSource> src, const OpenOptions& opts = {});

// Walks every extent of `img` in guest order, merging nothing; `fn` returns
// false to stop. Convenience over Image::map().
template <class Fn>
void for_each_extent(const Image& img, Fn&& fn, uint64_t chunk = uint64_t(1) << 30) {
  const uint64_t end = img.info().virtual_size;
  for (uint64_t off = 0; off < end;) {
    Extent e = img.map(off, std::min<uint64_t>(chunk, end - off));
    if (!fn(e)) return;
    off += e.length;
  }
}

}  // namespace imgtool
