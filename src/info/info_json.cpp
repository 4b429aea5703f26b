// `qemu-img info --output=json` (qemu-img.c dump_json_image_info): the QAPI
// ImageInfo struct visited into a QDict and printed with
// qobject_to_json_pretty. Members are inserted in QAPI declaration order
// (qapi/block-core.json ImageInfo, SnapshotInfo), optional ones only when
// qemu 7.2's bdrv_query_image_info sets them; the QDict then prints them in
// hash-bucket order (info/qobject.cpp).
#include "imgtool/cancel.hpp"
#include "imgtool/info.hpp"
#include "info/qobject.hpp"

namespace imgtool {
namespace info {

InfoNode snapshot_node(const SnapshotInfo& s) {
  InfoNode n = InfoNode::dict();
  n.set("id", InfoNode::string(s.id));
  n.set("name", InfoNode::string(s.name));
  n.set("vm-state-size", InfoNode::integer(static_cast<int64_t>(s.vm_state_size)));
  n.set("date-sec", InfoNode::integer(s.date_sec));
  n.set("date-nsec", InfoNode::integer(s.date_nsec));
  // block/qcow2-snapshot.c qcow2_snapshot_list splits vm_clock_nsec.
  n.set("vm-clock-sec", InfoNode::integer(static_cast<int64_t>(s.vm_clock_nsec / 1000000000u)));
  n.set("vm-clock-nsec", InfoNode::integer(static_cast<int64_t>(s.vm_clock_nsec % 1000000000u)));
  if (s.icount) n.set("icount", InfoNode::integer(static_cast<int64_t>(*s.icount)));
  return n;
}

InfoNode image_info_node(const ImageInfo& info) {
  InfoNode n = InfoNode::dict();
  n.set("filename", InfoNode::string(info.filename));
  n.set("format", InfoNode::string(std::string(format_name(info.format))));
  // bdrv_get_info() succeeds for every format qemu-img opens here (raw
  // included), so dirty-flag is always present in 7.2's output.
  n.set("dirty-flag", InfoNode::boolean(info.dirty));
  if (info.actual_size) n.set("actual-size", InfoNode::integer(static_cast<int64_t>(*info.actual_size)));
  n.set("virtual-size", InfoNode::integer(static_cast<int64_t>(info.virtual_size)));
  if (info.cluster_size && *info.cluster_size != 0)
    n.set("cluster-size", InfoNode::integer(static_cast<int64_t>(*info.cluster_size)));
  if (info.encrypted) n.set("encrypted", InfoNode::boolean(true));
  if (info.backing_filename && !info.backing_filename->empty()) {
    n.set("backing-filename", InfoNode::string(*info.backing_filename));
    if (info.full_backing_filename)
      n.set("full-backing-filename", InfoNode::string(*info.full_backing_filename));
    if (info.backing_filename_format && !info.backing_filename_format->empty())
      n.set("backing-filename-format", InfoNode::string(*info.backing_filename_format));
  }
  if (!info.snapshots.empty()) {
    InfoNode list = InfoNode::list();
    // The count comes from the image (qcow2 allows 65536): poll now and then.
    for (size_t i = 0; i < info.snapshots.size(); ++i) {
      if (i % 1024 == 1023) throw_if_interrupted();
      list.push(snapshot_node(info.snapshots[i]));
    }
    n.set("snapshots", std::move(list));
  }
  if (!info.format_specific_type.empty()) {
    InfoNode fs = InfoNode::dict();
    fs.set("type", InfoNode::string(info.format_specific_type));
    fs.set("data", info.format_specific_data);
    n.set("format-specific", std::move(fs));
  }
  return n;
}

}  // namespace info

std::string render_info_json(const ImageInfo& info) {
  std::string out;
  info::append_json(out, info::image_info_node(info));
  out += '\n';
  return out;
}

std::string render_info_json_with_extra(const ImageInfo& info) {
  InfoNode n = info::image_info_node(info);
  n.set("imgtool", info_extra_node(info));
  std::string out;
  info::append_json(out, n);
  out += '\n';
  return out;
}

InfoNode info_extra_node(const ImageInfo& info) {
  InfoNode n = InfoNode::dict();
  n.set("glance-disk-format", InfoNode::string(std::string(glance_disk_format(info.format))));
  n.set("detection-only", InfoNode::boolean(info.detection_only));
  InfoNode files = InfoNode::list();
  for (const auto& f : info.named_files) {
    InfoNode e = InfoNode::dict();
    e.set("role", InfoNode::string(std::string(to_string(f.role))));
    e.set("name", InfoNode::string(f.name));
    files.push(std::move(e));
  }
  n.set("named-files", std::move(files));
  for (const auto& [k, v] : info.extra.entries()) n.set(k, v);
  return n;
}

}  // namespace imgtool
