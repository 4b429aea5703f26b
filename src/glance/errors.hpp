#pragma once
// Every HTTP error of Keystone or Glance becomes ONE line: what was asked,
// the status, the server's own message (JSON "message"/"error.message"; HTML
// and Glance's "<br />" padding stripped) and what to do about it.
#include <string>

#include "glance/http.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {

// The server's message from an error body (JSON or HTML), on one line,
// at most ~300 characters. Empty if there is none.
std::string server_message(const HttpResponse& resp);

// Error(Auth) for 401 (naming `keystone_url`), Error(Http) otherwise.
// `what` says what was being done ("create image", "upload image 3ff3…").
Error http_error(const std::string& what, const std::string& method, const std::string& url,
                 const HttpResponse& resp, const std::string& keystone_url);

}  // namespace imgtool::glance
