// qcow2 measure: qemu 7.2's block/qcow2.c qcow2_measure and
// qcow2_calc_prealloc_size, with the refcount fixed point of
// qcow2_refcount_metadata_size (the writer's refcount_layout) and the bitmap
// size of qcow2_get_persistent_dirty_bitmap_size.
#include "formats/measure.hpp"
#include "formats/qcow2/qcow2_writer.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

constexpr uint64_t kL1EntryBytes = 8;
constexpr uint64_t kL2EntryBytes = 8;
constexpr uint64_t kMaxL1Bytes = 32u << 20;    // QCOW_MAX_L1_SIZE
constexpr uint64_t kBitmapDirEntryBytes = 24;  // Qcow2BitmapDirEntry without name

uint64_t prealloc_size(uint64_t total, uint64_t cs, uint32_t refcount_order, uint64_t l2e) {
  const uint64_t aligned = io::align_up(total, cs);
  uint64_t meta = cs;  // header
  const uint64_t nl2e = io::align_up(aligned / cs, cs / l2e);
  meta += nl2e * l2e;
  const uint64_t nl1e = io::align_up(nl2e * l2e / cs, cs / kL1EntryBytes);
  meta += nl1e * kL1EntryBytes;
  const qcow2::RefcountLayout r = qcow2::refcount_layout((meta + aligned) / cs, cs, refcount_order);
  meta += (r.table_clusters + r.block_clusters) * cs;
  return meta + aligned;
}

}  // namespace

Measurement measure_qcow2(const MeasureSource* src, uint64_t size, const CreateOptions& o) {
  // What measure takes beyond the writer's own options (qemu's create
  // options the writer does not implement): preallocation=falloc|full and
  // backing_file (all data counts), backing_fmt, extended_l2 (16-byte L2
  // entries, clusters of 16k and more). The writer parses the rest.
  convert::TargetOptions t;
  t.options = o;
  bool full = false, backing = false, extended_l2 = false;
  if (auto it = t.options.find("preallocation");
      it != t.options.end() && (it->second == "falloc" || it->second == "full")) {
    full = true;
    t.options.erase(it);
  }
  if (auto it = t.options.find("backing_file"); it != t.options.end()) {
    backing = !it->second.empty();
    t.options.erase(it);
  }
  t.options.erase("backing_fmt");
  if (auto it = t.options.find("extended_l2"); it != t.options.end()) {
    if (it->second == "on" || it->second == "true" || it->second == "yes")
      extended_l2 = true;
    else if (it->second != "off" && it->second != "false" && it->second != "no")
      throw Error(ErrorKind::Usage, "", "qcow2 option extended_l2='" + it->second + "': expected on or off");
    t.options.erase(it);
  }
  const qcow2::WriterOptions w = qcow2::parse_writer_options(t, "");
  const uint64_t cs = w.cluster_size();
  const uint64_t l2e = extended_l2 ? 2 * kL2EntryBytes : kL2EntryBytes;
  if (extended_l2 && cs < (16u << 10))
    throw Error(ErrorKind::Usage, "",
                "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
  uint64_t virtual_size = io::align_up(src ? src->virtual_size : size, cs);
  const uint64_t l2_tables = io::div_round_up(virtual_size / cs, cs / l2e);
  if (l2_tables * kL1EntryBytes > kMaxL1Bytes)
    throw Error(ErrorKind::Usage, "", "The image size is too large (try using a larger cluster size)");
  // With a backing file nobody knows what the target shares with it: all of
  // the source counts (qemu's "be conservative").
  uint64_t required = !src ? 0 : backing ? virtual_size : count_data_clusters(*src, cs) * cs;
  if (full) required = virtual_size;
  Measurement m;
  m.fully_allocated = prealloc_size(virtual_size, cs, w.refcount_order, l2e);
  m.required = m.fully_allocated - virtual_size + required;
  if (w.version >= 3 && src && src->persistent_bitmaps) {
    uint64_t bitmaps = 0, dir = 0;
    for (const auto& [name, granularity] : src->bitmaps) {
      if (granularity == 0) continue;
      const uint64_t bytes = io::div_round_up(io::div_round_up(src->virtual_size, granularity), 8);
      const uint64_t clusters = io::div_round_up(bytes, cs);
      bitmaps += clusters * cs + io::align_up(clusters * 8, cs);  // data + bitmap table
      dir += io::align_up(kBitmapDirEntryBytes + name.size(), 8);
    }
    m.bitmaps = bitmaps + io::align_up(dir, cs);
  }
  return m;
}

}  // namespace imgtool::formats
