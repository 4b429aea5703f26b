// Glance at scale through the CLI, against the real services
// (tests/glance/glance-dev.sh: a main Glance with stores fast, slow and cold,
// glance-two in RegionTwo converting imports to raw, a web server):
// - imports checked against the server's stores before anything exists,
//   landing in every store asked for, verified;
// - a store that fails: all or nothing by default (the image is deleted and
//   the failure seen at once, not after a timeout), --allow-failure keeps
//   the stores that worked and names the failed one;
// - a server-converted import is verified, never deleted;
// - web-download verified against imgtool's own read of the URL;
// - two clouds from one read; one of them failing deletes the other's image
//   unless --allow-failure;
// - copy-image as admin, and the one line a member gets.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

std::string with_clouds() {
  return clean_env({{"OS_CLIENT_CONFIG_FILE", env()->get("IMGTOOL_GLANCE_CLOUDS_YAML")}});
}

json parse(const RunResult& r) {
  return json::parse(r.out, nullptr, false);
}

std::string qcow2_image(const TempDir& t, const std::string& name = "d.qcow2") {
  const std::string raw = t.file("src.raw"), q = t.file(name);
  run_ok("head -c 3M /dev/urandom > " + sh_quote(raw) + " && truncate -s 16M " + sh_quote(raw));
  run_ok("qemu-img convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(q));
  return q;
}

std::string raw_image(const TempDir& t, const std::string& name = "d.raw") {
  const std::string raw = t.file(name);
  run_ok("head -c 2M /dev/urandom > " + sh_quote(raw));
  return raw;
}

std::vector<std::string> strings(const json& a) {
  std::vector<std::string> v;
  if (a.is_array())
    for (const auto& x : a) v.push_back(x.get<std::string>());
  std::sort(v.begin(), v.end());
  return v;
}

// The tests that break a store mend it whatever happens.
class GlanceScale : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!env()) return;
    for (const auto& [name, two] : broken_) mend_store(name, two);
  }
  void break_it(const std::string& name, bool two = false) {
    broken_.emplace_back(name, two);
    break_store(name, two);
  }
  std::vector<std::pair<std::string, bool>> broken_;
};

TEST_F(GlanceScale, ImportToTwoStoresLandsInBothAndIsVerified) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string name = unique_name("stores");
  RunResult r =
      run(clean_env(admin_vars()) + imgtool() + " publish --output json --store fast --store cold --name " +
          name + " " + sh_quote(raw_image(t)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(strings(j["stores"]), (std::vector<std::string>{"cold", "fast"}));
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["status"], "active");
  EXPECT_EQ(j["verification"], "size, checksum, sha512");
  glance_delete(j["id"]);
}

TEST_F(GlanceScale, AllStoresLandsInEveryStore) {
  REQUIRE_GLANCE();
  TempDir t;
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --output json --all-stores --name " +
                    unique_name("all-stores") + " " + sh_quote(raw_image(t)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(strings(j["stores"]), (std::vector<std::string>{"cold", "fast", "slow"}));
  glance_delete(j["id"]);
}

TEST_F(GlanceScale, UnknownStoreIsRefusedBeforeAnythingIsCreated) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string name = unique_name("unknown-store");
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --store nowhere --name " + name + " " +
                    sh_quote(raw_image(t)));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fast"), std::string::npos) << r.err;  // what the server offers
  EXPECT_EQ(count_named(name), 0u);
}

TEST_F(GlanceScale, AFailingStoreDeletesTheImageAtOnceUnlessFailureIsAllowed) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = raw_image(t);
  break_it("slow");
  const std::string name = unique_name("failing-store");
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --store fast --store slow --name " +
                    name + " " + sh_quote(raw));
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(secs.count(), 60) << "the failure must be seen from the image and its tasks, not by a timeout";
  EXPECT_NE(r.err.find("slow"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);

  const std::string kept = unique_name("failing-store-allowed");
  r = run(clean_env(admin_vars()) + imgtool() +
          " publish --output json --allow-failure --store fast --store slow --name " + kept + " " +
          sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(strings(j["stores"]), std::vector<std::string>{"fast"});
  EXPECT_EQ(strings(j["stores_failed"]), std::vector<std::string>{"slow"});
  EXPECT_EQ(j["verified"], true);
  EXPECT_NE(r.err.find("slow"), std::string::npos) << r.err;
  glance_delete(j["id"]);
}

TEST_F(GlanceScale, AnImportGlanceConvertedIsVerifiedNotDeleted) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string q = qcow2_image(t);
  const std::string name = unique_name("converted");
  RunResult r = run(clean_env(password_vars("ADMIN", glance_two_region())) + imgtool() +
                    " publish --import --output json --name " + name + " " + sh_quote(q));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(j["disk_format"], "raw");
  EXPECT_EQ(j["size"], 16u << 20);
  EXPECT_EQ(j["verified"], true);
  EXPECT_NE(j["verification"].get<std::string>().find("converted by Glance"), std::string::npos) << r.out;
  // The hash Glance computed over its raw is that of qemu-img's raw.
  const std::string raw = t.file("check.raw");
  run_ok("qemu-img convert -O raw " + sh_quote(q) + " " + sh_quote(raw));
  EXPECT_EQ(j["checksum"], first_word(run_ok("md5sum " + sh_quote(raw))));
  json im = glance_get("images/" + j["id"].get<std::string>(), glance_two_url());
  EXPECT_EQ(im["status"], "active");
  glance_delete(j["id"], glance_two_url());
}

TEST_F(GlanceScale, WebDownloadIsVerifiedAgainstImgtoolsOwnRead) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string file = unique_name("web") + ".raw";
  run_ok("head -c 1M /dev/urandom > " + sh_quote(web_dir() + "/" + file));
  const std::string url = web_url() + "/" + file;
  RunResult r =
      run(clean_env(admin_vars()) + imgtool() + " publish --output json --web-download " + sh_quote(url));
  run("rm -f " + sh_quote(web_dir() + "/" + file));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["size"], 1u << 20);
  EXPECT_EQ(j["checksum"], j["local_md5"]);
  glance_delete(j["id"]);
}

TEST_F(GlanceScale, TwoCloudsFromOneRead) {
  REQUIRE_GLANCE();
  TempDir t;
  RunResult r =
      run(with_clouds() + imgtool() +
          " publish --output json --os-cloud glance-dev-admin --os-cloud glance-dev-admin-two --name " +
          unique_name("two-clouds") + " " + sh_quote(qcow2_image(t)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  ASSERT_EQ(j["targets"].size(), 2u);
  for (const auto& x : j["targets"]) {
    EXPECT_EQ(x["verified"], true) << x;
    EXPECT_EQ(x["status"], "active") << x;
    EXPECT_EQ(x["os_hash_value"], j["local_sha512"]) << x;
  }
  EXPECT_EQ(glance_get("images/" + j["targets"][0]["id"].get<std::string>())["status"], "active");
  EXPECT_EQ(glance_get("images/" + j["targets"][1]["id"].get<std::string>(), glance_two_url())["status"],
            "active");
  glance_delete(j["targets"][0]["id"]);
  glance_delete(j["targets"][1]["id"], glance_two_url());
}

TEST_F(GlanceScale, OneCloudFailingDeletesTheOthersImageUnlessFailureIsAllowed) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string q = qcow2_image(t);
  break_it(glance_two_stores().front(), /*two=*/true);  // glance-two's default store
  const std::string name = unique_name("one-cloud-fails");
  RunResult r = run(with_clouds() + imgtool() +
                    " publish --os-cloud glance-dev-admin --os-cloud glance-dev-admin-two --name " + name +
                    " " + sh_quote(q));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("glance-dev-admin-two"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u) << r.err;  // RegionOne's image was deleted too
  json two = glance_get("images?name=" + name, glance_two_url());
  EXPECT_EQ(two["images"].size(), 0u) << two;

  const std::string kept = unique_name("one-cloud-fails-allowed");
  r = run(
      with_clouds() + imgtool() +
      " publish --output json --allow-failure --os-cloud glance-dev-admin --os-cloud glance-dev-admin-two "
      "--name " +
      kept + " " + sh_quote(q));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  ASSERT_EQ(j["targets"].size(), 2u);
  EXPECT_EQ(j["targets"][0]["verified"], true);
  EXPECT_TRUE(j["targets"][1]["error"].is_string()) << j;
  EXPECT_EQ(count_named(kept), 1u);
  EXPECT_EQ(glance_get("images?name=" + kept, glance_two_url())["images"].size(), 0u);
  glance_delete(j["targets"][0]["id"]);
}

TEST_F(GlanceScale, CopyImageAsAdminAndTheLineAMemberGets) {
  REQUIRE_GLANCE();
  TempDir t;
  RunResult r =
      run(clean_env(admin_vars()) + imgtool() + " publish --output json --public --store fast --name " +
          unique_name("copy") + " " + sh_quote(raw_image(t)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = parse(r)["id"];
  r = run(clean_env(password_vars("DEMO")) + imgtool() + " copy-image " + id + " --store cold");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("admin"), std::string::npos) << r.err;
  r = run(clean_env(admin_vars()) + imgtool() + " copy-image --output json " + id + " --store cold");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(strings(j["stores"]), (std::vector<std::string>{"cold", "fast"}));
  EXPECT_EQ(j["verified"], true);
  glance_delete(id);
}

}  // namespace
}  // namespace imgtool::test::glance
