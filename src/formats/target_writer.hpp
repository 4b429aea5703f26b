#pragma once
// The convert engine's target side. The pipeline (src/convert/pipeline.cpp)
// walks the source's extents, reads data cluster by cluster, skips all-zero
// clusters, has worker threads run prepare() (compression) and hands the
// results to write_prepared() strictly in guest order, from one thread.
// Writers emit their file through a ByteSink: forward-only where the format
// allows it (raw, uncompressed qcow2 with a precomputed layout, vmdk
// streamOptimized), patching a header via ByteSink::pwrite() only when they
// must (and then only on seekable sinks).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "convert/content_digest.hpp"
#include "imgtool/image.hpp"
#include "imgtool/sink.hpp"

namespace imgtool::convert {

// -o key=value options as given (names as in qemu-img), plus -c.
struct TargetOptions {
  std::map<std::string, std::string> options;
  bool compress = false;  // -c
};

// What the writer knows before the first byte: the virtual size and, for
// writers that lay out metadata up front, the guest clusters that will carry
// data (from Image::map() plus the zero scan), in increasing order.
struct TargetPlan {
  uint64_t virtual_size = 0;
  // Sorted, non-overlapping guest ranges that will be written (cluster
  // aligned to the writer's cluster_size(), last one may be cut at
  // virtual_size). Empty ranges are never listed.
  std::vector<std::pair<uint64_t, uint64_t>> data_ranges;  // (offset, length)
  bool data_ranges_known = false;                          // false: writer must not depend on them
  // The digest of the guest data (content_digest.hpp), when a plan pass ran
  // for a writer that wants_content_digest().
  std::optional<ContentDigest> content_digest;
};

class TargetWriter {
 public:
  virtual ~TargetWriter() = default;
  // Granularity of data hand-over: the pipeline passes whole clusters (the
  // last one may be short at the end of the disk).
  virtual uint64_t cluster_size() const = 0;
  // Whether the writer needs TargetPlan::data_ranges before begin().
  virtual bool needs_plan() const { return false; }
  // Whether prepare() does real work (compression) worth parallelizing.
  virtual bool compresses() const { return false; }
  // Whether the output carries identifiers derived from the guest data
  // (vmdk's CID). The pipeline then hashes every data cluster it hands over
  // (ContentHasher) and gives the result in TargetPlan::content_digest when
  // a plan pass ran, else to set_content_digest() after the last cluster and
  // before end(). A writer on a non-seekable sink that needs the identifier
  // before the data must therefore ask for a plan (needs_plan()).
  virtual bool wants_content_digest() const { return false; }
  virtual void set_content_digest(const ContentDigest& d) { (void)d; }
  // The exact number of bytes begin()..end() will write for `plan` (the
  // plan pass's when needs_plan(), else just the virtual size), from the
  // same layout function begin() uses; nullopt when it depends on the data
  // itself (compressed clusters) or on a layout chosen while writing.
  // Called before begin(), on the writer that will write. Throws what
  // begin() would throw for this plan.
  virtual std::optional<uint64_t> planned_size(const TargetPlan& plan) const {
    (void)plan;
    return std::nullopt;
  }
  virtual void begin(const TargetPlan& plan) = 0;
  // Pure and thread-safe: turns one cluster of guest data into what
  // write_prepared() takes (compressed bytes, marker framing...). Default: copy.
  virtual std::vector<std::byte> prepare(uint64_t guest_offset, std::span<const std::byte> data) const {
    (void)guest_offset;
    return {data.begin(), data.end()};
  }
  // Called in strictly increasing guest_offset order, one thread. Clusters
  // never passed read as zeros in the target.
  virtual void write_prepared(uint64_t guest_offset, uint64_t guest_len, std::vector<std::byte> prepared) = 0;
  // Used instead of prepare()+write_prepared() when compresses() is false: a
  // run of whole clusters (cluster aligned; only the last run of the disk may
  // end short), in the same increasing order, without a copy. Default: one
  // write_prepared(prepare()) per cluster, so writers need not override it.
  virtual void write_data(uint64_t guest_offset, std::span<const std::byte> data) {
    const uint64_t c = cluster_size();
    for (uint64_t done = 0; done < data.size();) {
      const uint64_t n = std::min<uint64_t>(c, data.size() - done);
      auto piece = data.subspan(static_cast<size_t>(done), static_cast<size_t>(n));
      write_prepared(guest_offset + done, n, prepare(guest_offset + done, piece));
      done += n;
    }
  }
  // Writes the remaining metadata (tables, footer); then the pipeline calls
  // sink.finish().
  virtual void end() = 0;
};

}  // namespace imgtool::convert
