// imgtool::copy_image: an existing image into more stores (import method
// copy-image), checked against the server's stores first and verified after.
#include "glance/credentials.hpp"
#include "glance/images_api.hpp"
#include "glance/import_api.hpp"
#include "glance/keystone.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

CopyImageResult copy_image(const std::string& id_or_name, const CopyImageOptions& opts) {
  CancelScope cancel_scope(opts.cancel);
  if (opts.stores.empty() && !opts.all_stores)
    throw Error(ErrorKind::Usage, "", "copy-image needs --store NAME (repeatable) or --all-stores");
  if (!opts.stores.empty() && opts.all_stores)
    throw Error(ErrorKind::Usage, "", "choose --store or --all-stores, not both");
  std::vector<std::string> notes;
  glance::Credentials creds = glance::connection_credentials(opts.connection, notes);
  for (const auto& n : notes)
    if (opts.notice) opts.notice(n);
  glance::Session session(creds, opts.connection.debug);
  glance::ImagesApi api(session);
  glance::ImportApi ia(api);

  CopyImageResult r;
  const GlanceImageRecord before = glance::parse_image_record(api.find(id_or_name));
  r.stores_before = before.stores;
  if (before.status != "active")
    throw Error(ErrorKind::Usage, before.id,
                "image " + before.id + " is " + before.status + ", not active: nothing to copy");

  glance::ImportRequest req;
  req.method = "copy-image";
  req.all_stores_must_succeed = !opts.allow_failure;
  const std::vector<glance::StoreInfo> server_stores = ia.stores();
  if (opts.all_stores) {
    // Only the stores it is not in yet: Glance refuses a copy to a store
    // that already holds the image.
    for (const auto& s : server_stores) {
      bool has = false;
      for (const auto& b : before.stores) has = has || b == s.id;
      if (!has && !s.read_only) req.stores.push_back(s.id);
    }
    if (req.stores.empty())
      throw Error(ErrorKind::Usage, before.id,
                  "image " + before.id + " is already in every store (" + joined(before.stores) + ")");
  } else {
    for (const auto& s : opts.stores) {
      for (const auto& b : before.stores)
        if (b == s)
          throw Error(ErrorKind::Usage, before.id, "image " + before.id + " is already in store " + s);
      req.stores.push_back(s);
    }
  }
  glance::validate_import(ia.import_methods(), server_stores, req);
  ia.import(before.id, req);
  if (opts.no_wait) {
    r.image = glance::parse_image_record(api.get(before.id));
    return r;
  }
  const glance::ImportOutcome out =
      ia.wait_for_import(before.id, req, std::chrono::seconds(opts.wait_timeout_seconds));
  r.image = glance::parse_image_record(out.image);
  if (out.result == glance::ImportResult::Failure) {
    std::string why = "copying image " + before.id + " to " + joined(req.stores) + " failed";
    if (!out.failed.empty()) why += " (failed stores: " + joined(out.failed) + ")";
    if (!out.task_message.empty()) why += "; task: " + out.task_message;
    why += "; the image is still in " + joined(r.image.stores.empty() ? before.stores : r.image.stores);
    throw Error(ErrorKind::Http, before.id, why);
  }
  r.stores_failed = out.failed;
  // The copy must not have changed the data Glance describes.
  std::vector<std::string> diffs;
  if (r.image.checksum != before.checksum) diffs.push_back("checksum");
  if (r.image.os_hash_value != before.os_hash_value) diffs.push_back("os_hash_value");
  if (r.image.size != before.size) diffs.push_back("size");
  if (!diffs.empty())
    throw Error(ErrorKind::Mismatch, before.id,
                "image " + before.id + " changed during the copy: " + joined(diffs) + " differ from before");
  r.verified = true;
  return r;
}

}  // namespace imgtool
