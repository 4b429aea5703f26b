#include "glance/errors.hpp"

#include <nlohmann/json.hpp>

namespace imgtool::glance {
namespace {

constexpr size_t kMaxMessage = 300;

std::string one_line(const std::string& in) {
  // Drop tags ("<br />", HTML pages), collapse whitespace.
  std::string out;
  bool in_tag = false, space = false;
  for (char ch : in) {
    if (ch == '<') {
      in_tag = true;
      space = true;
      continue;
    }
    if (in_tag) {
      if (ch == '>') in_tag = false;
      continue;
    }
    if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += ch;
  }
  if (out.size() > kMaxMessage) out = out.substr(0, kMaxMessage) + "...";
  return out;
}

const char* reason(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

std::string hint(long status, const std::string& keystone_url) {
  switch (status) {
    case 401:
      return "check the credentials (OS_* variables or clouds.yaml) against Keystone at " +
             redact_url(keystone_url);
    case 403:
      return "the user's roles do not allow this (ask an administrator, or drop the option that needs it)";
    case 404: return "the image or endpoint does not exist (check the id, region and interface)";
    case 409: return "the image is not in a state that allows this";
    case 413: return "the image is larger than the server's image_size_cap or the user's quota";
    default:
      if (status >= 500) return "the server failed; its log has the details, retry later";
      return "";
  }
}

}  // namespace

std::string server_message(const HttpResponse& resp) {
  if (resp.body.empty()) return "";
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    // Keystone: {"error":{"code":401,"message":...}}; Glance: {"message":...}.
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      return one_line(j["error"]["message"].get<std::string>());
    if (j.contains("message") && j["message"].is_string()) return one_line(j["message"].get<std::string>());
    if (j.contains("title") && j["title"].is_string()) return one_line(j["title"].get<std::string>());
  }
  return one_line(resp.body);
}

Error http_error(const std::string& what, const std::string& method, const std::string& url,
                 const HttpResponse& resp, const std::string& keystone_url) {
  std::string msg = what + ": " + method + " " + redact_url(url) + " -> HTTP " + std::to_string(resp.status);
  if (*reason(resp.status)) msg += std::string(" ") + reason(resp.status);
  std::string server = server_message(resp);
  if (!server.empty()) msg += ": " + server;
  std::string h = hint(resp.status, keystone_url);
  if (!h.empty()) msg += " (" + h + ")";
  return Error(resp.status == 401 ? ErrorKind::Auth : ErrorKind::Http, "", msg);
}

}  // namespace imgtool::glance
