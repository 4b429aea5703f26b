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

// Before qemu runs, the child's listening socket is the only witness.
TEST(InspectCleanup, SocketDirsFromOpenSockets) {
  const std::string table =
      "Num       RefCount Protocol Flags    Type St Inode Path\n"
      "0000000080120e0a: 00000002 00000000 00010000 0001 01 4242 /tmp/libguestfsQw3rTy/guestfsd.sock\n"
      "00000000460652bf: 00000002 00000000 00010000 0001 01 4343 /tmp/libguestfsZz9zZz/guestfsd.sock\n"
      "00000000460652c0: 00000003 00000000 00000000 0001 03 4444\n"
      "00000000460652c1: 00000002 00000000 00010000 0001 01 4545 /run/other/guestfsd.sock\n";
  auto dirs = inspect::socket_dirs_in_net_unix(table, {"4242", "4444", "4545"});
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(dirs[0], "/tmp/libguestfsQw3rTy");
  EXPECT_TRUE(inspect::socket_dirs_in_net_unix(table, {}).empty());
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

// Between creating its socket directory and qemu's exec, only the listening
// socket the child holds names the directory. Here qemu never shows its
// arguments (the wrapper becomes a plain sleep), as in that window.
TEST(GuestfsCleanup, InterruptBeforeQemuShowsItsArgumentsStillRemovesTheSocketDirectory) {
  REQUIRE_GUEST_INSPECTION();
  TempDir d;
  const std::string img = make_skeleton(d.file("guest"));
  const std::string hv =
      write_hv_wrapper(d.path().string(), "if is_launch \"$@\"; then printf '%s\\0' \"$@\" >" +
                                              sh_quote(d.file("args")) + "; exec sleep 600.123; fi");
  Background bg("env " + tcg() + "LIBGUESTFS_HV=" + sh_quote(hv) + " " + imgtool_bin() + " inspect --guest " +
                sh_quote(img) + " 2>" + sh_quote(d.file("err")));
  ASSERT_TRUE(eventually(
      [&] {
        return processes_mentioning("sleep 600.123").size() > 0 && std::filesystem::exists(d.file("args"));
      },
      std::chrono::minutes(5)))
      << "qemu never started: " << read_file(d.file("err"));
  ::kill(bg.pid(), SIGINT);
  EXPECT_EQ(bg.wait(std::chrono::seconds(30)), 130) << read_file(d.file("err"));
  const auto sockets = inspect::socket_dirs_in_cmdline(read_file(d.file("args")));
  ASSERT_FALSE(sockets.empty()) << "no socket directory on qemu's command line";
  for (const auto& s : sockets) EXPECT_FALSE(std::filesystem::exists(s)) << "left behind: " << s;
}

}  // namespace
}  // namespace imgtool::test::guest
