// publish --auto-properties: guest facts (libguestfs) become Glance image
// properties on a real Glance; a user's --property wins.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "glance/glance_env.hpp"
#include "imgtool/inspect.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

TEST(GlanceAutoProperties, SkeletonGuestPropertiesOnARealImage) {
  REQUIRE_GLANCE();
  // CI builds with libguestfs and installs the appliance's parts: a missing
  // one is a failure that says what to install, never a skip.
  if (!guest_inspection_available())
    FAIL() << "this imgtool build has no libguestfs, or libguestfs.so.0 does not load: apt-get install "
              "libguestfs-dev and configure with "
              "-DIMGTOOL_WITH_GUESTFS=ON";
  if (!have_tool("qemu-system-x86_64"))
    FAIL() << "no qemu-system-x86_64 for the libguestfs appliance: apt-get install qemu-system-x86";
  TempDir t;
  run_ok(std::string(IMGTOOL_SOURCE_DIR) + "/tests/images/make_guest.sh skeleton " + sh_quote(t.path().string()));
  std::string qcow = t.file("guest.qcow2");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(t.file("skeleton.raw")) + " " + sh_quote(qcow));
  const std::string e = clean_env(admin_vars());
  std::string name = unique_name("autoprops");
  RunResult r = run(e + sh_quote(imgtool_bin()) + " publish --output=json --auto-properties --property " +
                    "hw_vif_model=e1000 --name " + name + " " + sh_quote(qcow));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("guest inspection (libguestfs"), std::string::npos) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << r.out;
  std::string id = out.value("id", "");
  ASSERT_FALSE(id.empty());
  // The real openstackclient's view of the image.
  RunResult show = run(e + "openstack image show -f json " + id);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  nlohmann::json s = nlohmann::json::parse(show.out, nullptr, false);
  ASSERT_TRUE(s.is_object()) << show.out;
  const nlohmann::json& p = s.contains("properties") && s["properties"].is_object() ? s["properties"] : s;
  EXPECT_EQ(p.value("os_type", ""), "linux") << show.out;
  EXPECT_EQ(p.value("os_distro", ""), "debian");
  EXPECT_EQ(p.value("os_version", ""), "12");
  EXPECT_EQ(p.value("architecture", ""), "x86_64");
  EXPECT_EQ(p.value("hw_qemu_guest_agent", ""), "yes");
  EXPECT_EQ(p.value("hw_disk_bus", ""), "virtio");
  EXPECT_EQ(p.value("hw_vif_model", ""), "e1000") << "the user's --property must win";
  EXPECT_FALSE(p.contains("hw_firmware_type")) << "nothing is set when unknown";
  glance_delete(id);
}

}  // namespace
}  // namespace imgtool::test::glance
