// A bounded scanner for the few OVF elements the source layer needs. OVF
// files are small, machine-written XML; what this does not understand it
// refuses (DOCTYPE, unknown entities, unbalanced tags) rather than guesses.
#include "sources/ovf_descriptor.hpp"

#include <algorithm>
#include <cctype>

#include "imgtool/error.hpp"

namespace imgtool::sources::detail {
namespace {

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxEntries = 10000;  // files or disks

std::string_view local_name(std::string_view qname) {
  const size_t colon = qname.rfind(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, uint64_t(c - '0'), &v))
      return std::nullopt;
  }
  return v;
}

struct Attr {
  std::string_view name;  // local name
  std::string value;      // entities decoded
};

class Scanner {
 public:
  Scanner(std::string_view xml, const std::string& source, const std::string& member)
      : x_(xml), source_(source), member_(member) {}

  OvfDescriptor run() {
    OvfDescriptor d;
    std::vector<std::string_view> stack;
    while (true) {
      const size_t lt = x_.find('<', i_);
      if (lt == std::string_view::npos) break;
      i_ = lt;
      if (starts("<!--")) {
        skip_past("-->");
      } else if (starts("<![CDATA[")) {
        skip_past("]]>");
      } else if (starts("<?")) {
        skip_past("?>");
      } else if (starts("<!")) {
        fail("a DOCTYPE or other declaration (not in an OVF)");
      } else if (starts("</")) {
        i_ += 2;
        const std::string_view n = local_name(read_name());
        skip_space();
        expect('>');
        if (stack.empty() || stack.back() != n) fail("an end tag that does not match its start tag");
        stack.pop_back();
      } else {
        ++i_;
        const std::string_view n = local_name(read_name());
        std::vector<Attr> attrs;
        bool empty = false;
        for (;;) {
          skip_space();
          if (starts("/>")) {
            i_ += 2;
            empty = true;
            break;
          }
          if (starts(">")) {
            ++i_;
            break;
          }
          Attr a;
          a.name = local_name(read_name());
          skip_space();
          expect('=');
          skip_space();
          a.value = read_value();
          attrs.push_back(std::move(a));
        }
        const std::string_view parent = stack.empty() ? std::string_view() : stack.back();
        if (n == "File" && parent == "References") add_file(d, attrs);
        if (n == "Disk" && parent == "DiskSection") add_disk(d, attrs);
        if (!empty) {
          if (stack.size() >= kMaxDepth) fail("elements nested deeper than " + std::to_string(kMaxDepth));
          stack.push_back(n);
        }
      }
    }
    if (!stack.empty()) fail("the document ends inside <" + escape_name(stack.back()) + ">");
    return d;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::Format, source_,
                "OVF descriptor '" + escape_name(member_) + "' is not XML this reads: " + why, std::nullopt);
  }
  bool starts(std::string_view s) const { return x_.substr(i_).starts_with(s); }
  void skip_past(std::string_view end) {
    const size_t at = x_.find(end, i_);
    if (at == std::string_view::npos)
      fail("an unterminated comment, CDATA section or processing instruction");
    i_ = at + end.size();
  }
  void skip_space() {
    while (i_ < x_.size() && is_space(x_[i_])) ++i_;
  }
  void expect(char c) {
    if (i_ >= x_.size() || x_[i_] != c)
      fail(std::string("expected '") + c + "' at byte " + std::to_string(i_));
    ++i_;
  }
  std::string_view read_name() {
    const size_t start = i_;
    while (i_ < x_.size() && !is_space(x_[i_]) && x_[i_] != '>' && x_[i_] != '/' && x_[i_] != '=' &&
           x_[i_] != '<')
      ++i_;
    if (i_ == start) fail("a tag or attribute without a name at byte " + std::to_string(start));
    return x_.substr(start, i_ - start);
  }
  std::string read_value() {
    if (i_ >= x_.size() || (x_[i_] != '"' && x_[i_] != '\'')) fail("an attribute value without quotes");
    const char q = x_[i_++];
    const size_t end = x_.find(q, i_);
    if (end == std::string_view::npos) fail("an unterminated attribute value");
    const std::string_view raw = x_.substr(i_, end - i_);
    i_ = end + 1;
    std::string out;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '<') fail("'<' in an attribute value");
      if (raw[k] != '&') {
        out += raw[k];
        continue;
      }
      const size_t semi = raw.find(';', k);
      if (semi == std::string_view::npos || semi - k > 12) fail("an unterminated entity reference");
      const std::string_view ent = raw.substr(k + 1, semi - k - 1);
      k = semi;
      if (ent == "amp")
        out += '&';
      else if (ent == "lt")
        out += '<';
      else if (ent == "gt")
        out += '>';
      else if (ent == "quot")
        out += '"';
      else if (ent == "apos")
        out += '\'';
      else if (ent.size() > 1 && ent[0] == '#') {
        uint32_t cp = 0;
        const bool hex = ent[1] == 'x';
        const std::string_view digits = ent.substr(hex ? 2 : 1);
        if (digits.empty()) fail("a bad character reference");
        for (char c : digits) {
          const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                        : hex && std::isxdigit(static_cast<unsigned char>(c))
                            ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                            : -1;
          if (v < 0 || cp > 0x10ffff) fail("a bad character reference");
          cp = cp * (hex ? 16 : 10) + uint32_t(v);
        }
        if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) fail("a bad character reference");
        append_utf8(out, cp);
      } else {
        fail("the entity '&" + escape_name(ent) + ";' (only the predefined ones are read)");
      }
    }
    return out;
  }

  static const std::string* attr(const std::vector<Attr>& attrs, std::string_view name) {
    for (const Attr& a : attrs)
      if (a.name == name) return &a.value;
    return nullptr;
  }

  void add_file(OvfDescriptor& d, const std::vector<Attr>& attrs) {
    if (d.files.size() >= kMaxEntries) fail("more than " + std::to_string(kMaxEntries) + " File elements");
    OvfFile f;
    if (const auto* v = attr(attrs, "id")) f.id = *v;
    if (const auto* v = attr(attrs, "href")) f.href = *v;
    while (f.href.starts_with("./")) f.href.erase(0, 2);
    if (const auto* v = attr(attrs, "size")) f.size = parse_u64(*v);
    d.files.push_back(std::move(f));
  }

  void add_disk(OvfDescriptor& d, const std::vector<Attr>& attrs) {
    if (d.disks.size() >= kMaxEntries) fail("more than " + std::to_string(kMaxEntries) + " Disk elements");
    OvfDisk k;
    if (const auto* v = attr(attrs, "diskId")) k.disk_id = *v;
    if (const auto* v = attr(attrs, "fileRef")) k.file_ref = *v;
    if (const auto* v = attr(attrs, "format")) k.format = *v;
    const auto* cap = attr(attrs, "capacity");
    const auto* units = attr(attrs, "capacityAllocationUnits");
    if (cap) {
      const std::optional<uint64_t> n = parse_u64(*cap);
      const std::optional<uint64_t> mul = ovf_allocation_units(units ? std::string_view(*units) : "byte");
      uint64_t bytes = 0;
      if (n && mul && !__builtin_mul_overflow(*n, *mul, &bytes)) k.capacity = bytes;
    }
    d.disks.push_back(std::move(k));
  }

  std::string_view x_;
  size_t i_ = 0;
  const std::string& source_;
  const std::string& member_;
};

}  // namespace

const OvfFile* OvfDescriptor::file(std::string_view id) const {
  for (const OvfFile& f : files)
    if (f.id == id) return &f;
  return nullptr;
}

std::optional<uint64_t> ovf_allocation_units(std::string_view units) {
  // DMTF DSP0004 programmatic units: "byte" followed by factors "* N" or
  // "* B^E" (OVF writes "byte * 2^30"); no units at all means bytes.
  std::string s;
  for (char c : units)
    if (!is_space(c)) s += char(std::tolower(static_cast<unsigned char>(c)));
  if (s.empty()) return 1;
  if (!s.starts_with("byte")) return std::nullopt;
  std::string_view rest = std::string_view(s).substr(4);
  uint64_t mul = 1;
  while (!rest.empty()) {
    if (rest[0] != '*') return std::nullopt;
    rest.remove_prefix(1);
    const size_t end = std::min(rest.find('*'), rest.size());
    const std::string_view factor = rest.substr(0, end);
    rest.remove_prefix(end);
    const size_t caret = factor.find('^');
    const std::optional<uint64_t> base = parse_u64(factor.substr(0, caret));
    if (!base) return std::nullopt;
    uint64_t f = *base;
    if (caret != std::string_view::npos) {
      const std::optional<uint64_t> exp = parse_u64(factor.substr(caret + 1));
      if (!exp || *exp > 64) return std::nullopt;
      f = 1;
      for (uint64_t e = 0; e < *exp; ++e)
        if (__builtin_mul_overflow(f, *base, &f)) return std::nullopt;
    }
    if (__builtin_mul_overflow(mul, f, &mul)) return std::nullopt;
  }
  return mul;
}

OvfDescriptor parse_ovf(std::string_view xml, const std::string& source, const std::string& member) {
  return Scanner(xml, source, member).run();
}

}  // namespace imgtool::sources::detail
