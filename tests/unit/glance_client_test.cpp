// The Glance client's offline parts: credentials (OS_* and clouds.yaml +
// secure.yaml), error lines, Keystone times, publish's local refusals.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>

#include "glance/credentials.hpp"
#include "glance/errors.hpp"
#include "glance/http.hpp"
#include "glance/keystone.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

// Sets OS_* variables for one test and restores a clean state afterwards.
class OsEnv {
 public:
  explicit OsEnv(const std::map<std::string, std::string>& vars) {
    clear();
    for (const auto& [k, v] : vars) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~OsEnv() { clear(); }

 private:
  static void clear() {
    for (const char* k : {"OS_CLOUD",
                          "OS_AUTH_URL",
                          "OS_USERNAME",
                          "OS_PASSWORD",
                          "OS_PROJECT_NAME",
                          "OS_PROJECT_ID",
                          "OS_USER_DOMAIN_NAME",
                          "OS_PROJECT_DOMAIN_NAME",
                          "OS_AUTH_TYPE",
                          "OS_APPLICATION_CREDENTIAL_ID",
                          "OS_APPLICATION_CREDENTIAL_SECRET",
                          "OS_TOKEN",
                          "OS_REGION_NAME",
                          "OS_INTERFACE",
                          "OS_CACERT",
                          "OS_INSECURE",
                          "OS_CLIENT_CONFIG_FILE",
                          "OS_TENANT_NAME",
                          "OS_USER_ID",
                          "OS_IMAGE_ENDPOINT_OVERRIDE"})
      ::unsetenv(k);
  }
};

TEST(GlanceCredentials, PasswordFromEnvironmentWithDefaults) {
  OsEnv e({{"OS_AUTH_URL", "http://k:5000/"},
           {"OS_USERNAME", "u"},
           {"OS_PASSWORD", "p"},
           {"OS_PROJECT_NAME", "x"}});
  std::vector<std::string> notes;
  auto c = glance::load_credentials("", notes);
  EXPECT_EQ(c.auth_url, "http://k:5000/v3");
  EXPECT_EQ(c.auth_type, glance::AuthType::Password);
  EXPECT_EQ(c.user_domain_id, "default");
  EXPECT_EQ(c.project_domain_id, "default");
  EXPECT_EQ(c.interface, "public");
  EXPECT_TRUE(notes.empty());
}

TEST(GlanceCredentials, MissingPasswordNamesTheVariable) {
  OsEnv e({{"OS_AUTH_URL", "http://k:5000/v3"}, {"OS_USERNAME", "u"}});
  std::vector<std::string> notes;
  try {
    glance::load_credentials("", notes);
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::Usage);
    EXPECT_NE(err.message().find("OS_PASSWORD"), std::string::npos) << err.message();
  }
}

TEST(GlanceCredentials, ApplicationCredentialDropsLeftoverScopeWithANote) {
  OsEnv e({{"OS_AUTH_URL", "http://k:5000/v3"},
           {"OS_APPLICATION_CREDENTIAL_ID", "abc"},
           {"OS_APPLICATION_CREDENTIAL_SECRET", "s3cr3t"},
           {"OS_PROJECT_NAME", "demo"},
           {"OS_PROJECT_DOMAIN_NAME", "Default"}});
  std::vector<std::string> notes;
  auto c = glance::load_credentials("", notes);
  EXPECT_EQ(c.auth_type, glance::AuthType::ApplicationCredential);
  EXPECT_TRUE(c.project_name.empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("OS_PROJECT_NAME, OS_PROJECT_DOMAIN_NAME"), std::string::npos) << notes[0];
  EXPECT_EQ(notes[0].find("s3cr3t"), std::string::npos);
}

TEST(GlanceCredentials, CloudsYamlWithSecureYamlMerged) {
  TempDir t;
  write_file(t.file("clouds.yaml"),
             "clouds:\n  c1:\n    auth:\n      auth_url: https://k.example/v3\n      username: alice\n"
             "      project_name: p\n      user_domain_name: Default\n    region_name: R2\n"
             "    interface: internal\n    cacert: /tmp/ca.pem\n  other: {}\n");
  write_file(t.file("secure.yaml"), "clouds:\n  c1:\n    auth:\n      password: from-secure\n");
  OsEnv e({{"OS_CLIENT_CONFIG_FILE", t.file("clouds.yaml")}});
  std::vector<std::string> notes;
  auto c = glance::load_credentials("c1", notes);
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, "from-secure");
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(c.region, "R2");
  EXPECT_EQ(c.interface, "internal");
  EXPECT_EQ(c.cacert, "/tmp/ca.pem");
  try {
    glance::load_credentials("nope", notes);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(err.message().find("no cloud named 'nope' (clouds here: c1, other)"), std::string::npos)
        << err.message();
  }
}

TEST(GlanceCredentials, OsVariablesOverrideTheCloudAndOptionsOverrideBoth) {
  TempDir t;
  write_file(t.file("clouds.yaml"),
             "clouds:\n  c1:\n    auth:\n      auth_url: https://k.example/v3\n      username: alice\n"
             "      password: from-yaml\n      project_name: p\n    region_name: R2\n"
             "    interface: internal\n");
  OsEnv e({{"OS_CLIENT_CONFIG_FILE", t.file("clouds.yaml")},
           {"OS_USERNAME", "bob"},
           {"OS_PASSWORD", "from-env"},
           {"OS_REGION_NAME", "R3"},
           {"OS_PROJECT_NAME", "p"}});  // same as the file: not an override
  std::vector<std::string> notes;
  auto c = glance::load_credentials("c1", notes);
  EXPECT_EQ(c.username, "bob");
  EXPECT_EQ(c.password, "from-env");
  EXPECT_EQ(c.region, "R3");
  EXPECT_EQ(c.interface, "internal");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "OS_USERNAME, OS_PASSWORD, OS_REGION_NAME from the environment override cloud 'c1' in " +
                t.file("clouds.yaml") + ", as in openstackclient");
  EXPECT_EQ(notes[0].find("from-env"), std::string::npos);

  GlanceConnection conn;
  conn.cloud = "c1";
  conn.region = "R9";
  conn.interface = "adminURL";
  notes.clear();
  c = glance::connection_credentials(conn, notes);
  EXPECT_EQ(c.region, "R9");
  EXPECT_EQ(c.interface, "admin");
  conn.interface = "sideways";
  EXPECT_THROW(glance::connection_credentials(conn, notes), Error);
}

TEST(GlanceHttpDebug, UrlsLoseUserinfoAndCredentialQueryValues) {
  EXPECT_EQ(glance::redact_url("http://127.0.0.1:9292/v2/images?name=x&limit=2"),
            "http://127.0.0.1:9292/v2/images?name=x&limit=2");
  EXPECT_EQ(glance::redact_url("https://alice:s3cret@host/path"), "https://***@host/path");
  EXPECT_EQ(glance::redact_url("https://h/o?X-Amz-Signature=abc&X-Amz-Date=1&temp_url_sig=d&Token=t#frag"),
            "https://h/o?X-Amz-Signature=***&X-Amz-Date=1&temp_url_sig=***&Token=***#frag");
  EXPECT_EQ(glance::redact_url("https://h/a@b"), "https://h/a@b");  // '@' in the path is not userinfo

  glance::HttpRequest req;
  req.method = "PUT";
  req.url = "http://u:pw@g/v2/images/1/file";
  req.headers = {"X-Auth-Token: gAAAAAsecret", "Content-Type: application/octet-stream",
                 "Authorization: Bearer zzz"};
  req.reader = [](std::span<std::byte>) { return size_t{0}; };
  req.body_size = 2048;
  glance::HttpResponse resp;
  resp.status = 204;
  resp.headers["x-openstack-request-id"] = "req-1";
  const std::string line = glance::debug_line(req, &resp, 0.25, "");
  EXPECT_EQ(line,
            "PUT http://***@g/v2/images/1/file [X-Auth-Token: ***, Content-Type: application/octet-stream, "
            "Authorization: ***] body 2.0 KiB -> 204 in 0.250 s, 0 B, request id req-1");
  glance::HttpRequest post;
  post.method = "POST";
  post.url = "http://k/v3/auth/tokens";
  post.body = R"({"auth":{"identity":{"password":{"user":{"password":"hunter2"}}}}})";
  const std::string failed = glance::debug_line(post, nullptr, 1.5, "connection refused");
  EXPECT_EQ(failed, "POST http://k/v3/auth/tokens body 66 B -> failed after 1.500 s: connection refused");
  EXPECT_EQ(failed.find("hunter2"), std::string::npos);
}

TEST(GlanceErrors, GlanceJsonMessageIsStrippedToOneLine) {
  glance::HttpResponse r;
  r.status = 404;
  r.body =
      R"({"message":"No image found with ID abc<br /><br />\n\n\n","code":"404 Not Found","title":"Not Found"})";
  Error e = glance::http_error("show image abc", "GET", "http://g/v2/images/abc", r, "http://k/v3");
  EXPECT_EQ(e.kind(), ErrorKind::Http);
  EXPECT_NE(e.message().find("HTTP 404 Not Found: No image found with ID abc ("), std::string::npos)
      << e.message();
  EXPECT_EQ(e.message().find('\n'), std::string::npos);
}

TEST(GlanceErrors, KeystoneUnauthorizedIsAuthAndNamesKeystone) {
  glance::HttpResponse r;
  r.status = 401;
  r.body =
      R"({"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}})";
  Error e = glance::http_error("auth", "POST", "http://k/v3/auth/tokens", r, "http://k/v3");
  EXPECT_EQ(e.kind(), ErrorKind::Auth);
  EXPECT_NE(e.message().find("requires authentication. (check the credentials"), std::string::npos)
      << e.message();
  EXPECT_NE(e.message().find("Keystone at http://k/v3"), std::string::npos);
}

TEST(GlanceKeystone, ParsesExpiresAt) {
  auto t = glance::parse_keystone_time("2026-11-25T14:47:17.000000Z");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(t), 1795618037);
  EXPECT_THROW(glance::parse_keystone_time("tomorrow"), Error);
}

TEST(GlancePublishLocal, BadOptionsAreUsageErrorsBeforeAnyNetwork) {
  TempDir t;
  write_file(t.file("a.raw"), std::string(4096, 'x'));
  PublishOptions o;
  o.disk_format = "qcow3";
  try {
    publish(t.file("a.raw"), o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(e.message().find("qcow3 is not one of auto,"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace imgtool::test
