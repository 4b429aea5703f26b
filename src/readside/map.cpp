// `qemu-img map` (qemu-img.c img_map, get_block_status, entry_mergeable and
// dump_map_entry in 7.2): block statuses walked from --start-offset, merged
// while flags, depth and file agree and host offsets continue, written as
// qemu-img writes them.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "imgtool/cancel.hpp"
#include "imgtool/readside.hpp"

namespace imgtool {
namespace {

bool mergeable(const MapEntry& curr, const MapEntry& next) {
  if (curr.length == 0) return false;
  if (curr.zero != next.zero || curr.data != next.data || curr.depth != next.depth ||
      curr.present != next.present || curr.offset.has_value() != next.offset.has_value() ||
      curr.file != next.file)
    return false;
  return !curr.offset || *curr.offset + curr.length == *next.offset;
}

// The walk. `human`: qemu-img's human mode, which after printing an entry
// turns a following entry that is not plain data into "zero" ("This format
// ignores the distinction between 0, ZERO and ZERO|DATA"), so that more of
// them merge; `fn` gets every entry qemu-img passes to dump_map_entry.
void walk(const Image& img, const MapOptions& opts, bool human,
          const std::function<void(const MapEntry&)>& fn) {
  uint64_t length = img.info().virtual_size;
  if (opts.max_length && opts.start_offset <= UINT64_MAX - *opts.max_length)
    length = std::min(length, opts.start_offset + *opts.max_length);
  MapEntry curr;
  curr.start = opts.start_offset;
  for (uint64_t steps = 0; curr.start + curr.length < length; ++steps) {
    if (steps % 4096 == 4095) throw_if_interrupted();
    const uint64_t offset = curr.start + curr.length;
    const BlockStatus s = img.block_status(offset, length - offset);
    MapEntry next;
    next.start = offset;
    next.length = s.length;
    next.depth = s.depth;
    next.present = s.allocated;
    next.zero = s.zero;
    next.data = s.data;
    next.offset = s.host_offset;
    if (s.host_offset) next.file = s.file;
    if (mergeable(curr, next)) {
      curr.length += next.length;
      continue;
    }
    if (curr.length > 0) {
      fn(curr);
      if (human && (!next.data || next.zero)) {
        next.data = false;
        next.zero = true;
      }
    }
    curr = std::move(next);
  }
  fn(curr);
}

std::string human_line(const MapEntry& e) {
  // printf("%#-16"PRIx64 x3 "%s\n"): "0x"-prefixed except for 0.
  char buf[80];
  std::snprintf(buf, sizeof buf, "%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64, e.start, e.length,
                e.offset.value_or(0));
  return buf + e.file + "\n";
}

std::string json_entry(const MapEntry& e) {
  std::string s = "{ \"start\": " + std::to_string(e.start) + ", \"length\": " + std::to_string(e.length) +
                  ", \"depth\": " + std::to_string(e.depth) +
                  ", \"present\": " + (e.present ? "true" : "false") +
                  ", \"zero\": " + (e.zero ? "true" : "false") + ", \"data\": " + (e.data ? "true" : "false");
  if (e.offset) s += ", \"offset\": " + std::to_string(*e.offset);
  return s + "}";
}

}  // namespace

void walk_map(const Image& img, const MapOptions& opts, const std::function<void(const MapEntry&)>& fn) {
  walk(img, opts, false, fn);
}

void write_map(const Image& img, const MapOptions& opts, std::ostream& out) {
  if (!opts.json) {
    out << "Offset          Length          Mapped to       File\n";
    walk(img, opts, true, [&](const MapEntry& e) {
      if (e.data && !e.offset) {
        out.flush();
        throw Error(ErrorKind::Unsupported, img.info().filename,
                    "File contains external, encrypted or compressed clusters.");
      }
      if (e.data && !e.zero) out << human_line(e);
    });
    return;
  }
  out << '[';
  bool first = true;
  walk(img, opts, false, [&](const MapEntry& e) {
    if (!first) out << ",\n";
    first = false;
    out << json_entry(e);
  });
  out << "]\n";
}

}  // namespace imgtool
