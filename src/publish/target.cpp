// One publish target (target.hpp).
#include "publish/target.hpp"

#include "glance/credentials.hpp"
#include "imgtool/cancel.hpp"
#include "publish/prepare.hpp"

namespace imgtool::publishing {

using nlohmann::json;

Target::Target(GlanceConnection conn, const PublishOptions& opts) : conn_(std::move(conn)), opts_(opts) {
  result.cloud = conn_.cloud;
  result.region = conn_.region;
}

void Target::note(const std::string& s) const {
  if (opts_.notice) opts_.notice(s);
}

std::string Target::label() const {
  std::string l = conn_.cloud.empty() ? std::string("OS_* environment") : conn_.cloud;
  if (!result.region.empty()) l += " (" + result.region + ")";
  return l;
}

void Target::connect() {
  std::vector<std::string> notes;
  glance::Credentials creds = glance::connection_credentials(conn_, notes);
  for (const auto& n : notes) note(n);
  if (result.region.empty()) result.region = creds.region;
  session_ = std::make_unique<glance::Session>(creds, conn_.debug);
  api_ = std::make_unique<glance::ImagesApi>(*session_);
  result.endpoint = api_->base_url();
  if (!uses_import(opts_)) return;
  // The import is checked against what this Glance offers before anything
  // is created there: an unknown store or method is one line, no image.
  import_.method = opts_.web_download_uri.empty() ? "glance-direct" : "web-download";
  import_.uri = opts_.web_download_uri;
  import_.stores = opts_.stores;
  import_.all_stores = opts_.all_stores;
  // All or nothing unless --allow-failure: Glance itself then refuses to
  // make the image active when one store fails.
  import_.all_stores_must_succeed = !opts_.allow_failure;
  glance::ImportApi ia(*api_);
  const std::vector<std::string> methods = ia.import_methods();
  const std::vector<glance::StoreInfo> stores = ia.stores();
  try {
    glance::validate_import(methods, stores, import_);
  } catch (const Error& e) {
    throw Error(e.kind(), e.path(), "[" + label() + "] " + e.message());
  }
}

void Target::create(json body) {
  throw_if_interrupted();
  id_ = glance::ImagesApi::new_image_id();
  body["id"] = id_;
  json created;
  try {
    created = api_->create(body);
  } catch (const glance::HttpTransportError&) {
    throw;
  } catch (const Error& e) {
    create_refused_ = e.kind() != ErrorKind::Interrupted;
    throw;
  }
  result.image = glance::parse_image_record(created);
  if (result.image.id != id_)
    throw Error(ErrorKind::Http, "", "Glance created image " + result.image.id + " instead of " + id_);
}

void Target::upload(const glance::BodyReader& reader, std::optional<uint64_t> size) {
  api_->upload(id_, reader, size, /*stage=*/uses_import(opts_));
}

bool Target::uploads() const {
  return opts_.web_download_uri.empty();
}

void Target::import_and_wait() {
  glance::ImportApi ia(*api_);
  ia.import(id_, import_);
  if (opts_.no_wait) {
    result.image = glance::parse_image_record(api_->get(id_));
    result.verification = "not verified: the import was not waited for (--no-wait)";
    note("image " + id_ + " is being imported (status " + result.image.status +
         "); not verified: without --no-wait imgtool waits for active and compares the hashes");
    return;
  }
  // Failure is read from the image and its tasks together: a failed store
  // or conversion may leave the image `importing` for good.
  const glance::ImportOutcome out =
      ia.wait_for_import(id_, import_, std::chrono::seconds(opts_.wait_timeout_seconds));
  result.image = glance::parse_image_record(out.image);
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (out.result == glance::ImportResult::Failure) {
    std::string why = "the " + import_.method + " import of image " + id_ + " failed (status " + out.status();
    if (!out.failed.empty()) why += ", failed stores: " + list(out.failed);
    if (!out.task_message.empty()) why += ", task: " + out.task_message;
    throw Error(ErrorKind::Http, "", why + ")");
  }
  if (out.result == glance::ImportResult::Partial) {
    result.stores_failed = out.failed;
    note("[" + label() + "] image " + id_ + " landed in " + list(out.landed) + " but not in " +
         list(out.failed) + " (--allow-failure keeps it)");
  }
}

void Target::verify(const SentImage& sent, const OtherDigests& other) {
  if (!uses_import(opts_)) result.image = glance::parse_image_record(api_->get(id_));
  Verification v = verify_record(result.image, sent, other);
  for (const auto& n : v.notes) note(n);
  if (!v.differences.empty()) {
    std::string msg = "Glance image " + id_ + " differs from what was sent: ";
    for (size_t i = 0; i < v.differences.size(); ++i) msg += (i ? "; " : "") + v.differences[i];
    throw Error(ErrorKind::Mismatch, "", msg);
  }
  result.verified = true;
  result.verified_hash_algo = v.hash_algo;
  result.verification = v.what;
}

void Target::protect() {
  result.image = glance::parse_image_record(api_->protect(id_));
}

std::string Target::clean_up(const Error& why) {
  if (!created()) return "";
  session_->enter_cleanup();  // the interrupt that brought us here must not stop the cleanup
  // The cleanup requests are not cancellable: after the first signal they
  // still run (bounded by their timeouts). A second signal aborts them
  // (http.hpp), and the line then names the image left behind.
  const std::string left_behind = "; a second signal stopped the cleanup: image " + id_ +
                                  " is left in Glance (delete it with: openstack image delete " + id_ + ")";
  if (opts_.keep_on_error) return "; image " + id_ + " kept (--keep-on-error)";
  try {
    // A Glance worker that dies mid-upload leaves the image in "saving"
    // forever (nothing on the server resets it): say so, then delete it.
    const std::string left = api_->status_of(id_);
    std::string state;
    if (left == "saving" && why.kind() != ErrorKind::Interrupted)
      state = " (Glance had left it in status 'saving', which nothing on the server would ever reset)";
    else if (!left.empty())
      state = " (status " + left + ")";
    if (interrupt_count() > 1) return left_behind;
    // Several targets: this one may have been protected before another
    // failed; a protected image cannot be deleted, so that comes off first.
    if (result.image.protected_image) api_->protect(id_, false);
    if (api_->remove(id_)) return "; image " + id_ + state + " deleted";
    if (!create_refused_)
      return "; image " + id_ + " does not exist in Glance (never created, or already gone)";
    return "";
  } catch (const Error& e2) {
    return e2.kind() == ErrorKind::Interrupted ? left_behind
                                               : "; deleting image " + id_ + " failed too: " + e2.message();
  }
}

}  // namespace imgtool::publishing
