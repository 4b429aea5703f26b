#pragma once
// Internal helpers that mimic QEMU 7.2's QObject printing: QDict iteration
// order (qobject/qdict.c), qobject_to_json_pretty (qobject/qjson.c) and the
// human dump of format-specific data (block/qapi.c dump_qobject).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imgtool/info_tree.hpp"

namespace imgtool::info {

// qobject/qdict.c tdb_hash() and its bucket (QDICT_BUCKET_MAX = 512).
uint32_t tdb_hash(std::string_view key) noexcept;
inline constexpr uint32_t kQDictBuckets = 512;

// Indices of `keys` (given in insertion order) in the order a QDict built by
// inserting them one by one iterates them: ascending bucket, and within a
// bucket newest first (QLIST_INSERT_HEAD).
std::vector<size_t> qdict_order(const std::vector<std::string>& keys);

// The entries of a Dict node in QDict iteration order.
std::vector<const std::pair<std::string, InfoNode>*> qdict_entries(const InfoNode& dict);

// qobject_to_json_pretty(obj, true) appended to `out` (no trailing newline).
void append_json(std::string& out, const InfoNode& node, int indent = 0);
// qjson.c to_json_str(): quotes and escapes like QEMU (\uXXXX upper-case hex,
// invalid UTF-8 -> \uFFFD, everything outside 0x20..0x7E escaped).
void append_json_string(std::string& out, std::string_view s);

// block/qapi.c dump_qobject(indent, obj) appended to `out`.
void append_dump(std::string& out, int indent, const InfoNode& node);

// printf("%s") of a C string: QEMU strings end at the first NUL.
inline std::string_view c_str_view(const std::string& s) {
  size_t n = s.find('\0');
  return n == std::string::npos ? std::string_view(s) : std::string_view(s.data(), n);
}

}  // namespace imgtool::info
