#pragma once
// Glance's interoperable image import (api-ref image/v2, "Interoperable image
// import"): what the server offers (GET /v2/info/import, /v2/info/stores),
// POST /v2/images/{id}/import for glance-direct, web-download and copy-image,
// the image's tasks, and a watcher that tells success, partial success and
// failure apart. The REST calls live in import_api.cpp; the pure parts
// (validate_import, judge_import) in import_judge.cpp.
//
// Why a watcher and not "wait for active": Glance reports an import's
// outcome in three places and none suffices alone (measured on Glance 25.1):
// - a store that fails with all_stores_must_succeed leaves the image
//   `importing` for good, its name in os_glance_failed_import, and only the
//   task says "failure";
// - without all_stores_must_succeed the image becomes `active` with the
//   failed store in os_glance_failed_import (a partial success);
// - when every requested store fails the image goes back to `queued`;
// - a failed image_conversion leaves the image `importing` with
//   os_glance_failed_import "": only the task says it failed;
// - copy-image never leaves `active`: only "stores" and the task tell.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "glance/images_api.hpp"

namespace imgtool::glance {

// One entry of GET /v2/info/stores.
struct StoreInfo {
  std::string id;
  std::string description;
  bool is_default = false;  // Glance sends "default": "true" (a string) on one store
  bool read_only = false;   // an http store, say: no import can go there
};

// What to ask of POST /v2/images/{id}/import.
struct ImportRequest {
  std::string method = "glance-direct";  // or "web-download", "copy-image"
  std::vector<std::string> stores;       // empty: the default store (or every store with all_stores)
  bool all_stores = false;
  // true: one failed store fails the whole import (the image stays
  // `importing`); false: the image becomes active in the stores that worked.
  bool all_stores_must_succeed = true;
  std::string uri;  // web-download: where Glance fetches the data
};

enum class ImportResult {
  Success,  // active, and every requested store has the data
  Partial,  // active, some requested stores failed (only with all_stores_must_succeed = false)
  Failure,  // the import failed (the image may be `importing`, `queued` or gone)
};

const char* to_string(ImportResult r) noexcept;

struct ImportOutcome {
  ImportResult result = ImportResult::Failure;
  nlohmann::json image;             // the last image record seen
  std::vector<std::string> landed;  // requested stores (all of them for the default store) holding the data
  std::vector<std::string> failed;  // requested stores in os_glance_failed_import
  std::string task_message;         // the import task's "message" (why it failed, "Copied 1 MiB")
  std::string task_status;          // the import task's status ("" if Glance showed none)
  std::string status() const;       // image["status"]
};

// What one look at the image and its tasks says (judge_import()).
struct ImportProgress {
  bool done = false;      // `outcome` is final
  bool started = false;   // the import was seen under way (status importing/uploading, or a task)
  ImportOutcome outcome;  // final when `done`, the current view otherwise
};

class ImportApi {
 public:
  explicit ImportApi(ImagesApi& images) : images_(images) {}

  // GET /v2/info/import: the methods this Glance enables, e.g.
  // {"glance-direct", "web-download", "copy-image"}. Empty when the server
  // has no import API (404: a Glance older than Queens, or import disabled).
  std::vector<std::string> import_methods();
  // GET /v2/info/stores. Empty when Glance runs without multi-store
  // (enabled_backends unset: it answers 404 "Multi backend is not supported";
  // 410 is taken the same way): then imports go to its one store, and an
  // ImportRequest must name none.
  std::vector<StoreInfo> stores();

  // POST /v2/images/{id}/import (202). Returns Glance's request id
  // (x-openstack-request-id), which its import task records as "request_id";
  // wait_for_import() uses it to tell this import's task from earlier ones.
  // Every refusal is one Error line: 403 on copy-image names the admin role
  // Glance's default policy requires; 409 (an unknown store, an import
  // already running, an image in the wrong state); 400 on web-download
  // ("Glance refused the URL: ...", e.g. its import filtering).
  std::string import(const std::string& id, const ImportRequest& req);

  // GET /v2/images/{id}/tasks: {"tasks": [...]} as Glance sends it (newest
  // first; every import the image ever had).
  nlohmann::json tasks(const std::string& id);

  // Polls GET image and GET its tasks every `poll` until judge_import() says
  // the import of `req` ended, and returns the outcome (a failure is an
  // outcome, not an exception: the caller decides about the image). Throws
  // Error(Http) naming the image and its status after `timeout`,
  // Error(Interrupted) at a signal/cancel (checked at least every 100 ms).
  // Call it after import() accepted the request.
  ImportOutcome wait_for_import(const std::string& id, const ImportRequest& req, std::chrono::seconds timeout,
                                std::chrono::milliseconds poll = std::chrono::milliseconds(300));

 private:
  ImagesApi& images_;
  std::string last_image_id_, last_request_id_;  // import()'s, for wait_for_import()
};

// Before anything is created: Error(Usage) when `req` asks for a method the
// server does not offer or a store it does not have (or a read-only one),
// naming it and listing what the server offers; also for stores named to a
// Glance without multi-store (`stores` empty) and for web-download without a
// URI. `methods` empty (no import API) refuses every import.
void validate_import(const std::vector<std::string>& methods, const std::vector<StoreInfo>& stores,
                     const ImportRequest& req);

// One look at an import: `image` (GET /v2/images/{id}) and `tasks` (GET
// .../tasks) judged for `req`. `request_id` picks this import's task (else
// the image's os_glance_import_task, else the newest task); `seen_started`:
// an earlier look saw it under way (so `queued` now means it fell back).
// `all_store_ids`: the server's stores, for req.all_stores.
ImportProgress judge_import(const nlohmann::json& image, const nlohmann::json& tasks,
                            const ImportRequest& req, const std::string& request_id, bool seen_started,
                            const std::vector<std::string>& all_store_ids);

// "a,b" (Glance's "stores", os_glance_failed_import, ...) -> {"a", "b"}.
std::vector<std::string> split_store_list(const std::string& s);

}  // namespace imgtool::glance
