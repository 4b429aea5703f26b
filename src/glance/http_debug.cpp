// --debug for the HTTP client: one line per request, never a secret. Request
// bodies are not logged at all (Keystone's carries the password or the
// application credential secret), header values only for harmless headers,
// and URLs lose their userinfo and credential-like query values.
#include <chrono>
#include <cstdio>
#include <string_view>

#include "glance/http.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool secret_name(std::string_view name) {
  const std::string n = lower(name);
  for (const char* w : {"sig", "token", "secret", "pass", "key", "credential", "auth"})
    if (n.find(w) != std::string::npos) return true;
  return false;
}

std::string size_text(uint64_t n) {
  char buf[32];
  if (n < 1024) return std::to_string(n) + " B";
  if (n < (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  }
  return buf;
}

}  // namespace

std::string redact_url(const std::string& url) {
  std::string out = url;
  // userinfo: scheme://user:password@host/...
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t host = scheme + 3;
    const size_t end = out.find_first_of("/?#", host);
    const size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at >= host) out.replace(host, at - host, "***");
  }
  const size_t q = out.find('?');
  if (q == std::string::npos) return out;
  std::string query = out.substr(q + 1), fragment;
  if (size_t h = query.find('#'); h != std::string::npos) {
    fragment = query.substr(h);
    query.resize(h);
  }
  std::string redacted;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string part = query.substr(pos, amp - pos);
    const size_t eq = part.find('=');
    if (eq != std::string::npos && secret_name(std::string_view(part).substr(0, eq)))
      part = part.substr(0, eq + 1) + "***";
    redacted += (pos == 0 ? "" : "&") + part;
    pos = amp + 1;
  }
  return out.substr(0, q + 1) + redacted + fragment;
}

std::string debug_line(const HttpRequest& req, const HttpResponse* resp, double seconds,
                       const std::string& failure) {
  std::string line = req.method + " " + redact_url(req.url);
  std::string names;
  for (const auto& h : req.headers) {
    const size_t colon = h.find(':');
    const std::string name = h.substr(0, colon);
    // A header whose value could be a credential shows only its name.
    const bool show_value = !secret_name(name) && lower(name) != "cookie" && colon != std::string::npos;
    names += (names.empty() ? "" : ", ") + (show_value ? h : name + ": ***");
  }
  if (!names.empty()) line += " [" + names + "]";
  if (req.reader)
    line += req.body_size ? " body " + size_text(*req.body_size) : std::string(" body chunked");
  else if (!req.body.empty())
    line += " body " + size_text(req.body.size());
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f s", seconds);
  if (resp == nullptr) return line + " -> failed after " + secs + ": " + failure;
  line += " -> " + std::to_string(resp->status) + " in " + secs + ", " + size_text(resp->body.size());
  std::string id = resp->header("x-openstack-request-id");
  if (id.empty()) id = resp->header("x-compute-request-id");
  if (!id.empty()) line += ", request id " + id;
  return line;
}

HttpResponse HttpClient::send(const HttpRequest& req) {
  if (!debug_) return perform(req);
  const auto t0 = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  try {
    HttpResponse r = perform(req);
    debug_(debug_line(req, &r, elapsed(), ""));
    return r;
  } catch (const Error& e) {
    debug_(debug_line(req, nullptr, elapsed(), e.message()));
    throw;
  }
}

}  // namespace imgtool::glance
