#pragma once
// The convert engine: any readable Image -> raw | qcow2 | vmdk, streamed
// extent by extent into a ByteSink (a file through create_atomic_file, a hash
// tee, an HTTP upload body). Memory stays bounded whatever the image size;
// compression runs on all cores with the output order preserved.
// docs/convert.md describes the layouts and which targets need a seekable sink.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/format.hpp"
#include "imgtool/image.hpp"
#include "imgtool/sink.hpp"
#include "imgtool/sources.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool {

struct ConvertOptions {
  Format target_format = Format::Raw;          // -O: one of writable_formats()
  std::map<std::string, std::string> options;  // -o key=value (names as in qemu-img)
  bool compress = false;                       // -c
  // -S: a run of zeros this long (aligned) is not written as data. 0 = no zero
  // detection: the target is fully allocated (qemu-img -S 0).
  uint64_t zero_granularity = 4096;
  unsigned threads = 0;  // -m: worker threads; 0 = number of cores
  // convert_file: which files named inside the source may be read (backing
  // files are then flattened, extents and data files read) — the gate's rules.
  GatePolicy gate;
  // Called from the converting thread: bytes of guest data handled so far out
  // of `total` (a two-pass conversion counts both passes). It may stop the
  // conversion by cancelling `cancel` (or any token the call follows).
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Stops the conversion (Error(Interrupted); convert_file leaves no output
  // file). Empty: the calling thread's token (imgtool/cancel.hpp).
  CancelToken cancel;
  // convert_file only: also compute Glance's checksum (md5) and os_hash_value
  // (sha512) of the written file, while writing.
  bool checksum = false;
  // convert_file only: fsync DST before renaming it into place (default, like
  // qemu-img -t writeback). false = qemu-img's default "-t unsafe": no flush.
  bool fsync = true;
  // convert_file only: how SRC is read (imgtool/sources.hpp): a file, "-",
  // an http(s) URL, compressed, an OVA member; upstream digests are checked
  // before DST takes its name (a mismatch leaves no DST).
  SourceOptions source;
};

struct ConvertStats {
  uint64_t virtual_size = 0;
  uint64_t bytes_written = 0;  // size of the produced file/stream
  uint64_t data_bytes = 0;     // guest bytes written as data
  uint64_t skipped_bytes = 0;  // guest bytes left as holes/unallocated (zero or unallocated)
  unsigned threads = 0;        // workers used
  bool two_pass = false;       // the source was read twice (plan pass for a forward-only layout)
  // Set when ConvertOptions::checksum: hex digests of the written bytes.
  std::optional<std::string> md5;
  std::optional<std::string> sha512;
  // convert_file from a stream (pipe, download, decompressor): the most the
  // spool held in memory and in its temporary file (0: no spool).
  uint64_t spool_peak_memory = 0;
  uint64_t spool_peak_file = 0;
  // The layers peeled off the source and the upstream digests verified.
  std::vector<SourceLayer> source_layers;
  std::vector<UpstreamCheck> upstream;
};

// Parses and validates everything about the target that does not need the
// source (format, -o keys and values, -c support). Throws Error(Usage)
// naming the valid keys/values. Called by convert_image(); exposed for callers
// that must fail before opening anything or sending anything anywhere.
void validate_convert_options(const ConvertOptions& opts);

// qemu-img's -o syntax, the one parser for every command: each argument is
// "key=value[,key=value...]" (the option may be repeated; a later key wins,
// as in qemu-img). Throws Error(Usage) for a part that is not key=value.
std::map<std::string, std::string> parse_create_options(const std::vector<std::string>& args);

// True when the target, with these options, patches its output after writing
// it (qcow2 -c), so it cannot stream into a pipe or an upload.
bool convert_needs_seekable_output(const ConvertOptions& opts);

// qemu's size syntax: digits with an optional b, k, M, G or T suffix (powers of
// 1024, either case), as -S and the size-valued -o options take it. nullopt
// for anything else, or above 2^63.
std::optional<uint64_t> parse_qemu_size(std::string_view s);

// The valid -o keys of a target format (empty for formats imgtool does not write).
std::vector<std::string> convert_option_keys(Format target_format);

// A conversion into a non-seekable sink (an upload, a pipe), planned before
// its first byte: the exact size of the output when the target's layout
// fixes it, and what the target lays its tables out from (the guest clusters
// that will hold data, vmdk's content digest), so that convert_image() given
// the plan does not read the source a second time for them.
struct OutputPlan {
  // Exactly the bytes convert_image(src, <non-seekable sink>, opts) writes;
  // nullopt when they cannot be known before writing (planned_output_size()).
  std::optional<uint64_t> size;
  // Did the plan read the source's data (the writer's own plan pass: map()
  // plus its zero scan over the data extents)? false: map-free arithmetic.
  bool read_source = false;
  struct Detail;                         // internal (src/convert/pipeline.cpp)
  std::shared_ptr<const Detail> detail;  // the plan pass's result, for convert_image()
};

// Plans convert_image(src, <non-seekable sink>, opts) with the writer's own
// plan pass and layout functions (the code the conversion runs, not a copy):
//  - raw: the virtual size rounded up to a sector; nothing is read.
//  - qcow2 without -c (every compat, cluster_size, refcount_bits,
//    lazy_refcounts, compression_type): its forward layout, from the data
//    clusters found by the plan pass: map() plus the zero scan, which reads
//    every Data extent of the source once (zero clusters the source does not
//    mark are found by reading, as the writer finds them). With
//    preallocation=metadata every cluster is allocated: nothing is read.
//    With -S 0 (no zero detection) every cluster is data: nothing is read.
//  - vmdk monolithicSparse: the tables plus one grain per planned grain; the
//    plan pass reads the Data extents (the zero scan and the CID's digest).
// nullopt:
//  - qcow2 -c and vmdk streamOptimized: every cluster/grain is deflated, so
//    its size depends on its bytes (qcow2 -c cannot go to a non-seekable
//    sink at all);
//  - a source whose virtual size is still pending (raw read once from a
//    stream: its end, so its size and map, are not known yet).
// Throws what convert_image() would throw before writing: Error(Usage) for
// bad options, Error(Unsupported) for an unreadable source or a size the
// layout cannot hold, Error(Interrupted) (it polls opts.cancel).
// opts.progress sees the plan pass as the first half of a two-pass
// conversion.
OutputPlan plan_output(const Image& src, const ConvertOptions& opts);
std::optional<uint64_t> planned_output_size(const Image& src, const ConvertOptions& opts);

// Converts `src` into `sink` and calls sink.finish() on success. (Named
// convert_image because imgtool::convert is the engine's internal namespace.) On error
// (including Error(Interrupted) from a signal) nothing is finished: with an
// atomic file sink, destroying it removes the temporary file.
// The source must be safe to read (see convert_file for the checks).
ConvertStats convert_image(const Image& src, ByteSink& sink, const ConvertOptions& opts);
// The same with a plan from plan_output(src, opts) (the same image and
// options, else Error(Usage)) and a non-seekable sink: the writer lays out
// its tables from the plan instead of reading the source for them, and when
// plan.size is known, writing any other number of bytes is an Error(Io)
// before sink.finish(). (The writers also refuse data the plan did not
// list: a source that changed since the plan is an error, never a
// different file.)
ConvertStats convert_image(const Image& src, ByteSink& sink, const ConvertOptions& opts,
                           const OutputPlan& plan);

// Assesses SRC (format detected, or open.format) with opts.gate and refuses
// what the verdict refuses (unsafe, corrupt, unreadable: Error naming the
// deciding finding and its override), refuses DST == SRC (same inode), then
// converts the assessed image — the files the gate opened, no path reopened —
// into DST, written atomically (temporary file beside it, renamed on success).
ConvertStats convert_file(const std::string& src, const std::string& dst, const ConvertOptions& opts,
                          const OpenOptions& open = {});

}  // namespace imgtool
