// Every guest inspection leaves nothing behind, however it ends: no qemu or
// helper process, nothing in TMPDIR, no libguestfs socket directory.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "guestfs/guest_support.hpp"
#include "inspect/appliance_processes.hpp"
#include "inspect/child_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::guest {
namespace {

TEST(InspectCleanup, CachedirFollowsLibguestfsRule) {
  EXPECT_EQ(inspect::libguestfs_cachedir("/c", "/t"), "/c");
  EXPECT_EQ(inspect::libguestfs_cachedir(nullptr, "/t"), "/t");
  EXPECT_EQ(inspect::libguestfs_cachedir("", "/t"), "/t");
  EXPECT_EQ(inspect::libguestfs_cachedir(nullptr, nullptr), "/var/tmp");
  EXPECT_EQ(inspect::libguestfs_cachedir("", ""), "/var/tmp");
}

TEST(InspectCleanup, SocketDirsFromQemuCommandLine) {
  std::string cmd;
  for (const char* arg :
       {"qemu", "-chardev", "socket,path=/tmp/libguestfsAb12Cd/guestfsd.sock,id=channel0", "-chardev",
        "socket,path=/tmp/libguestfsAb12Cd/console.sock,id=c", "-drive", "file=/x/path=/etc/guestfsd.sock"})
    cmd += std::string(arg) + '\0';
  auto dirs = inspect::socket_dirs_in_cmdline(cmd);
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(dirs[0], "/tmp/libguestfsAb12Cd");
  EXPECT_TRUE(inspect::socket_dirs_in_cmdline("path=/tmp/other/guestfsd.sock").empty());
  EXPECT_TRUE(inspect::socket_dirs_in_cmdline("path=libguestfsAb12Cd/guestfsd.sock").empty());
}

TEST(GuestfsCleanup, TimeoutLeavesNoQemuAndNothingInTmpdir) {
  REQUIRE_GUEST_INSPECTION();
  TempDir d;
  const std::string img = make_skeleton(d.file("guest"));
  const std::string tmp = d.file("tmp");
  std::filesystem::create_directory(tmp);
  auto r = run(keep_cache() + "TMPDIR=" + sh_quote(tmp) + " " + imgtool_bin() +
               " inspect --guest --timeout 1 " + sh_quote(img));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("timed out after 1 s"), std::string::npos) << r.err;
  EXPECT_EQ(joined(processes_mentioning(d.path().string())), "");
  EXPECT_EQ(joined(dir_entries(tmp)), "") << "left in TMPDIR";
}

TEST(GuestfsCleanup, SigintOrSigtermMidLaunchExits130AndLeavesNothing) {
  REQUIRE_GUEST_INSPECTION();
  TempDir top;
  const std::string img = make_skeleton(top.file("guest"));
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig == SIGINT ? "SIGINT" : "SIGTERM");
    const std::string d = top.file(sig == SIGINT ? "int" : "term");
    const std::string tmp = d + "/tmp";
    std::filesystem::create_directories(tmp);
    // The wrapper records qemu's command line (it names libguestfs' socket
    // directory) and the TMPDIR qemu got, then boots the appliance.
    const std::string hv =
        write_hv_wrapper(d, "if is_launch \"$@\"; then printf '%s\\0' \"$@\" >" + sh_quote(d + "/args") +
                                "; printf '%s' \"$TMPDIR\" >" + sh_quote(d + "/tmpdir") + "; fi");
    Background bg("env " + tcg() + keep_cache() + "TMPDIR=" + sh_quote(tmp) +
                  " LIBGUESTFS_HV=" + sh_quote(hv) + " " + imgtool_bin() + " inspect --guest " +
                  sh_quote(img) + " 2>" + sh_quote(d + "/err"));
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(d + "/tmpdir"); }, std::chrono::minutes(5)))
        << "qemu never started: " << read_file(d + "/err");
    ::kill(bg.pid(), sig);
    EXPECT_EQ(bg.wait(std::chrono::seconds(30)), 130) << read_file(d + "/err");
    EXPECT_EQ(joined(processes_mentioning(d)), "");
    EXPECT_EQ(joined(dir_entries(tmp)), "") << "left in TMPDIR";
    // qemu ran in a directory of its own inside TMPDIR.
    const std::string qemu_tmpdir = read_file(d + "/tmpdir");
    EXPECT_EQ(qemu_tmpdir.rfind(tmp + "/", 0), 0u) << qemu_tmpdir;
    const auto sockets = inspect::socket_dirs_in_cmdline(read_file(d + "/args"));
    EXPECT_FALSE(sockets.empty()) << "no socket directory on qemu's command line";
    for (const auto& s : sockets) EXPECT_FALSE(std::filesystem::exists(s)) << "left behind: " << s;
  }
}

}  // namespace
}  // namespace imgtool::test::guest
