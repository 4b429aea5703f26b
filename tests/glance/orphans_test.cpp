// No orphans, no borrowed images, against the real Glance (with
// tests/glance/fault_proxy.py in front where a fault is needed):
// - the image id is chosen by imgtool, so a create whose answer never arrives
//   (cut, or a SIGINT while it is on its way) is still deleted;
// - --protected is set only after verification, so a cut upload leaves nothing;
// - --reuse-existing never hands out another project's image, and says which
//   requested attributes a reused image lacks;
// - an import not waited for is reported as not verified.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "glance/fault_proxy.hpp"
#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

std::string make_data(const TempDir& t, const std::string& size, const std::string& name = "d.raw") {
  std::string raw = t.file(name);
  run_ok("head -c " + size + " /dev/urandom > " + sh_quote(raw));
  return raw;
}

json parse(const RunResult& r) {
  return json::parse(r.out, nullptr, false);
}

// Images named `name` (any status, any project the admin sees).
json images_named(const std::string& name) {
  json l = glance_get("images?name=" + name);
  return l.is_object() ? l["images"] : json::array();
}

// Admin: protected = false, then delete (test cleanup only).
void unprotect_and_delete(const std::string& id) {
  run("curl -s -X PATCH -H " + sh_quote("X-Auth-Token: " + admin_token()) +
      " -H 'Content-Type: application/openstack-images-v2.1-json-patch' --data " +
      sh_quote(R"([{"op":"replace","path":"/protected","value":false}])") + " " +
      sh_quote(env()->get("IMGTOOL_GLANCE_URL") + "/v2/images/" + id));
  glance_delete(id);
}

TEST(GlanceOrphans, CreateWhoseAnswerIsCutIsDeletedByItsOwnId) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64K");
  FaultProxy proxy(t, "--drop-create");
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  std::string name = unique_name("drop-create");
  RunResult r = run(clean_env(vars) + imgtool() + " publish --name " + name + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("POST " + proxy.url() + "/v2/images"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlanceOrphans, SigintWhileTheCreateAnswerIsOnItsWayLeavesNoImage) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64K");
  FaultProxy proxy(t, "--hold-create 5");
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  std::string name = unique_name("sigint-create");
  std::string pid_file = t.file("pid");
  std::string script = clean_env(vars) + imgtool() + " publish --name " + name + " " + sh_quote(raw) +
                       " & echo $! > " + sh_quote(pid_file) + "; wait $!";
  RunResult r;
  std::thread runner([&] { r = run(script); });
  // Glance has created the image; its answer is held by the proxy.
  EXPECT_TRUE(wait_for_image_status(name, "queued", 20)) << "the create never reached Glance";
  if (std::filesystem::exists(pid_file)) ::kill(std::stoi(read_file(pid_file)), SIGINT);
  runner.join();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlanceOrphans, ProtectedIsSetAfterVerificationSoACutUploadLeavesNothing) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "2M");
  {
    FaultProxy proxy(t, "--cut-put-after 300000");
    auto vars = admin_vars();
    vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
    std::string name = unique_name("protected-cut");
    RunResult r =
        run(clean_env(vars) + imgtool() + " publish --protected --name " + name + " " + sh_quote(raw));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
    EXPECT_EQ(count_named(name), 0u) << r.err;
  }
  // Success: the image ends up protected, and the result says so.
  std::string name = unique_name("protected-ok");
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --protected --name " +
                    name + " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  const std::string id = j.value("id", "");
  EXPECT_EQ(j["verified"], true);
  json im = glance_get("images/" + id);
  EXPECT_EQ(im["protected"], true);
  EXPECT_EQ(im["status"], "active");
  unprotect_and_delete(id);

  // --protected --import --no-wait is refused before anything is created.
  r = run(clean_env(admin_vars()) + imgtool() + " publish --protected --import --no-wait --name " + name + "-2 " +
          sh_quote(raw));
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_EQ(count_named(name + "-2"), 0u);
}

TEST(GlanceOrphans, ReuseExistingNeverBorrowsAnotherProjectsImage) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "128K");
  // The admin project publishes the bytes as a public image.
  RunResult a = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --public --name " +
                    unique_name("reuse-admin") + " " + sh_quote(raw));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const std::string admin_id = parse(a).value("id", "");

  // The demo project asks to reuse: it gets a new image of its own.
  const auto demo = password_vars("DEMO");
  std::string name = unique_name("reuse-demo");
  RunResult d = run(clean_env(demo) + imgtool() + " publish --output=json --reuse-existing --name " + name +
                    " " + sh_quote(raw));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  json dj = parse(d);
  EXPECT_EQ(dj["reused"], false) << d.out;
  EXPECT_NE(dj.value("id", ""), admin_id);
  const std::string demo_id = dj.value("id", "");

  // Again from demo, with other attributes: its own image is reused, and the
  // note names what was asked for but not applied.
  d = run(clean_env(demo) + imgtool() + " publish --output=json --reuse-existing --name " + name +
          "-renamed --tag gold --property os_distro=cirros " + sh_quote(raw));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  dj = parse(d);
  EXPECT_EQ(dj["reused"], true) << d.out;
  EXPECT_EQ(dj.value("id", ""), demo_id);
  EXPECT_NE(d.err.find("not applied to it: name '" + name + "-renamed' (it has '" + name + "')"),
            std::string::npos)
      << d.err;
  EXPECT_NE(d.err.find("tag 'gold'"), std::string::npos) << d.err;
  EXPECT_NE(d.err.find("property os_distro='cirros'"), std::string::npos) << d.err;
  // A different container format is not the same image either.
  d = run(clean_env(demo) + imgtool() +
          " publish --output=json --reuse-existing --container-format ovf --name " + name + "-ovf " +
          sh_quote(raw));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(parse(d)["reused"], false) << d.out;
  glance_delete(parse(d).value("id", ""));
  glance_delete(demo_id);
  glance_delete(admin_id);
}

TEST(GlanceOrphans, ImportWithoutWaitIsReportedAsNotVerified) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64K");
  std::string name = unique_name("import-nowait");
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --import --no-wait --name " + name +
                    " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(j["verified"], false) << r.out;
  EXPECT_NE(r.err.find("not verified"), std::string::npos) << r.err;
  const std::string id = j.value("id", "");
  r = run(clean_env(admin_vars()) + imgtool() + " publish --import --no-wait --name " + name + "-table " +
          sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| verified         | not verified: the import was not waited for"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("| verified         | size"), std::string::npos) << r.out;
  wait_for_image_status(name, "active");
  glance_delete(id);
  for (const auto& im : images_named(name + "-table")) glance_delete(im.value("id", ""));
}

// --timeout: an upload in which no byte moves fails within the timeout and
// deletes its image; the wait for Glance's answer after the last byte is no
// stall, however long it is.
TEST(GlanceOrphans, StalledUploadFailsWithinTimeoutButSlowAnswerDoesNot) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "48M");  // more than the socket buffers hold
  {
    FaultProxy proxy(t, "--stall-put-after 1000000");
    auto vars = admin_vars();
    vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
    std::string name = unique_name("stall");
    const auto t0 = std::chrono::steady_clock::now();
    RunResult r =
        run(clean_env(vars) + imgtool() + " publish --timeout 3 --name " + name + " " + sh_quote(raw));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("stalled"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
    EXPECT_LT(secs, 20.0) << r.err;
    EXPECT_EQ(count_named(name), 0u) << r.err;
  }
  {
    TempDir t2;  // a port file of its own: the first proxy's is still there
    FaultProxy proxy(t2, "--hold-answer 5");
    auto vars = admin_vars();
    vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
    std::string name = unique_name("slow-answer");
    RunResult r = run(clean_env(vars) + imgtool() + " publish --output=json --timeout 2 --name " + name +
                      " " + sh_quote(raw));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = parse(r);
    EXPECT_EQ(j["verified"], true);
    glance_delete(j.value("id", ""));
  }
}

}  // namespace
}  // namespace imgtool::test::glance
