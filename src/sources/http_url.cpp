// The string side of http(s) sources: recognising a URL, the name it has in
// messages (never a password) and the file name a sums file lists it under.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "sources/http_stream.hpp"

namespace imgtool::sources {
namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Where the authority ("user:pass@host:port") starts and ends; npos when
// `url` has no "scheme://".
std::pair<size_t, size_t> authority_range(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {std::string_view::npos, std::string_view::npos};
  const size_t start = scheme_end + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  return {start, end};
}

}  // namespace

bool is_http_url(std::string_view spec) {
  return starts_with_nocase(spec, "http://") || starts_with_nocase(spec, "https://");
}

std::string url_for_messages(std::string_view url) {
  const auto [start, end] = authority_range(url);
  if (start == std::string_view::npos) return std::string(url);
  // The last '@' of the authority ends the userinfo (a password may hold '@'
  // only percent-encoded, but be generous).
  const std::string_view authority = url.substr(start, end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start));
  out += authority.substr(at + 1);
  out += url.substr(end);
  return out;
}

std::string url_file_name(std::string_view url) {
  const auto [start, end] = authority_range(url);
  std::string_view path = start == std::string_view::npos ? url : url.substr(end);
  path = path.substr(0, path.find_first_of("?#"));
  const size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path = path.substr(slash + 1);
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      const int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

}  // namespace imgtool::sources
