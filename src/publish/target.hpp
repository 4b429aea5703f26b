#pragma once
// One cloud or region that publish sends the image to: its Keystone session,
// the image created there and the steps applied to it. Every target gets the
// same bytes (fanout.hpp); what happens to its image (create, upload or
// import, verification, protection, deletion after a failure) is here.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "glance/http.hpp"
#include "glance/images_api.hpp"
#include "glance/import_api.hpp"
#include "glance/keystone.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "publish/verify.hpp"

namespace imgtool::publishing {

class Target {
 public:
  Target(GlanceConnection conn, const PublishOptions& opts);

  // Credentials, token, endpoint; with an import, the server's import
  // methods and stores are read and the request checked against them, all
  // before anything is created. Throws (Usage, Auth, Http).
  void connect();
  glance::ImagesApi& api() { return *api_; }
  glance::Session& session() { return *session_; }

  // POST /v2/images with an id chosen here, so that a create whose answer
  // never arrived can still be deleted.
  void create(nlohmann::json body);
  // PUT /file, or /stage for a glance-direct import, pulling from `reader`.
  void upload(const glance::BodyReader& reader, std::optional<uint64_t> size);
  // false for web-download: Glance fetches the data itself.
  bool uploads() const;
  // The import (glance-direct after the stage, or web-download) and, unless
  // no_wait, its outcome: landed and failed stores, failure from the image
  // and its tasks. A failure throws; with allow_failure a failed store that
  // is not the only one is recorded in result.stores_failed instead.
  void import_and_wait();
  // GET the record, compare it with what was sent; Error(Mismatch) lists
  // the differences.
  void verify(const SentImage& sent, const OtherDigests& other);
  // PATCH protected=true (last: a protected image cannot be deleted).
  void protect();
  // After a failure: deletes the image (unless keep_on_error) and returns
  // the words for the error message ("; image X (status saving) deleted").
  // Not stopped by the interrupt that caused it.
  std::string clean_up(const Error& why);

  bool created() const { return !id_.empty(); }  // a create was sent: an image may exist
  const std::string& id() const { return id_; }
  // How this target is named in messages about several targets.
  std::string label() const;

  PublishTargetResult result;

 private:
  void note(const std::string& s) const;

  GlanceConnection conn_;
  const PublishOptions& opts_;
  std::unique_ptr<glance::Session> session_;
  std::unique_ptr<glance::ImagesApi> api_;
  std::string id_;
  bool create_refused_ = false;   // Glance answered the create with an error status
  glance::ImportRequest import_;  // with an import: what is asked of POST .../import
};

}  // namespace imgtool::publishing
