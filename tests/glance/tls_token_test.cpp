// TLS and tokens against the real services of tests/glance/glance-dev.sh:
// - https through its stunnel front (self-signed certificate for 127.0.0.1;
//   region RegionTLS has only an https image endpoint): OS_CACERT,
//   --os-cacert, clouds.yaml cacert, --insecure / OS_INSECURE, and an
//   untrusted certificate refused before anything is created;
// - OS_AUTH_TYPE=token with OS_TOKEN;
// - a token that expires during a long upload (the second Keystone, whose
//   tokens live 20 s): the calls after the upload carry a fresh token.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "glance/fault_proxy.hpp"
#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

// Fails when the env file lacks the front `var` names (an env file from an
// older glance-dev.sh, or one written before stunnel4 was installed).
#define REQUIRE_FRONT(var)                                                                      \
  do {                                                                                          \
    REQUIRE_GLANCE();                                                                           \
    if (env()->get(var).empty())                                                                \
      FAIL() << var                                                                             \
          " is not in the env file: run scripts/deps.sh test, then tests/glance/glance-dev.sh " \
          "start again";                                                                        \
  } while (0)

std::string make_data(const TempDir& t, const std::string& size) {
  std::string raw = t.file("d.raw");
  run_ok("head -c " + size + " /dev/urandom > " + sh_quote(raw));
  return raw;
}

// Admin over https: Keystone through stunnel, and the region whose image endpoint is https.
std::map<std::string, std::string> tls_vars() {
  auto v = admin_vars();
  v["OS_AUTH_URL"] = env()->get("IMGTOOL_GLANCE_TLS_KEYSTONE_URL");
  v["OS_REGION_NAME"] = env()->get("IMGTOOL_GLANCE_TLS_REGION");
  return v;
}

json parse(const RunResult& r) {
  return json::parse(r.out, nullptr, false);
}

// Publishes, checks the stored image against md5sum of the file, deletes it.
void expect_published(const RunResult& r, const std::string& file) {
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["status"], "active");
  EXPECT_EQ(j["checksum"], first_word(run_ok("md5sum " + sh_quote(file))));
  glance_delete(j.value("id", ""));
}

TEST(GlanceTls, CacertFromTheEnvironment) {
  REQUIRE_FRONT("IMGTOOL_GLANCE_TLS_CACERT");
  TempDir t;
  std::string raw = make_data(t, "1M");
  auto v = tls_vars();
  v["OS_CACERT"] = env()->get("IMGTOOL_GLANCE_TLS_CACERT");
  expect_published(run(clean_env(v) + imgtool() + " publish --output=json --name " + unique_name("tls-env") +
                       " " + sh_quote(raw)),
                   raw);
}

TEST(GlanceTls, CacertFlagAndCloudsYaml) {
  REQUIRE_FRONT("IMGTOOL_GLANCE_TLS_CACERT");
  TempDir t;
  std::string raw = make_data(t, "256K");
  const std::string ca = env()->get("IMGTOOL_GLANCE_TLS_CACERT");
  expect_published(run(clean_env(tls_vars()) + imgtool() + " publish --output=json --os-cacert " +
                       sh_quote(ca) + " --name " + unique_name("tls-flag") + " " + sh_quote(raw)),
                   raw);

  const Env& e = *env();
  std::ofstream(t.file("clouds.yaml"))
      << "clouds:\n  tls:\n    auth:\n      auth_url: " << e.get("IMGTOOL_GLANCE_TLS_KEYSTONE_URL")
      << "\n      username: " << e.get("IMGTOOL_GLANCE_ADMIN_USERNAME")
      << "\n      password: " << e.get("IMGTOOL_GLANCE_ADMIN_PASSWORD")
      << "\n      project_name: " << e.get("IMGTOOL_GLANCE_ADMIN_PROJECT")
      << "\n      user_domain_name: Default\n      project_domain_name: Default\n"
      << "    region_name: " << e.get("IMGTOOL_GLANCE_TLS_REGION") << "\n"
      << "    cacert: " << ca << "\n";
  expect_published(
      run(clean_env({{"OS_CLIENT_CONFIG_FILE", t.file("clouds.yaml")}}) + imgtool() +
          " publish --output=json --os-cloud tls --name " + unique_name("tls-clouds") + " " + sh_quote(raw)),
      raw);
}

TEST(GlanceTls, UntrustedCertificateIsOneClearLineAndNothingIsCreated) {
  REQUIRE_FRONT("IMGTOOL_GLANCE_TLS_CACERT");
  TempDir t;
  std::string raw = make_data(t, "64K");
  std::string name = unique_name("tls-untrusted");
  RunResult r = run(clean_env(tls_vars()) + imgtool() + " publish --name " + name + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find(env()->get("IMGTOOL_GLANCE_TLS_KEYSTONE_URL")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--os-cacert or OS_CACERT"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find(env()->get("IMGTOOL_GLANCE_ADMIN_PASSWORD")), std::string::npos) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlanceTls, InsecureFlagAndOsInsecureSkipVerificationWithANote) {
  REQUIRE_FRONT("IMGTOOL_GLANCE_TLS_CACERT");
  TempDir t;
  std::string raw = make_data(t, "64K");
  RunResult r = run(clean_env(tls_vars()) + imgtool() + " publish --output=json --insecure --name " +
                    unique_name("tls-insecure") + " " + sh_quote(raw));
  EXPECT_NE(r.err.find("TLS certificate verification is off"), std::string::npos) << r.err;
  expect_published(r, raw);

  auto v = tls_vars();
  v["OS_INSECURE"] = "true";
  r = run(clean_env(v) + imgtool() + " publish --output=json --name " + unique_name("tls-os-insecure") + " " +
          sh_quote(raw));
  EXPECT_NE(r.err.find("TLS certificate verification is off"), std::string::npos) << r.err;
  expect_published(r, raw);
}

TEST(GlanceTls, UnreadableCaBundleIsAUsageError) {
  REQUIRE_FRONT("IMGTOOL_GLANCE_TLS_CACERT");
  TempDir t;
  std::string raw = make_data(t, "64K");
  auto v = tls_vars();
  v["OS_CACERT"] = "/nonexistent/ca.pem";
  RunResult r = run(clean_env(v) + imgtool() + " publish " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/ca.pem"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot read the CA bundle"), std::string::npos) << r.err;
}

TEST(GlanceToken, OsTokenAuthPublishesAndNeverPrintsTheToken) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_data(t, "256K");
  const std::string tok = admin_token();
  ASSERT_FALSE(tok.empty());
  const Env& e = *env();
  RunResult r =
      run(clean_env({{"OS_AUTH_URL", e.get("IMGTOOL_GLANCE_KEYSTONE_URL")},
                     {"OS_AUTH_TYPE", "token"},
                     {"OS_TOKEN", tok},
                     {"OS_PROJECT_NAME", e.get("IMGTOOL_GLANCE_ADMIN_PROJECT")},
                     {"OS_PROJECT_DOMAIN_NAME", "Default"},
                     {"OS_REGION_NAME", e.get("IMGTOOL_GLANCE_REGION")}}) +
          imgtool() + " publish --output=json --name " + unique_name("token") + " " + sh_quote(raw));
  EXPECT_EQ(r.out.find(tok), std::string::npos);
  EXPECT_EQ(r.err.find(tok), std::string::npos) << r.err;
  expect_published(r, raw);
}

// Keystone tokens of 20 s; the upload is throttled to ~24 s by the proxy, so
// the token that authorised the PUT has expired when imgtool verifies.
TEST(GlanceToken, TokenThatExpiresDuringTheUploadIsRenewed) {
  REQUIRE_FRONT("IMGTOOL_GLANCE_SHORT_KEYSTONE_URL");
  const int lifetime = std::stoi(env()->get("IMGTOOL_GLANCE_SHORT_TOKEN_SECONDS"));
  ASSERT_LE(lifetime, 60) << "the short-token Keystone must issue short tokens";
  TempDir t;
  const int bytes_per_s = 131072;
  const int seconds = lifetime + 4;
  std::string raw = make_data(t, std::to_string(bytes_per_s / 1024 * seconds) + "K");
  std::string log = t.file("tokens.log");
  FaultProxy proxy(t, "--throttle " + std::to_string(bytes_per_s) + " --log-tokens " + sh_quote(log));
  auto v = admin_vars();
  v["OS_AUTH_URL"] = env()->get("IMGTOOL_GLANCE_SHORT_KEYSTONE_URL");
  v["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  RunResult r = run(clean_env(v) + imgtool() + " publish --output=json --name " + unique_name("reauth") +
                    " " + sh_quote(raw));
  expect_published(r, raw);

  // Which token each call carried: the PUT's differs from the verification
  // GET's, but the POST and the PUT (a moment apart, well inside the token's
  // refresh margin of a quarter of its 20 s) share one: no re-authentication
  // before every call.
  std::istringstream in(read_file(log));
  std::string method, path, tok, post_tok, put_tok, last_get_tok;
  bool put_seen = false;
  while (in >> method >> path >> tok) {
    if (method == "POST" && path == "/v2/images") {
      post_tok = tok;
    } else if (method == "PUT" && path.ends_with("/file")) {
      put_tok = tok;
      put_seen = true;
    } else if (put_seen && method == "GET") {
      last_get_tok = tok;
    }
  }
  ASSERT_TRUE(put_seen) << read_file(log);
  ASSERT_FALSE(last_get_tok.empty()) << read_file(log);
  EXPECT_EQ(post_tok, put_tok) << "a fresh token only seconds after the last one\n" << read_file(log);
  EXPECT_NE(put_tok, last_get_tok) << "the GET after a " << seconds << " s upload reused the PUT's "
                                   << lifetime << " s token\n"
                                   << read_file(log);
}

}  // namespace
}  // namespace imgtool::test::glance
