// ImageInfo for qcow2, matching qemu 7.2 `qemu-img info` (block/qcow2.c
// qcow2_get_specific_info, block/qapi.c bdrv_query_image_info). Keys of the
// format-specific dict are inserted in QAPI declaration order of
// ImageInfoSpecificQCow2 (qapi/block-core.json); the renderer reorders them.
#include "formats/qcow2/qcow2_reader.hpp"

namespace imgtool::qcow2 {
namespace {

// qemu path_combine(): a relative name is taken relative to the directory
// part of the image name as given ("q2w/t.qcow2" + "../b" -> "q2w/../b").
// Pure string work: nothing is opened or stat'ed.
std::string full_backing_name(const std::string& image, const std::string& backing) {
  if (!backing.empty() && backing[0] == '/') return backing;
  // "proto:..." names (nbd:, json:, ...) are not file paths (qemu path_has_protocol).
  const size_t colon = backing.find(':');
  if (colon != std::string::npos && backing.find('/') > colon) return backing;
  const size_t slash = image.rfind('/');
  if (slash == std::string::npos) return backing;
  return image.substr(0, slash + 1) + backing;
}

InfoNode specific_data(const Header& h, const std::vector<BitmapEntry>& bitmaps) {
  InfoNode d = InfoNode::dict();
  if (h.version == 2) {
    d.set("compat", InfoNode::string("0.10"));
  } else {
    d.set("compat", InfoNode::string("1.1"));
    if (h.has_data_file()) {
      // qemu: data-file only when the extension names one; data-file-raw whenever bit 2 is set.
      if (h.data_file) d.set("data-file", InfoNode::string(*h.data_file));
      d.set("data-file-raw", InfoNode::boolean((h.autoclear & kAutoclearDataFileRaw) != 0));
    }
    d.set("extended-l2", InfoNode::boolean(h.extended_l2));
    d.set("lazy-refcounts", InfoNode::boolean((h.compatible & kCompatLazyRefcounts) != 0));
    d.set("corrupt", InfoNode::boolean((h.incompatible & kIncompatCorrupt) != 0));
  }
  d.set("refcount-bits", InfoNode::integer(static_cast<int64_t>(h.refcount_bits())));
  if (h.crypt_method != 0) {
    // qemu prints the LUKS header details too; imgtool reports the format only.
    InfoNode enc = InfoNode::dict();
    enc.set("format", InfoNode::string(h.crypt_method == 1 ? "aes" : "luks"));
    d.set("encrypt", std::move(enc));
  }
  if (h.version == 3 && !bitmaps.empty()) {
    InfoNode list = InfoNode::list();
    for (const auto& b : bitmaps) {
      InfoNode bm = InfoNode::dict();
      bm.set("name", InfoNode::string(b.name));
      bm.set("granularity", InfoNode::integer(int64_t(1) << b.granularity_bits));
      InfoNode flags = InfoNode::list();
      if (b.flags & 1) flags.push(InfoNode::string("in-use"));
      if (b.flags & 2) flags.push(InfoNode::string("auto"));
      bm.set("flags", std::move(flags));
      list.push(std::move(bm));
    }
    d.set("bitmaps", std::move(list));
  }
  d.set("compression-type", InfoNode::string(h.compression_type == 1 ? "zstd" : "zlib"));
  return d;
}

}  // namespace

ImageInfo build_info(const ByteSource& src, const Header& h, const std::vector<Snapshot>& snapshots,
                     const std::vector<BitmapEntry>& bitmaps) {
  ImageInfo i;
  i.filename = src.name();
  i.format = Format::Qcow2;
  i.virtual_size = h.size;
  // qemu's "disk size" for qcow2 also adds the external data file's
  // allocation; imgtool never opens that file for info, so it reports the
  // image file alone.
  i.actual_size = src.allocated_size();
  i.cluster_size = h.cluster_size;
  i.encrypted = h.crypt_method != 0;
  i.dirty = (h.incompatible & kIncompatDirty) != 0;
  if (h.backing_file) {
    i.backing_filename = *h.backing_file;
    i.full_backing_filename = full_backing_name(src.name(), *h.backing_file);
    i.named_files.push_back({FileRole::BackingFile, *h.backing_file});
  }
  if (h.backing_format) i.backing_filename_format = *h.backing_format;
  // An external data file without its name extension: qemu then takes the
  // name from the command line; imgtool reports it unnamed (never opened).
  if (h.has_data_file()) i.named_files.push_back({FileRole::DataFile, h.data_file.value_or("")});
  for (const auto& s : snapshots) i.snapshots.push_back(s.info);
  i.format_specific_type = "qcow2";
  i.format_specific_data = specific_data(h, bitmaps);
  return i;
}

}  // namespace imgtool::qcow2
