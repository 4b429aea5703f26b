#pragma once
// Renderers for `imgtool info` and `imgtool check`. The default renderings are
// byte-for-byte those of qemu-img 7.2 (`qemu-img info`, `qemu-img check`,
// human and --output=json); imgtool-only facts are opt-in and always come
// after the qemu-identical part.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "imgtool/image.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool {

// qemu util/cutils.c size_to_str: "39.2 MiB", "1e+03 KiB", "0 B".
std::string size_to_str(uint64_t bytes);

// `qemu-img info FILE` (block/qapi.c bdrv_image_info_dump), ending in '\n'.
std::string render_info_human(const ImageInfo& info);
// `qemu-img info --output=json FILE` (qobject_to_json_pretty + '\n').
std::string render_info_json(const ImageInfo& info);

// imgtool-only facts (Glance disk_format, partition table, referenced files,
// detection-only note). Human: a block starting with "imgtool:" meant to be
// appended after render_info_human(). JSON: the same facts as an InfoNode
// dict, for callers that merge it into their own object.
std::string render_info_extra_human(const ImageInfo& info);
InfoNode info_extra_node(const ImageInfo& info);
// render_info_json() with one more top-level key, "imgtool", holding
// info_extra_node() (no longer byte-identical to qemu-img, by request).
std::string render_info_json_with_extra(const ImageInfo& info);

// An image read out of a compressed or packaged source (imgtool/sources.hpp):
// qemu-img prints the inner image; imgtool adds what it was wrapped in. Human:
// one line, "source layers: xz, ova (disk1.vmdk)", to append after the
// qemu-identical output. JSON: a list for the top-level key "source-layers",
// after qemu-img's keys ({"type": "xz"}, {"type": "ova", "member": ...}).
struct SourceLayer;
std::string render_source_layers_human(const std::vector<SourceLayer>& layers);
InfoNode source_layers_node(const std::vector<SourceLayer>& layers);
// render_info_json() (or _with_extra) with more top-level keys after qemu-img's.
std::string render_info_json_with(const ImageInfo& info, bool extra,
                                  const std::vector<std::pair<std::string, InfoNode>>& more);

// The summary qemu-img check prints on stdout ("No errors were found on the
// image." only for a clean verdict, qemu's error/leak lines otherwise, its
// statistics), then one "FILE: unsafe|unreadable|note: MESSAGE" line per
// finding qemu has no words for. Empty for an image that could not be read.
std::string render_check_human(const Assessment& a);
// qemu-img check --output=json keys (present under qemu's rules) plus
// "unsafe", "findings" (severity, kind, message, file, override) and "verdict".
std::string render_check_json(const Assessment& a);

}  // namespace imgtool
