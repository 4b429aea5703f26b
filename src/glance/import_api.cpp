// The REST half of import_api.hpp: /v2/info/import, /v2/info/stores,
// POST .../import with its refusals as one line each, the tasks, and the
// polling loop around judge_import().
#include "glance/import_api.hpp"

#include <algorithm>

#include "glance/errors.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {

using nlohmann::json;

namespace {

json parse_object(const HttpResponse& r, const std::string& what) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(ErrorKind::Http, "", what + ": Glance's answer is not a JSON object");
  return j;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// "copy-image of image X to slow,cold" / "glance-direct import of image X".
std::string describe(const std::string& id, const ImportRequest& req) {
  std::string s = req.method + " import of image " + id;
  if (req.all_stores) s += " to all stores";
  if (!req.stores.empty()) s += " to " + join(req.stores);
  return s;
}

}  // namespace

std::vector<std::string> ImportApi::import_methods() {
  HttpRequest req;
  req.url = images_.base_url() + "/v2/info/import";
  req.timeout_seconds = 60;
  HttpResponse r = images_.call(req, "list import methods", {200, 404});
  std::vector<std::string> out;
  if (r.status == 404) return out;
  json j = parse_object(r, "list import methods");
  auto m = j.find("import-methods");
  if (m == j.end() || !m->is_object() || !m->contains("value") || !(*m)["value"].is_array()) return out;
  for (const auto& v : (*m)["value"])
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::vector<StoreInfo> ImportApi::stores() {
  HttpRequest req;
  req.url = images_.base_url() + "/v2/info/stores";
  req.timeout_seconds = 60;
  HttpResponse r = images_.call(req, "list stores", {200, 404, 410});
  std::vector<StoreInfo> out;
  if (r.status != 200) return out;
  json j = parse_object(r, "list stores");
  if (!j.contains("stores") || !j["stores"].is_array()) return out;
  // "default" and "read-only" come as the string "true" (or a boolean).
  auto truthy = [](const json& s, const char* key) {
    auto it = s.find(key);
    if (it == s.end()) return false;
    if (it->is_boolean()) return it->get<bool>();
    return it->is_string() && it->get<std::string>() == "true";
  };
  for (const auto& s : j["stores"]) {
    if (!s.is_object() || !s.contains("id") || !s["id"].is_string()) continue;
    StoreInfo info;
    info.id = s["id"].get<std::string>();
    if (s.contains("description") && s["description"].is_string())
      info.description = s["description"].get<std::string>();
    info.is_default = truthy(s, "default");
    info.read_only = truthy(s, "read-only");
    out.push_back(std::move(info));
  }
  return out;
}

std::string ImportApi::import(const std::string& id, const ImportRequest& ir) {
  HttpRequest req;
  req.method = "POST";
  req.url = images_.base_url() + "/v2/images/" + url_escape(id) + "/import";
  req.headers = {"Content-Type: application/json"};
  json method{{"name", ir.method}};
  if (!ir.uri.empty()) method["uri"] = ir.uri;
  json body{{"method", method}, {"all_stores_must_succeed", ir.all_stores_must_succeed}};
  if (!ir.stores.empty()) body["stores"] = ir.stores;
  if (ir.all_stores) body["all_stores"] = true;
  req.body = body.dump();
  req.timeout_seconds = 300;
  const std::string what = describe(id, ir);
  HttpResponse r = images_.call(req, what, {202, 400, 403, 409});
  if (r.status == 202) {
    last_image_id_ = id;
    last_request_id_ = r.header("x-openstack-request-id");
    return last_request_id_;
  }
  std::string server = server_message(r);
  std::string head = what + ": POST " + redact_url(req.url) + " -> HTTP " + std::to_string(r.status);
  if (r.status == 403 && ir.method == "copy-image")
    throw Error(ErrorKind::Http, "",
                head + " Forbidden: " + server +
                    " (copy-image needs the admin role under Glance's default policy: ask an administrator "
                    "to copy it, or import the data again to that store)");
  if (r.status == 400 && ir.method == "web-download")
    throw Error(ErrorKind::Http, ir.uri,
                "Glance refused the URL: " + redact_url(ir.uri) + ": " + server + " (" + what +
                    "; Glance fetches only what its [import_filtering_opts] allow)");
  if (r.status == 409)
    throw Error(ErrorKind::Http, "",
                head + " Conflict: " + server +
                    " (a store Glance does not have, an import of this image already running, or an image "
                    "in a state that allows no import)");
  throw http_error(what, req.method, req.url, r, images_.base_url());
}

json ImportApi::tasks(const std::string& id) {
  HttpRequest req;
  req.url = images_.base_url() + "/v2/images/" + url_escape(id) + "/tasks";
  req.timeout_seconds = 60;
  return parse_object(images_.call(req, "list the tasks of image " + id, {200}),
                      "list the tasks of image " + id);
}

ImportOutcome ImportApi::wait_for_import(const std::string& id, const ImportRequest& req,
                                         std::chrono::seconds timeout, std::chrono::milliseconds poll) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  std::vector<std::string> all_ids;
  if (req.all_stores)
    for (const auto& s : stores()) all_ids.push_back(s.id);
  const std::string request_id = id == last_image_id_ ? last_request_id_ : std::string();
  const std::string image_url = images_.base_url() + "/v2/images/" + url_escape(id);
  bool started = false;
  for (;;) {
    throw_if_interrupted();
    HttpRequest get;
    get.url = image_url;
    get.timeout_seconds = 60;
    HttpResponse r = images_.call(get, "show image " + id, {200, 404});
    ImportOutcome gone;
    if (r.status == 404) {
      // Deleted while importing (by someone else, or a cleanup).
      gone.image = json{{"id", id}, {"status", "deleted"}};
      return gone;
    }
    json image = parse_object(r, "show image " + id);
    // The tasks say what the image does not (a failed conversion, copy-image
    // progress); a Glance without the image tasks API (before Wallaby) or a
    // policy that hides them leaves the image record alone to judge by.
    HttpRequest tg;
    tg.url = image_url + "/tasks";
    tg.timeout_seconds = 60;
    HttpResponse tr = images_.call(tg, "list the tasks of image " + id, {200, 403, 404});
    json tasks = tr.status == 200 ? json::parse(tr.body, nullptr, false) : json();
    ImportProgress p = judge_import(image, tasks, req, request_id, started, all_ids);
    started = p.started;
    if (p.done) return p.outcome;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      const ImportOutcome& o = p.outcome;
      std::string m = describe(id, req) + ": not finished after " + std::to_string(timeout.count()) +
                      " s: image status '" + o.status() + "'";
      auto it = image.find("os_glance_importing_to_stores");
      const std::string importing = it != image.end() && it->is_string() ? it->get<std::string>() : "";
      if (!importing.empty()) m += ", still importing to " + importing;
      if (!o.landed.empty()) m += ", in store(s) " + join(o.landed);
      if (!o.task_status.empty()) m += ", task '" + o.task_status + "'";
      if (!o.task_message.empty()) m += " (" + o.task_message + ")";
      throw Error(ErrorKind::Http, "", m);
    }
    interruptible_sleep(
        std::min(poll, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
  }
}

}  // namespace imgtool::glance
