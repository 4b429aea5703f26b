// judge_import() and validate_import() on the image records and task lists
// Glance 25.1 gives (shapes copied from the harness's Glance; the same cases
// run against it in tests/glance/import_api_test.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "glance/import_api.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

using nlohmann::json;

json image(const std::string& status, const std::string& stores = "", const std::string& failed = "",
           const std::string& importing = "", const std::string& lock = "") {
  json j{{"id", "im"}, {"status", status}};
  if (!stores.empty()) j["stores"] = stores;
  j["os_glance_failed_import"] = failed;
  j["os_glance_importing_to_stores"] = importing;
  if (!lock.empty()) j["os_glance_import_task"] = lock;
  return j;
}

json task(const std::string& id, const std::string& status, const std::string& request_id,
          const std::string& created, const std::string& message = "") {
  return {{"id", id},
          {"status", status},
          {"request_id", request_id},
          {"created_at", created},
          {"message", message}};
}

json tasks(std::initializer_list<json> t) {
  json list = json::array();
  for (const auto& one : t) list.push_back(one);
  return {{"tasks", list}};
}

ImportRequest to(std::vector<std::string> stores, bool must = true, std::string method = "glance-direct") {
  ImportRequest r;
  r.method = std::move(method);
  r.stores = std::move(stores);
  r.all_stores_must_succeed = must;
  return r;
}

TEST(GlanceImportJudge, SplitStoreList) {
  EXPECT_EQ(split_store_list("fast, cold,"), (std::vector<std::string>{"fast", "cold"}));
  EXPECT_TRUE(split_store_list("").empty());
  EXPECT_TRUE(split_store_list(" , ").empty());
}

TEST(GlanceImportJudge, BothStoresLandedIsSuccess) {
  auto p = judge_import(image("active", "fast,cold"), tasks({task("t", "success", "r", "2")}),
                        to({"fast", "cold"}), "r", true, {});
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.outcome.result, ImportResult::Success);
  EXPECT_EQ(p.outcome.landed, (std::vector<std::string>{"fast", "cold"}));
}

TEST(GlanceImportJudge, ActiveWhileStillImportingIsNotDone) {
  auto p = judge_import(image("active", "fast", "", "slow"), tasks({task("t", "processing", "r", "2")}),
                        to({"fast", "slow"}, false), "r", true, {});
  EXPECT_FALSE(p.done);
}

TEST(GlanceImportJudge, FailedStoreWithMustSucceedIsFailureWhileImporting) {
  auto p = judge_import(image("importing", "fast", "slow"), tasks({task("t", "processing", "r", "2")}),
                        to({"fast", "slow"}), "r", true, {});
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.outcome.result, ImportResult::Failure);
  EXPECT_EQ(p.outcome.failed, std::vector<std::string>{"slow"});
}

TEST(GlanceImportJudge, FailedStoreWithoutMustSucceedIsPartialOnceActive) {
  auto p = judge_import(image("active", "fast", "slow"), tasks({task("t", "success", "r", "2")}),
                        to({"fast", "slow"}, false), "r", true, {});
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.outcome.result, ImportResult::Partial);
}

TEST(GlanceImportJudge, QueuedIsAFailureOnlyOnceTheImportWasSeen) {
  // web-download: queued before the flow starts, and again when it failed.
  auto before = judge_import(image("queued"), tasks({}), to({}, true, "web-download"), "", false, {});
  EXPECT_FALSE(before.done);
  EXPECT_FALSE(before.started);
  auto after = judge_import(image("queued"), tasks({}), to({}, true, "web-download"), "", true, {});
  ASSERT_TRUE(after.done);
  EXPECT_EQ(after.outcome.result, ImportResult::Failure);
  // A web-download under way: queued, its task running, the image locked.
  auto running = judge_import(image("queued", "", "", "", "t"), tasks({task("t", "processing", "r", "2")}),
                              to({}, true, "web-download"), "r", true, {});
  EXPECT_TRUE(running.started);
  EXPECT_FALSE(running.done);
  auto ours = judge_import(image("queued"), tasks({task("t", "processing", "r", "2")}), to({"slow"}, false),
                           "r", false, {});
  EXPECT_TRUE(ours.started);
  EXPECT_TRUE(ours.done);
}

TEST(GlanceImportJudge, AFailedConversionIsReadFromTheTaskAlone) {
  auto p =
      judge_import(image("importing", "", ""),
                   tasks({task("t", "failure", "r", "2", "Image conversion failed")}), to({}), "r", true, {});
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.outcome.result, ImportResult::Failure);
  EXPECT_TRUE(p.outcome.failed.empty());
  EXPECT_EQ(p.outcome.task_message, "Image conversion failed");
}

TEST(GlanceImportJudge, CopyImageWaitsForItsOwnTask) {
  ImportRequest copy = to({"cold"}, true, "copy-image");
  // The first import's successful task is not this copy's.
  json old = tasks({task("t1", "success", "r1", "1")});
  EXPECT_FALSE(judge_import(image("active", "fast"), old, copy, "r2", false, {}).done);
  json now = tasks({task("t2", "processing", "r2", "2"), task("t1", "success", "r1", "1")});
  EXPECT_FALSE(judge_import(image("active", "fast", "", "cold"), now, copy, "r2", false, {}).done);
  json done = tasks({task("t2", "success", "r2", "2", "Copied 1 MiB"), task("t1", "success", "r1", "1")});
  auto p = judge_import(image("active", "fast,cold"), done, copy, "r2", true, {});
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.outcome.result, ImportResult::Success);
  EXPECT_EQ(p.outcome.task_message, "Copied 1 MiB");
  // Without the request id, the task the image is locked by.
  json locked = tasks({task("t2", "failure", "", "2", "boom"), task("t1", "success", "", "1")});
  auto q = judge_import(image("active", "fast", "", "cold", "t2"), locked, copy, "", false, {});
  ASSERT_TRUE(q.done);
  EXPECT_EQ(q.outcome.result, ImportResult::Failure);
}

TEST(GlanceImportJudge, AllStoresAreTheServersStores) {
  ImportRequest all;
  all.all_stores = true;
  auto p = judge_import(image("active", "fast,slow"), tasks({task("t", "success", "r", "2")}), all, "r", true,
                        {"fast", "slow", "cold"});
  EXPECT_FALSE(p.done);  // cold neither landed nor failed
}

TEST(GlanceImportValidate, RefusalsNameWhatTheServerOffers) {
  std::vector<std::string> methods{"glance-direct", "web-download", "copy-image"};
  std::vector<StoreInfo> stores{{"fast", "", true, false}, {"http", "", false, true}};
  auto refused = [&](const ImportRequest& r, const std::string& text) {
    try {
      validate_import(methods, stores, r);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(e.message().find(text), std::string::npos) << e.message();
    }
  };
  refused(to({"nosuch"}), "no store 'nosuch' on this Glance (its stores: fast (default), http (read-only))");
  refused(to({"http"}), "store 'http' is read-only");
  refused(to({"fast"}, true, "glance-download"), "it offers: glance-direct, web-download, copy-image");
  refused(to({}, true, "web-download"), "web-download needs the URI");
  refused(to({}, true, "copy-image"), "copy-image needs the store(s)");
  ImportRequest uri = to({});
  uri.uri = "http://x/y";
  refused(uri, "a URI goes with web-download only");
  EXPECT_NO_THROW(validate_import(methods, stores, to({"fast"})));
  try {
    validate_import(methods, {}, to({"fast"}));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("no multi-store"), std::string::npos) << e.message();
  }
  EXPECT_NO_THROW(validate_import(methods, {}, to({})));
  EXPECT_THROW(validate_import({}, stores, to({})), Error);
}

}  // namespace
}  // namespace imgtool::glance
