// The options every Glance-facing command shares, against the real services
// of tests/glance/glance-dev.sh: --os-region-name and --os-interface over
// OS_* and clouds.yaml, OS_* over clouds.yaml (as openstackclient), --debug's
// HTTP log without secrets, checksum --verify with --os-cloud, and the
// dry-run JSON (null for what does not exist, a boolean dry_run).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

std::string make_data(const TempDir& t, const std::string& size) {
  std::string raw = t.file("d.raw");
  run_ok("head -c " + size + " /dev/urandom > " + sh_quote(raw));
  return raw;
}

std::string published_id(const RunResult& r) {
  json j = json::parse(r.out, nullptr, false);
  return j.is_object() && j["id"].is_string() ? j["id"].get<std::string>() : std::string();
}

// The lines of stderr that start with `prefix`.
std::vector<std::string> lines_with(const std::string& err, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  return out;
}

// A clouds.yaml with the admin user of the local cloud, `password` as given.
std::string write_clouds_yaml(const TempDir& t, const std::string& password) {
  const Env& e = *env();
  std::string path = t.file("clouds.yaml");
  std::ofstream(path) << "clouds:\n  dev:\n    auth:\n      auth_url: "
                      << e.get("IMGTOOL_GLANCE_KEYSTONE_URL")
                      << "\n      username: " << e.get("IMGTOOL_GLANCE_ADMIN_USERNAME")
                      << "\n      password: " << password
                      << "\n      project_name: " << e.get("IMGTOOL_GLANCE_ADMIN_PROJECT")
                      << "\n      user_domain_name: Default\n      project_domain_name: Default\n"
                      << "    region_name: " << e.get("IMGTOOL_GLANCE_REGION") << "\n";
  return path;
}

TEST(GlanceCliOptions, DebugLogsEveryCallWithoutSecrets) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "256K");
  std::string name = unique_name("debug");
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --debug --output=json --name " + name +
                    " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = published_id(r);
  auto debug = lines_with(r.err, "imgtool: debug: ");
  // Keystone's token POST, the create, the upload and the final GET at least.
  ASSERT_GE(debug.size(), 4u) << r.err;
  const std::regex shape(
      R"(imgtool: debug: (GET|POST|PUT|DELETE|PATCH) https?://\S+ .*-> \d{3} in \d+\.\d{3} s, .*)");
  for (const auto& l : debug) EXPECT_TRUE(std::regex_match(l, shape)) << l;
  EXPECT_NE(r.err.find("POST " + env()->get("IMGTOOL_GLANCE_KEYSTONE_URL") + "/auth/tokens"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("/v2/images/" + id + "/file [X-Auth-Token: ***"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("body 256.0 KiB -> 204"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("request id req-"), std::string::npos) << r.err;
  // No secret: the password, and no token (Fernet tokens start with gAAAAA).
  EXPECT_EQ(r.err.find(env()->get("IMGTOOL_GLANCE_ADMIN_PASSWORD")), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("gAAAAA"), std::string::npos) << r.err;
  glance_delete(id);

  // Without --debug there is no such line.
  r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --name " + name + "-quiet " +
          sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(lines_with(r.err, "imgtool: debug: ").empty()) << r.err;
  glance_delete(published_id(r));
}

TEST(GlanceCliOptions, PlannedConversionsSendAContentLengthCompressedOnesAreChunked) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "1M");
  std::string qcow = t.file("d.qcow2");
  run_ok("qemu-img convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  // qcow2 -> raw: the length is the virtual size, known before the upload.
  RunResult r =
      run(clean_env(admin_vars()) + imgtool() + " publish --debug --output=json --convert-to raw --name " +
          unique_name("len-raw") + " " + sh_quote(qcow));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("/file [X-Auth-Token: ***, Accept: application/json, Content-Type: "
                       "application/octet-stream] body 1.0 MiB -> 204"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(json::parse(r.out)["size"], 1048576);
  glance_delete(published_id(r));
  // raw -> qcow2: the layout is planned from the allocation map before the
  // PUT, so its exact length is announced and Glance stores that many bytes.
  r = run(clean_env(admin_vars()) + imgtool() + " publish --debug --output=json --convert-to qcow2 --name " +
          unique_name("len-qcow2") + " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("body chunked"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("application/octet-stream] body 1.3 MiB -> 204"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(r.out)["size"], 1376256);  // what `publish --dry-run` plans for 1 MiB of data
  glance_delete(published_id(r));
  // streamOptimized vmdk: compressed grains, the size depends on the data: chunked.
  r = run(clean_env(admin_vars()) + imgtool() + " publish --debug --output=json --convert-to vmdk -o " +
          "subformat=streamOptimized --name " + unique_name("len-vmdk-stream") + " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("body chunked -> 204"), std::string::npos) << r.err;
  glance_delete(published_id(r));
}

TEST(GlanceCliOptions, DebugLogsAFailedCallToo) {
  // A Keystone that is not there: the line names the failure, nothing else.
  TempDir t;
  std::string raw = make_data(t, "4K");
  RunResult r = run(clean_env({{"OS_AUTH_URL", "http://user:hunter2@127.0.0.1:9/v3"},
                               {"OS_USERNAME", "u"},
                               {"OS_PASSWORD", "p4ssw0rd-xyzzy"},
                               {"OS_PROJECT_NAME", "p"}}) +
                    imgtool() + " publish --debug " + sh_quote(raw));
  EXPECT_NE(r.exit_code, 0);
  // A refused connection is worth retrying for a token request: the first
  // attempt and three retries (0.5 s, 1 s, 2 s apart), each one line.
  auto debug = lines_with(r.err, "imgtool: debug: ");
  ASSERT_EQ(debug.size(), 4u) << r.err;
  for (const auto& l : debug) {
    EXPECT_NE(l.find("POST http://***@127.0.0.1:9/v3/auth/tokens"), std::string::npos) << l;
    EXPECT_NE(l.find("-> failed after"), std::string::npos) << l;
    EXPECT_EQ(l.find("hunter2"), std::string::npos) << l;
  }
  EXPECT_EQ(r.err.find("p4ssw0rd-xyzzy"), std::string::npos) << r.err;
  // Nor in the error line itself.
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
}

TEST(GlanceCliOptions, RegionAndInterfaceFlagsWinOverTheEnvironment) {
  REQUIRE_GLANCE();
  if (env()->get("IMGTOOL_GLANCE_TLS_REGION").empty())
    FAIL() << "IMGTOOL_GLANCE_TLS_REGION is not in the env file: run tests/glance/glance-dev.sh start again";
  TempDir t;
  std::string raw = make_data(t, "64K");
  // OS_REGION_NAME says RegionOne (http); the flag picks RegionTLS, whose
  // image endpoint is https: the upload goes there (seen in --debug).
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --debug --output=json --os-region-name " +
                    env()->get("IMGTOOL_GLANCE_TLS_REGION") + " --os-cacert " +
                    sh_quote(env()->get("IMGTOOL_GLANCE_TLS_CACERT")) + " --name " + unique_name("region") +
                    " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("PUT https://127.0.0.1:"), std::string::npos) << r.err;
  glance_delete(published_id(r));

  // The catalog has only public image endpoints: --os-interface internal
  // must reach the endpoint lookup and fail there, naming the interface.
  std::string name = unique_name("iface");
  r = run(clean_env(admin_vars()) + imgtool() + " publish --os-interface internal --name " + name + " " +
          sh_quote(raw));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("internal endpoint"), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);

  r = run(clean_env(admin_vars()) + imgtool() + " publish --os-interface sideways " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("not one of public, internal, admin"), std::string::npos) << r.err;
}

TEST(GlanceCliOptions, OsVariablesOverrideCloudsYamlLikeOpenstackclient) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "64K");
  // clouds.yaml has a wrong password; OS_PASSWORD has the right one.
  std::string yaml = write_clouds_yaml(t, "not-the-password");
  RunResult r = run(clean_env({{"OS_CLIENT_CONFIG_FILE", yaml},
                               {"OS_PASSWORD", env()->get("IMGTOOL_GLANCE_ADMIN_PASSWORD")}}) +
                    imgtool() + " publish --output=json --os-cloud dev --name " + unique_name("override") +
                    " " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: OS_PASSWORD from the environment override cloud 'dev'"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(env()->get("IMGTOOL_GLANCE_ADMIN_PASSWORD")), std::string::npos) << r.err;
  glance_delete(published_id(r));

  // And the other way round: a right clouds.yaml, a wrong OS_PASSWORD: 401.
  yaml = write_clouds_yaml(t, env()->get("IMGTOOL_GLANCE_ADMIN_PASSWORD"));
  r = run(clean_env({{"OS_CLIENT_CONFIG_FILE", yaml}, {"OS_PASSWORD", "wrong-xyzzy"}}) + imgtool() +
          " publish --os-cloud dev " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.err;
}

TEST(GlanceCliOptions, ChecksumVerifyTakesTheSameOptions) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "128K");
  RunResult p = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --name " +
                    unique_name("verify") + " " + sh_quote(raw));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const std::string id = published_id(p);
  // Only clouds.yaml, chosen with --os-cloud; --debug shows the lookup.
  RunResult r =
      run(clean_env({{"OS_CLIENT_CONFIG_FILE", env()->get("IMGTOOL_GLANCE_CLOUDS_YAML")}}) + imgtool() +
          " checksum --debug --os-cloud glance-dev-admin --os-interface public --verify " + id + " " +
          sh_quote(raw));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("verified: matches Glance image " + id), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("imgtool: debug: GET "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/v2/images/" + id + " "), std::string::npos) << r.err;
  glance_delete(id);
}

TEST(GlanceCliOptions, DryRunJsonHasNullsAndABooleanDryRun) {
  // No Glance needed: nothing is sent.
  TempDir t;
  std::string raw = make_data(t, "64K");
  RunResult r = run(clean_env({}) + imgtool() + " publish --dry-run --output=json " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_TRUE(j["status"].is_null()) << r.out;
  EXPECT_TRUE(j["id"].is_null()) << r.out;
  EXPECT_TRUE(j["checksum"].is_null()) << r.out;
  EXPECT_TRUE(j["os_hash_value"].is_null()) << r.out;
  EXPECT_TRUE(j["verified_hash_algo"].is_null()) << r.out;
  EXPECT_EQ(j["local_md5"], first_word(run_ok("md5sum " + sh_quote(raw))));
  EXPECT_EQ(j["size"], 65536);
  for (const auto& [k, v] : j.items()) EXPECT_FALSE(v.is_string() && v.get<std::string>().empty()) << k;
  r = run(clean_env({}) + imgtool() + " publish --dry-run " + sh_quote(raw));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| status "), std::string::npos);
  EXPECT_NE(r.out.find("| dry_run "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("(dry run"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace imgtool::test::glance
