#include "glance/images_api.hpp"

#include <algorithm>
#include <cctype>

#include "glance/errors.hpp"
#include "glance/retry.hpp"
#include "hash/crypto_api.hpp"  // evp(): libcrypto, loaded at first use
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

std::string ImagesApi::new_image_id() {
  unsigned char b[16];
  if (hash::evp().RAND_bytes(b, sizeof b) != 1)
    throw Error(ErrorKind::Io, "", "no random bytes for an image id (OpenSSL RAND_bytes)");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

HttpResponse ImagesApi::call(HttpRequest req, const std::string& what, std::initializer_list<long> ok,
                             bool retry_transport) {
  auto extra = req.headers;
  const bool idempotent = (req.method == "GET" || req.method == "DELETE") && !req.reader;
  bool reauthenticated = false;
  for (int attempt = 0;; ++attempt) {
    req.headers = auth_headers();
    req.headers.insert(req.headers.end(), extra.begin(), extra.end());
    const bool may_retry = idempotent && attempt < kRetries;
    HttpResponse r;
    try {
      r = session_.http().send(req);
    } catch (const HttpTransportError& e) {
      if (!may_retry || !retry_transport || !e.transient()) throw;
      backoff(attempt, req.cancellable);
      continue;
    }
    if (std::find(ok.begin(), ok.end(), r.status) != ok.end()) return r;
    // A token revoked or expired early: one fresh token, if the body can be re-sent.
    if (r.status == 401 && !reauthenticated && !req.reader) {
      reauthenticated = true;
      session_.reauthenticate();
      continue;
    }
    if (may_retry && (r.status == 502 || r.status == 503 || r.status == 504)) {
      backoff(attempt, req.cancellable);
      continue;
    }
    throw http_error(what, req.method, req.url, r, session_.keystone_url());
  }
}

json ImagesApi::protect(const std::string& id, bool on) {
  HttpRequest req;
  req.method = "PATCH";
  req.url = image_url(id);
  req.headers = {"Content-Type: application/openstack-images-v2.1-json-patch"};
  req.body = on ? R"([{"op": "replace", "path": "/protected", "value": true}])"
                : R"([{"op": "replace", "path": "/protected", "value": false}])";
  req.cancellable = on;
  req.timeout_seconds = 120;
  return parse_json(call(req, "protect image " + id, {200}), "protect image " + id);
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

namespace {
// "bytes START-END/TOTAL" (RFC 9110): true when START is `from`.
bool content_range_starts_at(const std::string& v, uint64_t from) {
  const std::string prefix = "bytes " + std::to_string(from) + "-";
  return v.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

void ImagesApi::download(const std::string& id, const std::function<void(std::span<const std::byte>)>& sink) {
  // A body cut short by the network is resumed where it stopped (Range:
  // bytes=N-), not started again: `sink` (the hashes, a spool, a pipe) has
  // seen those bytes and must see each exactly once. A server that ignores
  // the Range answers 200 with the whole body; its first N bytes are dropped.
  uint64_t received = 0;
  int failures = 0;
  for (;;) {
    HttpRequest req;
    req.url = image_url(id) + "/file";
    const uint64_t from = received;
    if (from > 0) req.headers = {"Range: bytes=" + std::to_string(from) + "-"};
    uint64_t skip = 0;  // bytes at the start of this answer that `sink` has seen
    req.on_answer = [&](long status, const std::map<std::string, std::string>& h) {
      skip = 0;
      if (from == 0) return;
      if (status != 206) {
        skip = from;
        return;
      }
      const auto cr = h.find("content-range");
      if (cr == h.end() || !content_range_starts_at(cr->second, from))
        throw Error(ErrorKind::Mismatch, "",
                    "Glance resumed the download of image " + id + " elsewhere than at byte " +
                        std::to_string(from) + " (Content-Range: " + (cr == h.end() ? "none" : cr->second) +
                        ")");
    };
    req.body_sink = [&](std::span<const std::byte> piece) {
      const auto drop = static_cast<size_t>(std::min<uint64_t>(skip, piece.size()));
      skip -= drop;
      piece = piece.subspan(drop);
      if (piece.empty()) return;
      sink(piece);
      received += piece.size();
    };
    try {
      HttpResponse r = call(req, "download image data of " + id, {200, 204, 206}, false);
      if (r.status == 204)
        throw Error(ErrorKind::Http, "", "Glance has no data for image " + id + " (HTTP 204)");
      return;
    } catch (const HttpTransportError& e) {
      if (!e.transient()) throw;
      if (received > from) failures = 0;  // it moved since the last cut: a fresh budget
      if (failures >= kRetries) throw;
      backoff(failures++, req.cancellable);
    }
  }
}

namespace {
bool looks_like_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}
}  // namespace

json ImagesApi::find(const std::string& id_or_name) {
  if (looks_like_uuid(id_or_name)) return get(id_or_name);
  auto list = this->list({{"name", id_or_name}});
  if (list.empty()) throw Error(ErrorKind::Http, id_or_name, "no Glance image with this id or name");
  if (list.size() > 1)
    throw Error(ErrorKind::Usage, id_or_name,
                std::to_string(list.size()) + " Glance images have this name; give the id");
  return list.front();
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
