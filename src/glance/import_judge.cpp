// The pure half of import_api.hpp: checking an ImportRequest against what the
// server offers, and judging one look at an import (image record + tasks).
#include <algorithm>

#include "glance/import_api.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {

using nlohmann::json;

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string offered_stores(const std::vector<StoreInfo>& stores) {
  std::string out;
  for (const auto& s : stores) {
    if (!out.empty()) out += ", ";
    out += s.id;
    if (s.is_default) out += " (default)";
    if (s.read_only) out += " (read-only)";
  }
  return out;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// This import's task among the image's: by Glance request id, else the
// task the image is locked by, else the newest (ISO times sort as strings).
const json* pick_task(const json& tasks, const std::string& request_id, const std::string& lock_id) {
  if (!tasks.is_object() || !tasks.contains("tasks") || !tasks["tasks"].is_array()) return nullptr;
  const json* newest = nullptr;
  bool has_request_ids = false;  // Glance records them since Wallaby
  for (const auto& t : tasks["tasks"]) {
    if (!t.is_object()) continue;
    if (!request_id.empty() && str(t, "request_id") == request_id) return &t;
    if (!lock_id.empty() && str(t, "id") == lock_id) return &t;
    has_request_ids = has_request_ids || t.contains("request_id");
    if (newest == nullptr || str(t, "created_at") > str(*newest, "created_at")) newest = &t;
  }
  // A request id or lock that matched nothing: that task is not listed, and
  // the newest one is an earlier import's.
  if ((!request_id.empty() && has_request_ids) || !lock_id.empty()) return nullptr;
  return newest;
}

}  // namespace

const char* to_string(ImportResult r) noexcept {
  switch (r) {
    case ImportResult::Success: return "success";
    case ImportResult::Partial: return "partial";
    case ImportResult::Failure: return "failure";
  }
  return "failure";
}

std::string ImportOutcome::status() const {
  return image.is_object() ? str(image, "status") : std::string();
}

std::vector<std::string> split_store_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

void validate_import(const std::vector<std::string>& methods, const std::vector<StoreInfo>& stores,
                     const ImportRequest& req) {
  if (methods.empty())
    throw Error(ErrorKind::Usage, "",
                "this Glance offers no image import (GET /v2/info/import lists no method): upload the data "
                "instead");
  if (!contains(methods, req.method))
    throw Error(ErrorKind::Usage, "",
                "import method '" + req.method +
                    "' is not enabled on this Glance (it offers: " + join(methods) + ")");
  if (req.method == "web-download" && req.uri.empty())
    throw Error(ErrorKind::Usage, "", "web-download needs the URI Glance should fetch the data from");
  if (req.method != "web-download" && !req.uri.empty())
    throw Error(ErrorKind::Usage, "", "a URI goes with web-download only, not with " + req.method);
  if (req.all_stores && !req.stores.empty())
    throw Error(ErrorKind::Usage, "", "name stores or ask for all stores, not both");
  if ((!req.stores.empty() || req.all_stores) && stores.empty())
    throw Error(
        ErrorKind::Usage, "",
        "this Glance has no multi-store (GET /v2/info/stores lists none): name no store, the image goes "
        "to its only one");
  if (req.method == "copy-image" && req.stores.empty() && !req.all_stores)
    throw Error(ErrorKind::Usage, "", "copy-image needs the store(s) to copy the image to");
  for (const auto& want : req.stores) {
    auto it = std::find_if(stores.begin(), stores.end(), [&](const StoreInfo& s) { return s.id == want; });
    if (it == stores.end())
      throw Error(ErrorKind::Usage, "",
                  "no store '" + want + "' on this Glance (its stores: " + offered_stores(stores) + ")");
    if (it->read_only)
      throw Error(ErrorKind::Usage, "",
                  "store '" + want +
                      "' is read-only: no import can go there (its stores: " + offered_stores(stores) + ")");
  }
}

ImportProgress judge_import(const json& image, const json& tasks, const ImportRequest& req,
                            const std::string& request_id, bool seen_started,
                            const std::vector<std::string>& all_store_ids) {
  ImportProgress p;
  ImportOutcome& o = p.outcome;
  o.image = image;
  const std::string status = str(image, "status");
  const auto in_stores = split_store_list(str(image, "stores"));
  const auto failed_all = split_store_list(str(image, "os_glance_failed_import"));
  const auto importing = split_store_list(str(image, "os_glance_importing_to_stores"));
  const json* task = pick_task(tasks, request_id, str(image, "os_glance_import_task"));
  if (task != nullptr) {
    o.task_status = str(*task, "status");
    o.task_message = str(*task, "message");
  }

  // No stores named: the default store (its name is in "stores" once it
  // landed), or every store with all_stores.
  std::vector<std::string> requested = req.stores;
  if (requested.empty() && req.all_stores) requested = all_store_ids;
  if (requested.empty()) {
    o.landed = in_stores;
    o.failed = failed_all;
  } else {
    for (const auto& s : requested) {
      if (contains(in_stores, s)) o.landed.push_back(s);
      if (contains(failed_all, s)) o.failed.push_back(s);
    }
  }
  const bool task_ended = o.task_status == "success" || o.task_status == "failure";
  p.started = seen_started || status == "importing" || task_ended ||
              (task != nullptr && !request_id.empty() && str(*task, "request_id") == request_id);

  auto finish = [&](ImportResult r) {
    p.done = true;
    o.result = r;
    return p;
  };
  if (status == "killed" || status == "deleted") return finish(ImportResult::Failure);
  if (o.task_status == "failure") return finish(ImportResult::Failure);
  // The image stays `importing` then: only the failed store says it.
  if (req.all_stores_must_succeed && !o.failed.empty()) return finish(ImportResult::Failure);
  // Every store failed: Glance gives the image back its pre-import state and
  // drops its import lock. A web-download is `queued` while it runs too, but
  // holds the lock (os_glance_import_task) until its task ends.
  const bool locked = !str(image, "os_glance_import_task").empty();
  if (status == "queued" && p.started && (task_ended || !locked)) return finish(ImportResult::Failure);
  if (status != "active") return p;
  const bool pending = !importing.empty() || o.task_status == "pending" || o.task_status == "processing";
  bool accounted = true;
  for (const auto& s : requested) accounted = accounted && (contains(o.landed, s) || contains(o.failed, s));
  // copy-image: the image was active before; its task must have been seen.
  if (req.method == "copy-image" && task == nullptr) accounted = false;
  if (pending || !accounted) return p;
  return finish(o.failed.empty() ? ImportResult::Success : ImportResult::Partial);
}

}  // namespace imgtool::glance
