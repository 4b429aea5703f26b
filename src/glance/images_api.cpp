#include "glance/images_api.hpp"

#include <algorithm>

#include "glance/errors.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {

using nlohmann::json;

namespace {

json parse_json(const HttpResponse& r, const std::string& what) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(ErrorKind::Http, "", what + ": Glance's answer is not a JSON object");
  return j;
}

}  // namespace

std::vector<std::string> ImagesApi::auth_headers() {
  return {"X-Auth-Token: " + session_.token(), "Accept: application/json"};
}

HttpResponse ImagesApi::call(HttpRequest req, const std::string& what, std::initializer_list<long> ok) {
  auto extra = req.headers;
  for (int attempt = 0;; ++attempt) {
    req.headers = auth_headers();
    req.headers.insert(req.headers.end(), extra.begin(), extra.end());
    HttpResponse r = session_.http().send(req);
    if (std::find(ok.begin(), ok.end(), r.status) != ok.end()) return r;
    // A token revoked or expired early: one fresh token, if the body can be re-sent.
    if (r.status == 401 && attempt == 0 && !req.reader) {
      session_.reauthenticate();
      continue;
    }
    throw http_error(what, req.method, req.url, r, session_.keystone_url());
  }
}

json ImagesApi::create(const json& body) {
  HttpRequest req;
  req.method = "POST";
  req.url = base_url() + "/v2/images";
  req.headers = {"Content-Type: application/json"};
  req.body = body.dump();
  req.timeout_seconds = 300;
  return parse_json(call(req, "create image", {201}), "create image");
}

void ImagesApi::upload(const std::string& id, const BodyReader& reader, std::optional<uint64_t> size,
                       bool stage) {
  HttpRequest req;
  req.method = "PUT";
  req.url = image_url(id) + (stage ? "/stage" : "/file");
  req.headers = {"Content-Type: application/octet-stream"};
  req.reader = reader;
  req.body_size = size;
  call(req, std::string(stage ? "stage" : "upload") + " image data of " + id, {204, 201, 200});
}

void ImagesApi::import_staged(const std::string& id, const std::vector<std::string>& stores) {
  HttpRequest req;
  req.method = "POST";
  req.url = image_url(id) + "/import";
  req.headers = {"Content-Type: application/json"};
  json body{{"method", {{"name", "glance-direct"}}}};
  if (!stores.empty()) body["stores"] = stores;
  req.body = body.dump();
  req.timeout_seconds = 300;
  call(req, "import image " + id, {202});
}

json ImagesApi::show(const std::string& id, long timeout_seconds, bool cancellable) {
  HttpRequest req;
  req.url = image_url(id);
  req.cancellable = cancellable;
  req.timeout_seconds = timeout_seconds;
  return parse_json(call(req, "show image " + id, {200}), "show image " + id);
}

json ImagesApi::get(const std::string& id) {
  return show(id, 300, true);
}

std::string ImagesApi::status_of(const std::string& id) {
  try {
    json j = show(id, 10, false);
    auto st = j.find("status");
    return st != j.end() && st->is_string() ? st->get<std::string>() : "";
  } catch (const Error&) {
    return "";
  }
}

bool ImagesApi::remove(const std::string& id) {
  HttpRequest req;
  req.method = "DELETE";
  req.url = image_url(id);
  req.cancellable = false;
  req.timeout_seconds = 120;
  HttpResponse r = call(req, "delete image " + id, {204, 200, 404});
  return r.status != 404;
}

std::vector<json> ImagesApi::list(const std::map<std::string, std::string>& filters, int max_pages) {
  std::string query;
  for (const auto& [k, v] : filters)
    query += (query.empty() ? "?" : "&") + url_escape(k) + "=" + url_escape(v);
  std::string url = base_url() + "/v2/images" + query;
  std::vector<json> out;
  for (int page = 0; page < max_pages && !url.empty(); ++page) {
    HttpRequest req;
    req.url = url;
    req.timeout_seconds = 300;
    json j = parse_json(call(req, "list images", {200}), "list images");
    if (j.contains("images") && j["images"].is_array())
      for (auto& im : j["images"]) out.push_back(im);
    url.clear();
    // "next": "/v2/images?marker=...": relative to the endpoint.
    if (j.contains("next") && j["next"].is_string()) url = base_url() + j["next"].get<std::string>();
  }
  return out;
}

json ImagesApi::wait_for_status(const std::string& id, const std::vector<std::string>& done,
                                std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto delay = std::chrono::milliseconds(200);
  for (;;) {
    json im = get(id);
    std::string st = im.value("status", "");
    if (std::find(done.begin(), done.end(), st) != done.end()) return im;
    if (st == "killed" || st == "deleted")
      throw Error(ErrorKind::Http, "",
                  "image " + id + " went to status '" + st + "' (the import or upload failed on the server)");
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(ErrorKind::Http, "",
                  "image " + id + " still '" + st + "' after " + std::to_string(timeout.count()) + " s");
    interruptible_sleep(delay);  // up to 2 s: a plain sleep would hold a signal that long
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace imgtool::glance
