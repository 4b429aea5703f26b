// What an image read out of a compressed or packaged source was wrapped in,
// printed after the qemu-img identical part of `info` (qemu-img has no such
// line: it cannot read those sources at all).
#include "imgtool/error.hpp"
#include "imgtool/info.hpp"
#include "imgtool/sources.hpp"
#include "info/qobject.hpp"

namespace imgtool {

namespace info {
InfoNode image_info_node(const ImageInfo& info);
}

std::string render_source_layers_human(const std::vector<SourceLayer>& layers) {
  if (layers.empty()) return {};
  std::string out = "source layers: ";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i) out += ", ";
    out += layers[i].kind;
    if (!layers[i].member.empty()) out += " (" + escape_name(layers[i].member) + ")";
  }
  return out + "\n";
}

InfoNode source_layers_node(const std::vector<SourceLayer>& layers) {
  InfoNode list = InfoNode::list();
  for (const SourceLayer& l : layers) {
    InfoNode e = InfoNode::dict();
    e.set("type", InfoNode::string(l.kind));
    if (!l.member.empty()) e.set("member", InfoNode::string(l.member));
    if (l.declared_capacity)
      e.set("declared-capacity", InfoNode::integer(static_cast<int64_t>(*l.declared_capacity)));
    if (!l.declared_format.empty()) e.set("declared-format", InfoNode::string(l.declared_format));
    list.push(std::move(e));
  }
  return list;
}

std::string render_info_json_with(const ImageInfo& info, bool extra,
                                  const std::vector<std::pair<std::string, InfoNode>>& more) {
  InfoNode n = info::image_info_node(info);
  if (extra) n.set("imgtool", info_extra_node(info));
  for (const auto& [k, v] : more) n.set(k, v);
  std::string out;
  info::append_json(out, n);
  out += '\n';
  return out;
}

}  // namespace imgtool
