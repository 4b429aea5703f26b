// vmdk measure, which qemu-img cannot do: imgtool's own writer's file size,
// from the layout functions the writers use (vmdk_sparse_writer.cpp,
// vmdk_stream_writer.cpp), so the answer cannot drift from what convert
// writes. The data grains are the ones the source's data runs touch.
#include "formats/measure.hpp"
#include "formats/vmdk/vmdk_writer.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {

Measurement measure_vmdk(const MeasureSource* src, uint64_t size, const CreateOptions& o) {
  convert::TargetOptions t;
  t.options = o;
  const vmdk::WriterOptions w = vmdk::parse_writer_options(t, "");
  const uint64_t vsize = src ? src->virtual_size : size;
  uint64_t grains = 0, tables = 0;
  if (src) {
    uint64_t last_table = UINT64_MAX;
    grains = count_data_clusters(*src, vmdk::kGrainBytes, [&](uint64_t g) {
      if (g / vmdk::kGtesPerGt != last_table) {
        last_table = g / vmdk::kGtesPerGt;
        ++tables;
      }
    });
  }
  Measurement m;
  if (w.subformat == vmdk::Subformat::MonolithicSparse) {
    const vmdk::SparseLayout L = vmdk::sparse_layout(vsize, "");
    m.required = vmdk::sparse_file_bytes(L, grains);
    m.fully_allocated = vmdk::sparse_file_bytes(L, L.grains);
  } else {
    const uint64_t all = io::div_round_up(io::div_round_up(vsize, vmdk::kSector), vmdk::kGrainSectors);
    m.required = vmdk::stream_file_bytes_max(vsize, grains, tables, "");
    m.fully_allocated = vmdk::stream_file_bytes_max(vsize, all, io::div_round_up(all, vmdk::kGtesPerGt), "");
  }
  return m;
}

}  // namespace imgtool::formats
