// `measure`: the source side (its virtual size, its data runs from
// Image::block_status(), a qcow2 source's bitmaps) handed to the target
// format's measure function (src/formats/<format>/<format>_measure.cpp);
// raw is here, it is qemu's raw_measure: the virtual size, sector aligned.
#include "formats/measure.hpp"

#include <algorithm>

#include "imgtool/cancel.hpp"
#include "imgtool/readside.hpp"
#include "io/bytes.hpp"

namespace imgtool {
namespace formats {

uint64_t count_data_clusters(const MeasureSource& src, uint64_t cluster,
                             const std::function<void(uint64_t)>& on_cluster) {
  uint64_t count = 0, next = 0;  // clusters below `next` are counted
  src.for_each_data([&](uint64_t off, uint64_t len) {
    const uint64_t first = std::max(off / cluster, next), end = io::div_round_up(off + len, cluster);
    for (uint64_t c = first; c < end && on_cluster; ++c) on_cluster(c);
    if (end > first) count += end - first;
    next = std::max(next, end);
  });
  return count;
}

Measurement measure_raw(const MeasureSource* src, uint64_t size, const CreateOptions& o) {
  // qemu-img adds the file protocol's options; only preallocation means
  // anything for a raw file, and not for its size.
  for (const auto& [key, value] : o)
    if (key != "preallocation" || (value != "off" && value != "falloc" && value != "full"))
      throw Error(ErrorKind::Usage, "",
                  "raw option '" + key + "=" + value + "' is unknown (valid: preallocation=off|falloc|full)");
  Measurement m;
  m.required = m.fully_allocated = src ? src->virtual_size : io::align_up(size, 512);
  return m;
}

}  // namespace formats

Measurement measure_image(const Image* src, const MeasureOptions& opts) {
  if (src && opts.size)
    throw Error(ErrorKind::Usage, "", "--size N cannot be used together with a filename.");
  if (!src && !opts.size)
    throw Error(ErrorKind::Usage, "", "Either --size N or one filename must be specified.");
  formats::MeasureSource s;
  if (src) {
    const ImageInfo& info = src->info();
    s.virtual_size = info.virtual_size;
    s.for_each_data = [src](const std::function<void(uint64_t, uint64_t)>& fn) {
      const uint64_t end = src->info().virtual_size;
      for (uint64_t off = 0, steps = 0; off < end; ++steps) {
        if (steps % 4096 == 4095) throw_if_interrupted();
        const BlockStatus b = src->block_status(off, end - off);
        if (!b.zero && b.data && b.allocated) fn(off, b.length);
        off += b.length;
      }
    };
    // qemu qcow2_supports_persistent_dirty_bitmap: a qcow2 v3 source.
    const InfoNode* compat = info.format_specific_data.find("compat");
    s.persistent_bitmaps = info.format == Format::Qcow2 && compat && compat->as_string() == "1.1";
    if (const InfoNode* list = info.format_specific_data.find("bitmaps"))
      for (const InfoNode& b : list->items()) {
        const InfoNode* name = b.find("name");
        const InfoNode* gran = b.find("granularity");
        if (name && gran) s.bitmaps.emplace_back(name->as_string(), static_cast<uint64_t>(gran->as_int()));
      }
  }
  const uint64_t size = opts.size.value_or(0);
  switch (opts.target) {
    case Format::Raw: return formats::measure_raw(src ? &s : nullptr, size, opts.options);
    case Format::Qcow2: return formats::measure_qcow2(src ? &s : nullptr, size, opts.options);
    case Format::Vmdk: return formats::measure_vmdk(src ? &s : nullptr, size, opts.options);
    default:
      throw Error(ErrorKind::Usage, "",
                  "cannot measure for -O " + std::string(format_name(opts.target)) + " (raw, qcow2 or vmdk)");
  }
}

std::string render_measure_human(const Measurement& m) {
  std::string s = "required size: " + std::to_string(m.required) +
                  "\nfully allocated size: " + std::to_string(m.fully_allocated) + "\n";
  if (m.bitmaps) s += "bitmaps size: " + std::to_string(*m.bitmaps) + "\n";
  return s;
}

std::string render_measure_json(const Measurement& m) {
  // qobject_to_json_pretty over the QDict: its hash order puts "bitmaps" first.
  std::string s = "{\n";
  if (m.bitmaps) s += "    \"bitmaps\": " + std::to_string(*m.bitmaps) + ",\n";
  s += "    \"required\": " + std::to_string(m.required) +
       ",\n    \"fully-allocated\": " + std::to_string(m.fully_allocated) + "\n}\n";
  return s;
}

}  // namespace imgtool
