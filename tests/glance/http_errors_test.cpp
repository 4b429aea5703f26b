// HTTP errors as the real Glance gives them, each turned into one line with
// the status, Glance's own message and what to do:
// - 413: a Glance whose image_size_cap is 1 MiB (a spare process on the same
//   database), through the CLI: nothing is left behind;
// - 409: a second upload to an image that is no longer queued, through the
//   library's ImagesApi (imgtool itself never uploads twice).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>

#include "glance/credentials.hpp"
#include "glance/glance_env.hpp"
#include "glance/images_api.hpp"
#include "glance/keystone.hpp"
#include "glance/spare_glance.hpp"
#include "imgtool/error.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

TEST(GlanceHttpErrors, UploadOverTheSizeCapIsOne413LineAndNoImage) {
  REQUIRE_GLANCE();
  SpareGlance capped(uint64_t{1} << 20);
  ASSERT_TRUE(capped.ok());
  TempDir t;
  std::string raw = t.file("big.raw");
  run_ok("head -c 2M /dev/urandom > " + sh_quote(raw));
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = capped.url();
  std::string name = unique_name("over-cap");
  RunResult r =
      run(clean_env(vars) + sh_quote(imgtool_bin()) + " publish --name " + name + " " + sh_quote(raw));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("HTTP 413 Request Entity Too Large"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("image_size_cap"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlanceHttpErrors, SecondUploadIsOne409LineWithGlancesMessage) {
  REQUIRE_GLANCE();
  const Env& e = *env();
  ::imgtool::glance::Credentials c;
  c.auth_url = e.get("IMGTOOL_GLANCE_KEYSTONE_URL");
  c.username = e.get("IMGTOOL_GLANCE_ADMIN_USERNAME");
  c.password = e.get("IMGTOOL_GLANCE_ADMIN_PASSWORD");
  c.project_name = e.get("IMGTOOL_GLANCE_ADMIN_PROJECT");
  c.user_domain_name = "Default";
  c.project_domain_name = "Default";
  c.region = e.get("IMGTOOL_GLANCE_REGION");
  c.source = "test";
  ::imgtool::glance::Session session(c);
  ::imgtool::glance::ImagesApi api(session);
  json im =
      api.create({{"name", unique_name("conflict")}, {"disk_format", "raw"}, {"container_format", "bare"}});
  const std::string id = im.value("id", "");
  ASSERT_FALSE(id.empty());
  auto body = [](std::string data) {
    auto pos = std::make_shared<size_t>(0);
    return [data, pos](std::span<std::byte> out) -> size_t {
      size_t n = std::min(out.size(), data.size() - *pos);
      std::memcpy(out.data(), data.data() + *pos, n);
      *pos += n;
      return n;
    };
  };
  api.upload(id, body("first"), 5, false);
  try {
    api.upload(id, body("again"), 5, false);
    ADD_FAILURE() << "a second upload to an active image was accepted";
  } catch (const Error& err) {
    const std::string m = err.message();
    EXPECT_NE(m.find("HTTP 409 Conflict"), std::string::npos) << m;
    EXPECT_NE(m.find("/v2/images/" + id + "/file"), std::string::npos) << m;
    EXPECT_NE(m.find("the image is not in a state that allows this"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  api.remove(id);
}

}  // namespace
}  // namespace imgtool::test::glance
