#include "imgtool/info_tree.hpp"

namespace imgtool {

InfoNode InfoNode::boolean(bool v) {
  InfoNode n;
  n.type_ = Type::Bool;
  n.bool_ = v;
  return n;
}
InfoNode InfoNode::integer(int64_t v) {
  InfoNode n;
  n.type_ = Type::Int;
  n.int_ = v;
  return n;
}
InfoNode InfoNode::string(std::string v) {
  InfoNode n;
  n.type_ = Type::String;
  n.str_ = std::move(v);
  return n;
}
InfoNode InfoNode::list() {
  InfoNode n;
  n.type_ = Type::List;
  return n;
}
InfoNode InfoNode::dict() {
  return InfoNode();
}

InfoNode& InfoNode::set(std::string key, InfoNode value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
  return entries_.back().second;
}

InfoNode& InfoNode::push(InfoNode value) {
  items_.push_back(std::move(value));
  return items_.back();
}

const InfoNode* InfoNode::find(const std::string& key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace imgtool
