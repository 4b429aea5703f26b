#pragma once
// `measure` on the target side: each writable format answers how many bytes
// its file needs (src/formats/<format>/<format>_measure.cpp), given what
// the source is, as qemu's BlockDriver.bdrv_measure.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "imgtool/readside.hpp"

namespace imgtool::formats {

struct MeasureSource {
  uint64_t virtual_size = 0;
  // Calls fn(offset, length) for each run of data (qemu: DATA|ALLOCATED and
  // not ZERO), in guest order.
  std::function<void(const std::function<void(uint64_t, uint64_t)>&)> for_each_data;
  // qcow2 compat 1.1 source: it can carry persistent bitmaps (qemu
  // bdrv_supports_persistent_dirty_bitmap); its bitmaps (name, granularity).
  bool persistent_bitmaps = false;
  std::vector<std::pair<std::string, uint64_t>> bitmaps;
};

using CreateOptions = std::map<std::string, std::string>;

// `src` null: an empty image of `size` bytes.
Measurement measure_raw(const MeasureSource* src, uint64_t size, const CreateOptions& o);
Measurement measure_qcow2(const MeasureSource* src, uint64_t size, const CreateOptions& o);
Measurement measure_vmdk(const MeasureSource* src, uint64_t size, const CreateOptions& o);

// Counts the `cluster`-sized units that data runs touch, and calls
// `on_cluster` for each once, in order (qemu qcow2_measure's loop).
uint64_t count_data_clusters(const MeasureSource& src, uint64_t cluster,
                             const std::function<void(uint64_t index)>& on_cluster = {});

}  // namespace imgtool::formats
