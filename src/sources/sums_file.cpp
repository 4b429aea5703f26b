// Upstream checksum files: parsing (GNU and BSD lines, clear-signed armour)
// and the entry for one file name.
#include "sources/sums_file.hpp"

#include <algorithm>
#include <cctype>

#include "imgtool/error.hpp"
#include "sources/digest_stream.hpp"

namespace imgtool::sources {
namespace {

// One line at a time, without its line ending ("\n" or "\r\n").
class Lines {
 public:
  explicit Lines(std::string_view text) : rest_(text) {}
  bool next(std::string_view& line) {
    if (done_) return false;
    const size_t nl = rest_.find('\n');
    if (nl == std::string_view::npos) {
      line = rest_;
      done_ = true;
    } else {
      line = rest_.substr(0, nl);
      rest_.remove_prefix(nl + 1);
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

std::string_view trim_end(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Lowercase hex of exactly the digest's length, or nothing.
std::optional<std::string> normalized_hex(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<DigestAlgorithm> algorithm_of_length(size_t hex_len) {
  switch (hex_len) {
    case 32: return DigestAlgorithm::Md5;
    case 64: return DigestAlgorithm::Sha256;
    case 128: return DigestAlgorithm::Sha512;
    default: return std::nullopt;  // sha1, sha384, ...: not an upstream digest imgtool checks
  }
}

size_t hex_length(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::Md5: return 32;
    case DigestAlgorithm::Sha256: return 64;
    case DigestAlgorithm::Sha512: return 128;
  }
  return 0;
}

int strength(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::Md5: return 0;
    case DigestAlgorithm::Sha256: return 1;
    case DigestAlgorithm::Sha512: return 2;
  }
  return 0;
}

std::string clean_name(std::string_view name) {
  if (!name.empty() && name.front() == '*') name.remove_prefix(1);
  while (name.substr(0, 2) == "./") name.remove_prefix(2);
  return std::string(name);
}

// GNU coreutils escapes a name holding '\\' or a newline: the line starts
// with '\\' and the name has "\\\\" and "\\n".
std::string unescape_gnu(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\' && i + 1 < name.size()) {
      const char c = name[++i];
      out += c == 'n' ? '\n' : c;
    } else {
      out += name[i];
    }
  }
  return out;
}

// "HEX  NAME", "HEX *NAME" (and the "HEX NAME" some tools write).
std::optional<SumsEntry> parse_gnu(std::string_view line) {
  bool escaped = false;
  if (!line.empty() && line.front() == '\\') {
    escaped = true;
    line.remove_prefix(1);
  }
  const size_t sp = line.find_first_of(" \t");
  if (sp == std::string_view::npos) return std::nullopt;
  const auto algorithm = algorithm_of_length(sp);
  auto hex = normalized_hex(line.substr(0, sp));
  if (!algorithm || !hex) return std::nullopt;
  std::string_view name = line.substr(sp + 1);
  if (!name.empty() && (name.front() == ' ' || name.front() == '*')) name.remove_prefix(1);
  name = trim_end(name);
  if (name.empty()) return std::nullopt;
  return SumsEntry{*algorithm, std::move(*hex), clean_name(escaped ? unescape_gnu(name) : std::string(name))};
}

// "SHA256 (NAME) = HEX".
std::optional<SumsEntry> parse_bsd(std::string_view line) {
  const size_t open = line.find(" (");
  const size_t close = line.rfind(") = ");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open + 2)
    return std::nullopt;
  std::string tag(line.substr(0, open));
  std::transform(tag.begin(), tag.end(), tag.begin(), [](unsigned char c) { return std::toupper(c); });
  DigestAlgorithm algorithm;
  if (tag == "MD5")
    algorithm = DigestAlgorithm::Md5;
  else if (tag == "SHA256")
    algorithm = DigestAlgorithm::Sha256;
  else if (tag == "SHA512")
    algorithm = DigestAlgorithm::Sha512;
  else
    return std::nullopt;
  const std::string_view hex_text = trim_end(line.substr(close + 4));
  auto hex = normalized_hex(hex_text);
  if (!hex || hex->size() != hex_length(algorithm)) return std::nullopt;
  std::string_view name = line.substr(open + 2, close - open - 2);
  if (name.empty()) return std::nullopt;
  return SumsEntry{algorithm, std::move(*hex), clean_name(name)};
}

constexpr std::string_view kBeginSigned = "-----BEGIN PGP SIGNED MESSAGE-----";
constexpr std::string_view kBeginSignature = "-----BEGIN PGP SIGNATURE-----";

}  // namespace

std::vector<SumsEntry> parse_sums_file(std::string_view text, const std::string& origin) {
  // A clear-signed file: only the signed text counts (what gpgv verified),
  // not whatever stands around the armour.
  std::vector<std::string> signed_lines;
  bool clear_signed = false;
  {
    Lines lines(text);
    std::string_view line;
    enum { Before, ArmourHeaders, Body, After } state = Before;
    while (lines.next(line)) {
      if (state == Before) {
        if (trim_end(line) == kBeginSigned) {
          clear_signed = true;
          state = ArmourHeaders;
        }
      } else if (state == ArmourHeaders) {
        if (trim_end(line).empty()) state = Body;  // "Hash: SHA256" and the like end at a blank line
      } else if (state == Body) {
        if (trim_end(line) == kBeginSignature) {
          state = After;
          break;
        }
        if (line.substr(0, 2) == "- ") line.remove_prefix(2);  // dash-escaping (RFC 4880, 7.1)
        signed_lines.emplace_back(line);
      }
    }
    if (clear_signed && state != After)
      throw Error(ErrorKind::Format, origin, "clear-signed text without its signature block");
  }

  std::vector<SumsEntry> entries;
  auto parse_line = [&](std::string_view line) {
    if (line.empty() || line.front() == '#') return;
    if (auto e = parse_bsd(line)) {
      entries.push_back(std::move(*e));
    } else if (auto g = parse_gnu(line)) {
      entries.push_back(std::move(*g));
    }
  };
  if (clear_signed) {
    for (const auto& l : signed_lines) parse_line(l);
  } else {
    Lines lines(text);
    std::string_view line;
    while (lines.next(line)) parse_line(line);
  }
  return entries;
}

std::optional<SumsEntry> find_sums_entry(const std::vector<SumsEntry>& entries, std::string_view file_name) {
  const SumsEntry* best = nullptr;
  for (const auto& e : entries) {
    std::string_view n = e.file_name;
    const size_t slash = n.rfind('/');
    if (slash != std::string_view::npos) n.remove_prefix(slash + 1);
    if (n != file_name) continue;
    if (best == nullptr || strength(e.algorithm) > strength(best->algorithm)) best = &e;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace imgtool::sources
