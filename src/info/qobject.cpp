// QEMU 7.2 QObject printing rules, reimplemented from their specification:
//  - qobject/qdict.c: a QDict is 512 hash buckets (tdb_hash(key) % 512), each a
//    list with new keys inserted at the head; iteration walks buckets upwards.
//    That, not QAPI declaration order, is the key order qemu-img prints.
//  - qobject/qjson.c to_json(): pretty printing with 4-space indentation,
//    "key": value, "," + newline between members, empty containers as
//    "{\n<indent>}" / "[\n<indent>]".
//  - util/unicode.c mod_utf8_codepoint(): how strings are decoded for JSON.
//  - block/qapi.c dump_qobject/dump_qdict/dump_qlist: the human dump.
#include "info/qobject.hpp"

#include <algorithm>
#include <cstdio>

namespace imgtool::info {

uint32_t tdb_hash(std::string_view key) noexcept {
  // value = 0x238F13AF * strlen(name); value += name[i] << (i*5 % 24);
  // return 1103515243 * value + 12345 (all unsigned 32-bit arithmetic).
  uint32_t value = 0x238F13AFu * static_cast<uint32_t>(key.size());
  for (size_t i = 0; i < key.size(); ++i)
    value += static_cast<uint32_t>(static_cast<unsigned char>(key[i])) << (i * 5 % 24);
  return 1103515243u * value + 12345u;
}

std::vector<size_t> qdict_order(const std::vector<std::string>& keys) {
  std::vector<size_t> idx(keys.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    uint32_t ba = tdb_hash(keys[a]) % kQDictBuckets, bb = tdb_hash(keys[b]) % kQDictBuckets;
    if (ba != bb) return ba < bb;
    return a > b;  // same bucket: the later insertion is at the list head
  });
  return idx;
}

std::vector<const std::pair<std::string, InfoNode>*> qdict_entries(const InfoNode& dict) {
  const auto& e = dict.entries();
  std::vector<std::string> keys;
  keys.reserve(e.size());
  for (const auto& kv : e) keys.push_back(std::string(c_str_view(kv.first)));
  std::vector<const std::pair<std::string, InfoNode>*> out;
  out.reserve(e.size());
  for (size_t i : qdict_order(keys)) out.push_back(&e[i]);
  return out;
}

namespace {

// util/unicode.c mod_utf8_codepoint(s, 6, &end): returns the code point or -1
// and advances `pos` past what was consumed.
int mod_utf8_codepoint(std::string_view s, size_t& pos) {
  static constexpr int kMinCp[5] = {0x80, 0x800, 0x10000, 0x200000, 0x4000000};
  const size_t n = std::min<size_t>(6, s.size() - pos);
  size_t p = pos;
  unsigned byte = static_cast<unsigned char>(s[p++]);
  int cp;
  if (byte < 0x80) {
    cp = static_cast<int>(byte);
  } else if (byte >= 0xFE || (byte & 0x40) == 0) {
    cp = -1;  // impossible byte, or an unexpected continuation byte
  } else {
    unsigned len = 0, mask = 0x80;
    for (; byte & mask; mask >>= 1) ++len;  // 2..6
    cp = static_cast<int>(byte & (mask - 1));
    bool ok = true;
    for (unsigned i = 1; i < len; ++i) {
      unsigned c = i < n ? static_cast<unsigned char>(s[p]) : 0u;
      if ((c & 0xC0) != 0x80) {  // continuation byte missing
        ok = false;
        break;
      }
      ++p;
      cp = (cp << 6) | static_cast<int>(c & 0x3F);
    }
    if (!ok || cp > 0x10FFFF || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE ||
        (cp >= 0xD800 && cp <= 0xDFFF) || (cp < kMinCp[len - 2] && !(cp == 0 && len == 2)))
      cp = -1;  // noncharacter, surrogate, out of range or overlong (except \xC0\x80)
  }
  pos = p;
  return cp;
}

void newline(std::string& out, int indent) {
  out += '\n';
  out.append(static_cast<size_t>(4 * indent), ' ');
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t pos = 0; pos < s.size() && s[pos] != '\0';) {
    int cp = mod_utf8_codepoint(s, pos);
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        if (cp < 0) cp = 0xFFFD;  // replacement character
        char buf[16];
        if (cp > 0xFFFF) {  // beyond the BMP: a surrogate pair
          std::snprintf(buf, sizeof buf, "\\u%04X\\u%04X", 0xD800 + ((cp - 0x10000) >> 10),
                        0xDC00 + ((cp - 0x10000) & 0x3FF));
          out += buf;
        } else if (cp < 0x20 || cp >= 0x7F) {
          std::snprintf(buf, sizeof buf, "\\u%04X", cp);
          out += buf;
        } else {
          out += static_cast<char>(cp);
        }
      }
    }
  }
  out += '"';
}

void append_json(std::string& out, const InfoNode& node, int indent) {
  switch (node.type()) {
    case InfoNode::Type::Bool: out += node.as_bool() ? "true" : "false"; break;
    case InfoNode::Type::Int: out += std::to_string(node.as_int()); break;
    case InfoNode::Type::String: append_json_string(out, node.as_string()); break;
    case InfoNode::Type::Dict: {
      out += '{';
      const char* sep = "";
      for (const auto* kv : qdict_entries(node)) {
        out += sep;
        newline(out, indent + 1);
        append_json_string(out, kv->first);
        out += ": ";
        append_json(out, kv->second, indent + 1);
        sep = ",";
      }
      newline(out, indent);
      out += '}';
      break;
    }
    case InfoNode::Type::List: {
      out += '[';
      const char* sep = "";
      for (const auto& item : node.items()) {
        out += sep;
        newline(out, indent + 1);
        append_json(out, item, indent + 1);
        sep = ",";
      }
      newline(out, indent);
      out += ']';
      break;
    }
  }
}

namespace {

bool composite(const InfoNode& n) {
  return n.type() == InfoNode::Type::Dict || n.type() == InfoNode::Type::List;
}

}  // namespace

// block/qapi.c: dump_qdict prints "%*s%s:%c" (key with '-' -> ' ', then '\n'
// for a dict/list value or ' ' for a scalar, which is why an empty string
// leaves "key: " with a trailing space); dump_qlist prints "%*s[%i]:%c".
// Scalars are followed by '\n'; composites recurse one level deeper.
void append_dump(std::string& out, int indent, const InfoNode& node) {
  switch (node.type()) {
    case InfoNode::Type::Bool: out += node.as_bool() ? "true" : "false"; break;
    case InfoNode::Type::Int: out += std::to_string(node.as_int()); break;
    case InfoNode::Type::String: out += c_str_view(node.as_string()); break;
    case InfoNode::Type::Dict:
      for (const auto* kv : qdict_entries(node)) {
        out.append(static_cast<size_t>(4 * indent), ' ');
        std::string key(c_str_view(kv->first));
        std::replace(key.begin(), key.end(), '-', ' ');
        out += key;
        out += composite(kv->second) ? ":\n" : ": ";
        append_dump(out, indent + 1, kv->second);
        if (!composite(kv->second)) out += '\n';
      }
      break;
    case InfoNode::Type::List: {
      int i = 0;
      for (const auto& item : node.items()) {
        out.append(static_cast<size_t>(4 * indent), ' ');
        out += '[' + std::to_string(i++) + (composite(item) ? "]:\n" : "]: ");
        append_dump(out, indent + 1, item);
        if (!composite(item)) out += '\n';
      }
      break;
    }
  }
}

}  // namespace imgtool::info
