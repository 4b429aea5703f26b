#pragma once
// The read side of qemu-img: `compare`, `map` and `measure`, with qemu-img
// 7.2's output byte for byte (human and --output=json). Each works on Images
// the caller opened; the CLI opens them through assess() (verdict.hpp), so
// nothing named inside an image is opened unless the gate admits it.
// They walk Image::block_status(), qemu's block status, so that runs,
// merges and offsets are the ones qemu-img prints.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "imgtool/error.hpp"
#include "imgtool/format.hpp"
#include "imgtool/image.hpp"

namespace imgtool {

// ---- map -------------------------------------------------------------------

// One line of `qemu-img map`: block statuses merged as qemu-img merges them
// (same flags, depth and file, contiguous host offsets).
struct MapEntry {
  uint64_t start = 0;
  uint64_t length = 0;
  unsigned depth = 0;
  bool present = false;  // allocated in the layer at `depth`
  bool zero = false;
  bool data = false;
  std::optional<uint64_t> offset;  // host offset in `file`
  std::string file;
};

struct MapOptions {
  uint64_t start_offset = 0;           // --start-offset
  std::optional<uint64_t> max_length;  // --max-length
  bool json = false;                   // --output=json
};

// Calls `fn` for every merged entry of [start_offset, start_offset +
// max_length) clipped to the virtual size, in guest order, as the walk goes
// (memory does not grow with the number of entries). Like qemu-img, a range
// that is empty yields one entry of length 0 at start_offset.
void walk_map(const Image& img, const MapOptions& opts, const std::function<void(const MapEntry&)>& fn);

// Writes `qemu-img map` output for `img` to `out`: human ("Offset Length
// Mapped to File", only data that has a host offset) or JSON (one object per
// entry). Human output cannot show data without a host offset (compressed
// clusters and grains): as qemu-img, the lines before it are written, then
// Error(Unsupported) "File contains external, encrypted or compressed
// clusters." is thrown.
void write_map(const Image& img, const MapOptions& opts, std::ostream& out);

// ---- compare ---------------------------------------------------------------

struct CompareOptions {
  bool strict = false;  // -s: a size or block status difference is a difference
  // Bytes of the larger image handled so far out of its size (0 first).
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Each line of CompareResult::output as soon as it is known (qemu-img
  // prints "Warning: Image size mismatch!" between progress updates).
  std::function<void(const std::string& line)> print;
};

enum class CompareOutcome : uint8_t {
  Identical,    // qemu-img compare exit 0
  Different,    // 1
  StatusError,  // 3: reading an allocation map failed
  ReadError,    // 4: reading guest data failed
};

struct CompareResult {
  CompareOutcome outcome = CompareOutcome::Identical;
  // What qemu-img prints on stdout (without -q): "Images are identical.\n",
  // "Content mismatch at offset N!\n", "Warning: Image size mismatch!\n",
  // "Strict mode: ...".
  std::string output;
  // StatusError and ReadError: what failed.
  std::optional<Error> error;
};

// Compares the guest contents of `a` and `b` as qemu-img compare does:
// ranges both read as zeros are skipped, allocated ones are read and
// compared sector by sector, an extra area of the larger image must read as
// zeros. Never throws for a bad image (that is StatusError/ReadError);
// throws Error(Interrupted) on a signal.
CompareResult compare_images(const Image& a, const Image& b, const CompareOptions& opts = {});

// ---- measure ---------------------------------------------------------------

struct MeasureOptions {
  Format target = Format::Raw;                 // -O (raw, qcow2 or vmdk)
  std::map<std::string, std::string> options;  // -o, qemu-img's names
  // --size: the virtual size of a new empty image (when there is no source).
  std::optional<uint64_t> size;
};

// `qemu-img measure`: bytes a target file needs.
struct Measurement {
  uint64_t required = 0;            // for the source's data (or an empty image)
  uint64_t fully_allocated = 0;     // with every cluster allocated
  std::optional<uint64_t> bitmaps;  // qcow2 -> qcow2 (compat 1.1): persistent bitmaps
};

// qemu-img 7.2's numbers for raw and qcow2 (its formulas: every cluster the
// source's data touches, plus the metadata of a fully allocated image). For
// vmdk, which qemu-img cannot measure, imgtool's own writer: monolithicSparse
// required = the size imgtool convert writes when every grain the source
// allocates holds non-zero data (convert leaves out all-zero grains, so it is
// an upper bound otherwise); streamOptimized required = the same with every
// grain stored at zlib's worst case (an upper bound). `src` null: an empty
// image of opts.size bytes. Throws Error(Usage) for bad options, a missing
// or double size, or a target imgtool cannot measure.
Measurement measure_image(const Image* src, const MeasureOptions& opts);

// "required size: N\nfully allocated size: N\n[bitmaps size: N\n]".
std::string render_measure_human(const Measurement& m);
// qemu-img's JSON (its key order: bitmaps, required, fully-allocated).
std::string render_measure_json(const Measurement& m);

}  // namespace imgtool
