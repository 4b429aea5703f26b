// The inspection child is isolated from imgtool: OpenStack credentials in
// imgtool's environment never reach libguestfs, qemu or the appliance, and the
// child dies with imgtool.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <sstream>

#include "guestfs/guest_support.hpp"
#include "inspect/appliance_processes.hpp"
#include "inspect/child_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::guest {
namespace {

TEST(InspectIsolation, OpenStackVariablesAreRecognised) {
  for (const char* v :
       {"OS_PASSWORD=x", "OS_TOKEN=x", "OS_APPLICATION_CREDENTIAL_SECRET=x", "OS_CLOUD=x", "OS_=x"})
    EXPECT_TRUE(inspect::is_openstack_variable(v)) << v;
  for (const char* v : {"PATH=/bin", "HOS_X=1", "os_password=x", "OS", "LIBGUESTFS_BACKEND=direct"})
    EXPECT_FALSE(inspect::is_openstack_variable(v)) << v;
}

TEST(GuestfsIsolation, QemuEnvironmentCarriesNoOpenStackSecrets) {
  REQUIRE_GUEST_INSPECTION();
  TempDir d;
  const std::string img = make_skeleton(d.file("guest"));
  // Every qemu libguestfs runs records its environment; the appliance boot then
  // stops there (the environment is all this test needs).
  const std::string hv = write_hv_wrapper(
      d.path().string(), "env >" + sh_quote(d.file("env")) + ".$$\nif is_launch \"$@\"; then touch " +
                             sh_quote(d.file("launched")) + "; exit 1; fi");
  auto r = run(
      "env OS_PASSWORD=hunter2-secret OS_TOKEN=token-secret OS_APPLICATION_CREDENTIAL_SECRET=appcred-secret "
      "OS_AUTH_URL=http://keystone.invalid/v3 OS_CLOUD=mycloud " +
      tcg() + "LIBGUESTFS_HV=" + sh_quote(hv) + " " + imgtool_bin() + " inspect --guest " + sh_quote(img));
  EXPECT_NE(r.exit_code, 0) << "the wrapper stops the boot";
  ASSERT_TRUE(std::filesystem::exists(d.file("launched"))) << "qemu never ran: " << r.err;
  int dumps = 0;
  for (const std::string& name : dir_entries(d.path().string())) {
    if (name.rfind("env.", 0) != 0) continue;
    ++dumps;
    std::istringstream env(read_file(d.file(name)));
    std::string line;
    while (std::getline(env, line)) EXPECT_NE(line.rfind("OS_", 0), 0u) << "qemu got " << line;
  }
  EXPECT_GT(dumps, 0);
}

TEST(GuestfsIsolation, ChildAndQemuDieWithImgtool) {
  REQUIRE_GUEST_INSPECTION();
  TempDir d;
  const std::string img = make_skeleton(d.file("guest"));
  const std::string tmp = d.file("tmp");
  std::filesystem::create_directory(tmp);
  const std::string hv =
      write_hv_wrapper(d.path().string(), "if is_launch \"$@\"; then printf '%s\\0' \"$@\" >" +
                                              sh_quote(d.file("launched")) + "; fi");
  Background bg("env " + tcg() + keep_cache() + "TMPDIR=" + sh_quote(tmp) + " LIBGUESTFS_HV=" + sh_quote(hv) +
                " " + imgtool_bin() + " inspect --guest " + sh_quote(img) + " 2>" + sh_quote(d.file("err")));
  ASSERT_TRUE(
      eventually([&] { return std::filesystem::exists(d.file("launched")); }, std::chrono::minutes(5)))
      << "qemu never started: " << read_file(d.file("err"));
  ::kill(bg.pid(), SIGKILL);  // no handler, no cleanup: only the kernel can act
  EXPECT_EQ(bg.wait(std::chrono::seconds(10)), 128 + SIGKILL);
  // The inspection child's command line is imgtool's (it never execs), qemu's
  // names the overlay under d: neither may survive. libguestfs' recovery
  // process kills qemu within 2 s of the child's death.
  const std::string mark = d.path().string();
  EXPECT_TRUE(eventually([&] { return processes_mentioning(mark).empty(); }, std::chrono::seconds(10)))
      << "still running after imgtool was killed:\n"
      << joined(processes_mentioning(mark));
  for (const std::string& p : processes_mentioning(mark))
    ::kill(std::stoi(p), SIGKILL);  // don't leak on failure
  // Nothing is left to remove libguestfs' socket directory (outside TMPDIR)
  // after a SIGKILL, as documented; not this test's subject.
  inspect::remove_dirs(inspect::socket_dirs_in_cmdline(read_file(d.file("launched"))));
}

}  // namespace
}  // namespace imgtool::test::guest
