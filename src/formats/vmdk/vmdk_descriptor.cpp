// VMDK text descriptor parsing (see vmdk_descriptor.hpp).
#include "formats/vmdk/vmdk_descriptor.hpp"

#include <algorithm>
#include <cctype>

#include "imgtool/error.hpp"

namespace imgtool::vmdk {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

void skip_space(std::string_view s, size_t& i) {
  while (i < s.size() && is_space(s[i])) ++i;
}

// A non-space token of at most `max` characters (scanf "%10s"); false when
// there is none or it is longer (the rest would fail the next conversion).
bool scan_token(std::string_view s, size_t& i, size_t max, std::string* out) {
  skip_space(s, i);
  size_t b = i;
  while (i < s.size() && !is_space(s[i])) ++i;
  if (i == b || i - b > max) return false;
  out->assign(s.substr(b, i - b));
  return true;
}

// scanf "%" SCNd64: optional sign and decimal digits (saturating like strtoll).
bool scan_int(std::string_view s, size_t& i, int64_t* out) {
  skip_space(s, i);
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  size_t b = i;
  uint64_t v = 0;
  bool sat = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (v > (uint64_t{1} << 63) / 10) sat = true;
    if (!sat) v = v * 10 + uint64_t(s[i] - '0');
    ++i;
  }
  if (i == b) return false;
  uint64_t lim = neg ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
  if (sat || v > lim) v = lim;
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

// One extent line with qemu's sscanf pattern
// `%10s %SCNd64 %10s "%511[^\n\r"]" %SCNd64`; returns the match count.
int scan_extent(std::string_view line, DescriptorExtent* e) {
  size_t i = 0;
  if (!scan_token(line, i, 10, &e->access)) return 0;
  if (!scan_int(line, i, &e->sectors)) return 1;
  if (!scan_token(line, i, 10, &e->type)) return 2;
  skip_space(line, i);
  if (i >= line.size() || line[i] != '"') return 3;
  ++i;
  size_t b = i;
  while (i < line.size() && i - b < 511 && line[i] != '"' && line[i] != '\n' && line[i] != '\r') ++i;
  if (i == b) return 3;
  e->filename.assign(line.substr(b, i - b));
  if (i >= line.size() || line[i] != '"') return 4;
  ++i;
  int64_t off = 0;
  if (!scan_int(line, i, &off)) return 4;
  e->offset = off;
  return 5;
}

}  // namespace

const std::string* Descriptor::find(std::string_view key) const {
  for (const auto& kv : keys)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Descriptor parse_descriptor(std::string_view text) {
  Descriptor d;
  size_t pos = 0;
  while (pos < text.size()) {  // each iteration consumes >= 1 byte
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++d.line_count;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    std::string low = lower(line.substr(0, 9));
    // oslo format_inspector VMDKInspector: ddb lines, key=value, extent lines.
    bool extent_like =
        low.rfind("rw", 0) == 0 || low.rfind("rdonly", 0) == 0 || low.rfind("noaccess", 0) == 0;
    if (extent_like && line.find('=') == std::string_view::npos) {
      DescriptorExtent e;
      e.line_no = d.line_count;
      e.line.assign(line);
      if (scan_extent(line, &e) >= 3 && d.extents.size() < kMaxExtents)
        d.extents.push_back(std::move(e));
      else if (d.extents.size() >= kMaxExtents)
        throw Error(ErrorKind::Unsupported, "",
                    "descriptor has more than " + std::to_string(kMaxExtents) + " extent lines (line " +
                        std::to_string(d.line_count) + ")");
      else
        d.invalid_lines.emplace_back(d.line_count, std::string(line.substr(0, 200)));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      d.invalid_lines.emplace_back(d.line_count, std::string(line.substr(0, 200)));
      continue;
    }
    std::string_view k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    d.keys.emplace_back(std::string(k), std::string(v));
  }
  return d;
}

std::string_view c_string_view(std::string_view text) {
  size_t z = text.find('\0');
  return z == std::string_view::npos ? text : text.substr(0, z);
}

std::optional<uint32_t> qemu_read_cid(std::string_view desc, bool parent) {
  desc = c_string_view(desc);
  std::string_view key = parent ? "parentCID" : "CID";
  size_t p = desc.find(key);
  if (p == std::string_view::npos) return std::nullopt;
  size_t i = p + key.size() + 1;  // sizeof("CID"): key plus one character ('=')
  if (i > desc.size()) return std::nullopt;
  skip_space(desc, i);
  if (i + 1 < desc.size() && desc[i] == '0' && (desc[i + 1] == 'x' || desc[i + 1] == 'X') &&
      i + 2 < desc.size() && std::isxdigit(static_cast<unsigned char>(desc[i + 2])))
    i += 2;
  uint64_t v = 0;
  size_t b = i;
  bool sat = false;
  while (i < desc.size() && std::isxdigit(static_cast<unsigned char>(desc[i]))) {
    char c = desc[i++];
    unsigned d = std::isdigit(static_cast<unsigned char>(c)) ? unsigned(c - '0')
                                                             : unsigned(std::tolower(c) - 'a' + 10);
    if (v >> 60) sat = true;
    v = (v << 4) | d;
  }
  if (i == b) return std::nullopt;
  if (sat) v = ~uint64_t{0};  // strtoul saturates; the %x store truncates
  return static_cast<uint32_t>(v);
}

std::optional<std::string> qemu_quoted_value(std::string_view desc, std::string_view key, size_t max_len,
                                             bool* malformed) {
  *malformed = false;
  desc = c_string_view(desc);
  size_t p = desc.find(key);
  if (p == std::string_view::npos) return std::nullopt;
  size_t b = p + key.size() + 2;  // skip `="`
  if (b >= desc.size()) {
    *malformed = true;
    return std::nullopt;
  }
  size_t e = desc.find('"', b);
  if (e == std::string_view::npos || e - b > max_len) {
    *malformed = true;
    return std::nullopt;
  }
  return std::string(desc.substr(b, e - b));
}

std::vector<DescriptorExtent> qemu_parse_extents(std::string_view desc) {
  desc = c_string_view(desc);
  std::vector<DescriptorExtent> out;
  size_t pos = 0, line_no = 0;
  while (pos < desc.size()) {
    size_t nl = desc.find('\n', pos);
    std::string_view line =
        desc.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? desc.size() : nl + 1;
    ++line_no;
    DescriptorExtent e;
    e.line_no = line_no;
    int m = scan_extent(line, &e);
    if (m < 4 || e.access != "RW") continue;
    bool invalid = false;
    if (e.type == "FLAT")
      invalid = m != 5 || *e.offset < 0;
    else if (e.type == "VMFS") {
      invalid = m != 4;
      e.offset = 0;
    } else
      invalid = m != 4;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    e.line.assign(line.substr(0, 512));
    if (invalid)
      throw Error(ErrorKind::Format, "", "invalid extent line " + std::to_string(line_no) + ": " + e.line);
    static constexpr std::string_view kTypes[] = {"FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE"};
    if (e.sectors <= 0 || std::find(std::begin(kTypes), std::end(kTypes), e.type) == std::end(kTypes))
      continue;
    if (out.size() >= kMaxExtents)
      throw Error(ErrorKind::Unsupported, "",
                  "descriptor has more than " + std::to_string(kMaxExtents) + " extents (line " +
                      std::to_string(line_no) + ")");
    out.push_back(std::move(e));
  }
  return out;
}

bool qemu_accepts_descriptor_create_type(std::string_view ct) {
  static constexpr std::string_view kOk[] = {
      "monolithicFlat", "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"};
  return std::find(std::begin(kOk), std::end(kOk), ct) != std::end(kOk);
}

}  // namespace imgtool::vmdk
