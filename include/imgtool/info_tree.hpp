#pragma once
// A small ordered tree of values, the counterpart of QEMU's QObject, used for
// "Format specific information". Drivers add keys in QAPI declaration order;
// the info renderer reorders dict keys the way qemu-img 7.2 prints them
// (QDict hash-bucket order), so drivers never need to know that rule.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace imgtool {

class InfoNode {
 public:
  enum class Type { Bool, Int, String, List, Dict };

  InfoNode() : type_(Type::Dict) {}
  static InfoNode boolean(bool v);
  static InfoNode integer(int64_t v);
  static InfoNode string(std::string v);
  static InfoNode list();
  static InfoNode dict();

  Type type() const noexcept { return type_; }
  bool as_bool() const noexcept { return bool_; }
  int64_t as_int() const noexcept { return int_; }
  const std::string& as_string() const noexcept { return str_; }
  const std::vector<InfoNode>& items() const noexcept { return items_; }
  const std::vector<std::pair<std::string, InfoNode>>& entries() const noexcept { return entries_; }

  // Dict: appends key (keys are unique; a repeated key replaces the value).
  InfoNode& set(std::string key, InfoNode value);
  // List: appends an item.
  InfoNode& push(InfoNode value);
  // Dict lookup; nullptr when absent.
  const InfoNode* find(const std::string& key) const;

 private:
  Type type_;
  bool bool_ = false;
  int64_t int_ = 0;
  std::string str_;
  std::vector<InfoNode> items_;
  std::vector<std::pair<std::string, InfoNode>> entries_;
};

}  // namespace imgtool
