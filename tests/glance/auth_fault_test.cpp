// Credentials (password env, clouds.yaml, application credential, wrong
// password) and failures mid-publish (cut upload, SIGINT, hash mismatch):
// after a failure no image is left behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "glance/fault_proxy.hpp"
#include "glance/glance_env.hpp"
#include "glance/spare_glance.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

std::string make_data(const TempDir& t, const std::string& size = "2M") {
  std::string raw = t.file("d.raw");
  run_ok("head -c " + size + " /dev/urandom > " + sh_quote(raw));
  return raw;
}

std::string published_id(const RunResult& r) {
  json j = json::parse(r.out, nullptr, false);
  return j.is_object() ? j.value("id", "") : "";
}

TEST(GlanceAuth, CloudsYamlByOsCloud) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64K");
  std::string name = unique_name("clouds");
  RunResult r =
      run(clean_env({{"OS_CLIENT_CONFIG_FILE", env()->get("IMGTOOL_GLANCE_CLOUDS_YAML")}}) + imgtool() +
          " publish --output=json --os-cloud glance-dev-admin --name " + name + " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["status"], "active");
  glance_delete(published_id(r));
}

TEST(GlanceAuth, ApplicationCredentialIgnoresLeftoverProjectWithANote) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64K");
  std::string name = unique_name("appcred");
  const Env& e = *env();
  RunResult r = run(clean_env({{"OS_AUTH_URL", e.get("IMGTOOL_GLANCE_KEYSTONE_URL")},
                               {"OS_AUTH_TYPE", "v3applicationcredential"},
                               {"OS_APPLICATION_CREDENTIAL_ID", e.get("IMGTOOL_GLANCE_DEMO_AC_ID")},
                               {"OS_APPLICATION_CREDENTIAL_SECRET", e.get("IMGTOOL_GLANCE_DEMO_AC_SECRET")},
                               {"OS_PROJECT_NAME", "demo"}}) +
                    imgtool() + " publish --output=json --name " + name + " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: ignoring OS_PROJECT_NAME"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(e.get("IMGTOOL_GLANCE_DEMO_AC_SECRET")), std::string::npos);
  EXPECT_EQ(json::parse(r.out)["status"], "active");
  glance_delete(published_id(r));
}

TEST(GlanceAuth, WrongPasswordIsOneClearLineNamingKeystone) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64K");
  auto vars = admin_vars();
  vars["OS_PASSWORD"] = "not-the-password-xyzzy";
  RunResult r = run(clean_env(vars) + imgtool() + " publish " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(env()->get("IMGTOOL_GLANCE_KEYSTONE_URL")), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("xyzzy"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(GlanceAuth, PasswordOnTheCommandLineIsRefused) {
  REQUIRE_GLANCE();
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish /dev/null --os-password secret");
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("OS_PASSWORD"), std::string::npos) << r.err;
}

// An image larger than the tee's buffer: the producer is still writing when
// the upload fails, and the failure reported must be the upload's (exit 7,
// Glance's side named), not the producer being stopped ("upload stopped",
// exit 130 as if the user had interrupted it).
TEST(GlanceFault, UploadCutMidStreamOfALargeImageReportsTheUploadsError) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64M");
  FaultProxy proxy(t, "--cut-put-after 1000000");
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  std::string name = unique_name("cut-large");
  RunResult r = run(clean_env(vars) + imgtool() + " publish --name " + name + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.err.find("upload stopped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlanceFault, UploadCutMidStreamLeavesNoImage) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "4M");
  FaultProxy proxy(t, "--cut-put-after 1000000");
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  std::string name = unique_name("cut");
  RunResult r = run(clean_env(vars) + imgtool() + " publish --name " + name + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlanceFault, ServerHashMismatchFailsAndDeletesTheImage) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "1M");
  FaultProxy proxy(t, "--rewrite-hash");
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  std::string name = unique_name("mismatch");
  RunResult r = run(clean_env(vars) + imgtool() + " publish --name " + name + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("os_hash_value: local "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::string(128, 'f')), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlanceFault, SigintMidUploadDeletesTheImage) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "8M");
  FaultProxy proxy(t, "--throttle 1000000");  // ~8 s upload
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  std::string name = unique_name("sigint");
  // Interrupt once the image exists and its data flows (status "saving").
  std::string pid_file = t.file("pid");
  std::string script = clean_env(vars) + imgtool() + " publish --name " + name + " " + sh_quote(raw) +
                       " & echo $! > " + sh_quote(pid_file) + "; wait $!";
  RunResult r;
  std::thread runner([&] { r = run(script); });
  EXPECT_TRUE(wait_for_image_status(name, "saving")) << "the upload never reached status saving";
  if (std::filesystem::exists(pid_file)) ::kill(std::stoi(read_file(pid_file)), SIGINT);
  runner.join();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("interrupted by SIGINT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

// A Glance API process killed mid-upload leaves the image in "saving" for
// good. The upload goes to a spare Glance (same database and store) that the
// test kills; every other call goes to the main one, like a load balancer.
TEST(GlanceFault, GlanceWorkerKilledMidUploadLeavesSavingWhichIsReportedAndDeleted) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "8M");
  SpareGlance spare;
  ASSERT_TRUE(spare.ok());
  FaultProxy proxy(t, "--put-target 127.0.0.1:" + std::to_string(spare.port()) + " --throttle 1000000");
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  std::string name = unique_name("killed-worker");
  RunResult r;
  std::thread runner(
      [&] { r = run(clean_env(vars) + imgtool() + " publish --name " + name + " " + sh_quote(raw)); });
  EXPECT_TRUE(wait_for_image_status(name, "saving")) << "the upload never reached status saving";
  spare.kill();
  runner.join();
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("status 'saving'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

}  // namespace
}  // namespace imgtool::test::glance
