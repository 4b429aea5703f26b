#pragma once
// Glance v2 images API (api-ref image/v2): create, upload (PUT /file),
// stage + import (glance-direct), show, list with filters, delete. Every
// non-2xx answer becomes one Error line (errors.hpp).
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "glance/http.hpp"
#include "glance/keystone.hpp"
#include "imgtool/glance.hpp"

namespace imgtool::glance {

class ImagesApi {
 public:
  explicit ImagesApi(Session& session) : session_(session) {}

  // A random (version 4) UUID for the "id" of a create body: the id is known
  // before the POST, so an image whose create was cut or interrupted can
  // still be found and deleted.
  static std::string new_image_id();
  // POST /v2/images -> the new image record (status "queued").
  nlohmann::json create(const nlohmann::json& body);
  // PATCH /v2/images/{id}: protected = `on` (a JSON boolean: Glance refuses
  // the string). Returns the updated record. Unprotecting is for a cleanup
  // (not cancellable): the image it applies to is one publish just made.
  nlohmann::json protect(const std::string& id, bool on = true);
  // PUT /v2/images/{id}/file (or /stage when `stage`) with an octet-stream
  // body pulled from `reader`; Content-Length when `size` is known, else
  // chunked. Throws on transport errors and non-204 answers.
  void upload(const std::string& id, const BodyReader& reader, std::optional<uint64_t> size,
              bool stage = false);
  // POST /v2/images/{id}/import {"method":{"name":"glance-direct"}} (+ stores).
  void import_staged(const std::string& id, const std::vector<std::string>& stores);
  // GET /v2/images/{id}.
  nlohmann::json get(const std::string& id);
  // GET /v2/images/{id}/file: the image data, handed to `sink` as it arrives,
  // each byte once: a transfer cut by the network is resumed with a Range
  // request (up to kRetries times in a row without progress).
  // Throws Error(Http) when Glance has no data for it (204) or answers an error.
  void download(const std::string& id, const std::function<void(std::span<const std::byte>)>& sink);
  // One image by id, or by a name exactly one image has (GET ?name=).
  // Error(Http) when none matches, Error(Usage) when several do.
  nlohmann::json find(const std::string& id_or_name);
  // The image's status for a cleanup message: a short, non-interruptible GET;
  // "" when Glance does not answer.
  std::string status_of(const std::string& id);
  // DELETE /v2/images/{id}. Not interruptible (cleanup after a signal).
  // Returns false when the image was already gone (404).
  bool remove(const std::string& id);
  // GET /v2/images?k=v... following "next" links (at most `max_pages`).
  std::vector<nlohmann::json> list(const std::map<std::string, std::string>& filters, int max_pages = 50);
  // Polls GET until status is one of `done` (returns the record), "killed"
  // / "deleted" (throws Error(Http)), or `timeout` passes (throws).
  nlohmann::json wait_for_status(const std::string& id, const std::vector<std::string>& done,
                                 std::chrono::seconds timeout);

  const std::string& base_url() { return session_.image_url(); }

  // Sends `req` with a token; a 401 gets one fresh token. An idempotent
  // request (GET, DELETE) is also retried with backoff after a transport
  // error or a 502/503/504 (a restarting API process, a proxy in between).
  // An answer whose status is not in `ok` throws http_error(). Public for the
  // other Glance v2 clients on the same session (import_api.hpp).
  // `retry_transport` false: a transport error is thrown at once (download()
  // resumes its body itself rather than start it again).
  HttpResponse call(HttpRequest req, const std::string& what, std::initializer_list<long> ok,
                    bool retry_transport = true);

 private:
  // <endpoint>/v2/images/{id}
  std::string image_url(const std::string& id) { return base_url() + "/v2/images/" + url_escape(id); }
  // GET of the image record, shared by get() and status_of().
  nlohmann::json show(const std::string& id, long timeout_seconds, bool cancellable);
  std::vector<std::string> auth_headers();
  Session& session_;
};

// An image's JSON as the one record type (image_record.cpp).
GlanceImageRecord parse_image_record(const nlohmann::json& im);

}  // namespace imgtool::glance
