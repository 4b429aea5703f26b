#include "glance/keystone.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "glance/errors.hpp"
#include "glance/retry.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

using nlohmann::json;

json user_object(const Credentials& c) {
  json u;
  if (!c.user_id.empty()) {
    u["id"] = c.user_id;
  } else {
    u["name"] = c.username;
    if (!c.user_domain_id.empty())
      u["domain"] = {{"id", c.user_domain_id}};
    else
      u["domain"] = {{"name", c.user_domain_name}};
  }
  return u;
}

json project_scope(const Credentials& c) {
  if (!c.project_id.empty()) return {{"project", {{"id", c.project_id}}}};
  if (c.project_name.empty()) return nullptr;
  json p{{"name", c.project_name}};
  if (!c.project_domain_id.empty())
    p["domain"] = {{"id", c.project_domain_id}};
  else
    p["domain"] = {{"name", c.project_domain_name}};
  return {{"project", p}};
}

json auth_body(const Credentials& c) {
  json identity;
  switch (c.auth_type) {
    case AuthType::Password: {
      json u = user_object(c);
      u["password"] = c.password;
      identity = {{"methods", {"password"}}, {"password", {{"user", u}}}};
      break;
    }
    case AuthType::ApplicationCredential: {
      json ac{{"secret", c.app_cred_secret}};
      if (!c.app_cred_id.empty()) {
        ac["id"] = c.app_cred_id;
      } else {
        ac["name"] = c.app_cred_name;
        ac["user"] = user_object(c);
      }
      identity = {{"methods", {"application_credential"}}, {"application_credential", ac}};
      // Never a scope: Keystone answers 401 "Application credentials cannot request a scope".
      return {{"auth", {{"identity", identity}}}};
    }
    case AuthType::Token: identity = {{"methods", {"token"}}, {"token", {{"id", c.token}}}}; break;
  }
  json auth{{"identity", identity}};
  if (json s = project_scope(c); !s.is_null()) auth["scope"] = s;
  return {{"auth", auth}};
}

std::string pick_endpoint(const json& catalog, const Credentials& c) {
  std::vector<std::string> seen;
  if (!catalog.is_array()) return "";
  for (const auto& svc : catalog) {
    if (!svc.is_object() || svc.value("type", "") != "image") continue;
    if (!svc.contains("endpoints") || !svc["endpoints"].is_array()) continue;
    for (const auto& ep : svc["endpoints"]) {
      if (!ep.is_object()) continue;
      std::string iface = ep.value("interface", "");
      std::string region = ep.value("region_id", ep.value("region", ""));
      seen.push_back(iface + "/" + region);
      if (iface != c.interface) continue;
      if (!c.region.empty() && region != c.region) continue;
      return ep.value("url", "");
    }
  }
  std::string list;
  for (const auto& s : seen) list += (list.empty() ? "" : ", ") + s;
  throw Error(ErrorKind::Usage, "",
              c.interface + " endpoint for the image service" +
                  (c.region.empty() ? std::string() : " in region " + c.region) +
                  " not found in the Keystone catalog (image endpoints: " + (list.empty() ? "none" : list) +
                  "; choose with --os-region-name / --os-interface or OS_REGION_NAME / OS_INTERFACE)");
}

}  // namespace

std::chrono::system_clock::time_point parse_keystone_time(const std::string& s) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
    throw Error(ErrorKind::Http, "", "Keystone token expires_at '" + s + "' is not an ISO 8601 time");
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Session::Session(Credentials creds, HttpDebugLog debug)
    : creds_(std::move(creds)),
      http_(TlsOptions{creds_.cacert, creds_.insecure, creds_.stall_timeout_seconds}, std::move(debug)) {
  // libcurl would only say "problem with the SSL CA cert" at the first request.
  if (!creds_.cacert.empty() && ::access(creds_.cacert.c_str(), R_OK) != 0)
    throw Error(ErrorKind::Usage, creds_.cacert,
                std::string("cannot read the CA bundle (--os-cacert / OS_CACERT / clouds.yaml cacert): ") +
                    std::strerror(errno));
}

void Session::authenticate() {
  const std::string url = creds_.auth_url + "/auth/tokens";
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {"Content-Type: application/json", "Accept: application/json"};
  req.body = auth_body(creds_).dump();
  req.timeout_seconds = 120;
  req.cancellable = !cleanup_;
  // A token request may be repeated: retried after a transport error or a
  // 502/503/504 (Keystone behind a restarting proxy).
  HttpResponse resp;
  for (int attempt = 0;; ++attempt) {
    try {
      resp = http_.send(req);
    } catch (const HttpTransportError& e) {
      if (attempt >= kRetries || !e.transient()) throw;
      backoff(attempt, req.cancellable);
      continue;
    }
    if (attempt < kRetries && (resp.status == 502 || resp.status == 503 || resp.status == 504)) {
      backoff(attempt, req.cancellable);
      continue;
    }
    break;
  }
  if (resp.status != 201 && resp.status != 200) {
    Error e =
        http_error("Keystone authentication (" + creds_.source + ")", "POST", url, resp, creds_.auth_url);
    throw Error(resp.status == 401 ? ErrorKind::Auth : ErrorKind::Http, "", e.message());
  }
  std::string tok = resp.header("x-subject-token");
  if (tok.empty())
    throw Error(ErrorKind::Http, "", "POST " + url + ": Keystone answered without X-Subject-Token");
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.contains("token") || !j["token"].is_object())
    throw Error(ErrorKind::Http, "", "POST " + url + ": Keystone's answer is not a token document");
  const json& t = j["token"];
  if (t.contains("expires_at") && t["expires_at"].is_string())
    expires_at_ = parse_keystone_time(t["expires_at"].get<std::string>());
  else
    expires_at_ = std::chrono::system_clock::now() + std::chrono::hours(1);
  // A cloud that issues short tokens (minutes): refresh at three quarters of
  // the lifetime instead of re-authenticating before every request.
  const auto lifetime = expires_at_ - std::chrono::system_clock::now();
  margin_ =
      std::clamp<std::chrono::system_clock::duration>(lifetime / 4, std::chrono::seconds(0), kRefreshMargin);
  if (t.contains("project") && t["project"].is_object()) project_id_ = t["project"].value("id", "");
  if (creds_.image_endpoint_override.empty()) {
    if (!t.contains("catalog"))
      throw Error(ErrorKind::Usage, "",
                  "Keystone gave an unscoped token (no catalog): set OS_PROJECT_NAME or OS_PROJECT_ID");
    image_url_ = pick_endpoint(t["catalog"], creds_);
  } else {
    image_url_ = creds_.image_endpoint_override;
  }
  while (!image_url_.empty() && image_url_.back() == '/') image_url_.pop_back();
  // Endpoints may or may not carry the version; the client appends /v2.
  if (image_url_.size() >= 3 && image_url_.compare(image_url_.size() - 3, 3, "/v2") == 0)
    image_url_.resize(image_url_.size() - 3);
  token_ = std::move(tok);
}

const std::string& Session::token() {
  if (token_.empty() || std::chrono::system_clock::now() + margin_ >= expires_at_) authenticate();
  return token_;
}

const std::string& Session::image_url() {
  token();
  return image_url_;
}

const std::string& Session::project_id() {
  token();
  return project_id_;
}

void Session::reauthenticate() {
  authenticate();
}

}  // namespace imgtool::glance
