#pragma once
// Keystone v3: authenticate (password / application credential / token),
// keep the token (X-Subject-Token) and its expiry, find the image endpoint
// in the catalog (type "image", interface, region). token() re-authenticates
// when the token is within its refresh margin of expires_at (kRefreshMargin,
// or a quarter of the token's lifetime for short-lived tokens), so every request of
// a long publish (the GET and DELETE after an hour-long PUT) has a valid one;
// Keystone middleware checks a token when a request starts, so one long PUT
// needs no fresh token mid-stream.
#include <chrono>
#include <string>
#include <vector>

#include "glance/credentials.hpp"
#include "glance/http.hpp"

namespace imgtool::glance {

class Session {
 public:
  static constexpr std::chrono::seconds kRefreshMargin{300};

  // `debug` receives the --debug line of every HTTP request (may be empty).
  explicit Session(Credentials creds, HttpDebugLog debug = {});

  HttpClient& http() { return http_; }
  const Credentials& credentials() const { return creds_; }
  const std::string& keystone_url() const { return creds_.auth_url; }

  // A valid token (authenticates on first use and near expiry).
  const std::string& token();
  // Glance's base URL without "/v2" (catalog, or image_endpoint_override).
  const std::string& image_url();
  // Project the token is scoped to (id), after authentication.
  const std::string& project_id();
  // Forces a new token (after a 401 from Glance).
  void reauthenticate();
  // From now on, token requests are cleanup requests: the interrupt that
  // started the cleanup does not cancel them (a second one does), so a
  // cleanup whose token expired can still authenticate and delete.
  void enter_cleanup() { cleanup_ = true; }

 private:
  void authenticate();

  Credentials creds_;
  HttpClient http_;
  std::string token_;
  std::string image_url_;
  std::string project_id_;
  std::chrono::system_clock::time_point expires_at_{};
  std::chrono::system_clock::duration margin_ = kRefreshMargin;
  bool cleanup_ = false;
};

// "2026-11-25T14:47:17.000000Z" -> time point; throws Error(Http) if malformed.
std::chrono::system_clock::time_point parse_keystone_time(const std::string& s);

}  // namespace imgtool::glance
