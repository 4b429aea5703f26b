// What an image read out of a compressed or packaged source was wrapped in,
// printed after the qemu-img identical part of `info` (qemu-img has no such
// line: it cannot read those sources at all).
#include "imgtool/error.hpp"
#include "imgtool/info.hpp"
#include "imgtool/sources.hpp"
#include "info/qobject.hpp"

namespace imgtool {

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
  // qemu-img prints a QDict, whose keys come out in its hash order, not in
  // insertion order: the keys beyond qemu's are appended to the rendered
  // object, so that everything before them stays byte-identical.
  std::string out = extra ? render_info_json_with_extra(info) : render_info_json(info);
  if (more.empty()) return out;
  const size_t close = out.rfind('}');
  std::string tail;
  for (const auto& [k, v] : more) {
    tail += ",\n    ";
    info::append_json_string(tail, k);
    tail += ": ";
    info::append_json(tail, v, 1);
  }
  out.insert(close == 0 ? 0 : close - 1, tail);
  return out;
}

}  // namespace imgtool
