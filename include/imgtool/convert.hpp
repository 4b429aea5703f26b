#pragma once
// The convert engine: any readable Image -> raw | qcow2 | vmdk, streamed
// extent by extent into a ByteSink (a file through create_atomic_file, a hash
// tee, an HTTP upload body). Memory stays bounded whatever the image size;
// compression runs on all cores with the output order preserved.
// docs/convert.md describes the layouts and which targets need a seekable sink.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgtool/image.hpp"
#include "imgtool/sink.hpp"

namespace imgtool {

struct ConvertOptions {
  std::string target_format;                   // raw | qcow2 | vmdk (-O)
  std::map<std::string, std::string> options;  // -o key=value (names as in qemu-img)
  bool compress = false;                       // -c
  // -S: a run of zeros this long (aligned) is not written as data. 0 = no zero
  // detection: the target is fully allocated (qemu-img -S 0).
  uint64_t zero_granularity = 4096;
  unsigned threads = 0;        // -m: worker threads; 0 = number of cores
  bool allow_backing = false;  // convert_file: flatten backing chains instead of refusing
  // Called from the converting thread: bytes of guest data handled so far out
  // of `total` (a two-pass conversion counts both passes).
  std::function<void(uint64_t done, uint64_t total)> progress;
  // convert_file only: also compute Glance's checksum (md5) and os_hash_value
  // (sha512) of the written file, while writing.
  bool checksum = false;
  // convert_file only: fsync DST before renaming it into place (default, like
  // qemu-img -t writeback). false = qemu-img's default "-t unsafe": no flush.
  bool fsync = true;
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
};

// Parses and validates everything about the target that does not need the
// source (format name, -o keys and values, -c support). Throws Error(Usage)
// naming the valid keys/values. Called by convert_image(); exposed for CLIs that
// want to fail before opening anything.
void validate_convert_options(const ConvertOptions& opts);

// qemu's size syntax: digits with an optional b, k, M or G suffix (powers of
// 1024, either case), as -S and the size-valued -o options take it. nullopt
// for anything else, or above 2^63.
std::optional<uint64_t> parse_qemu_size(std::string_view s);

// The valid -o keys of a target format.
std::vector<std::string> convert_option_keys(const std::string& target_format);

// Converts `src` into `sink` and calls sink.finish() on success. (Named
// convert_image because imgtool::convert is the engine's internal namespace.) On error
// (including Error(Interrupted) from a signal) nothing is finished: with an
// atomic file sink, destroying it removes the temporary file.
// The source must be safe to read (see convert_file for the checks).
ConvertStats convert_image(const Image& src, ByteSink& sink, const ConvertOptions& opts);

// Opens SRC (format detected, or open.format), refuses unsafe sources
// (backing/data files unless opts.allow_backing, extents outside the
// descriptor's directory, corrupt metadata), refuses DST == SRC (same inode),
// writes DST atomically (temporary file beside it, renamed on success).
ConvertStats convert_file(const std::string& src, const std::string& dst, const ConvertOptions& opts,
                          const OpenOptions& open = {});

// Opens SRC for conversion: the safety checks of convert_file plus backing
// chain flattening (opts.allow_backing). The returned image is what
// convert_file converts.
std::unique_ptr<Image> open_for_convert(const std::string& src, const OpenOptions& open, bool allow_backing);

}  // namespace imgtool
