// The accelerator is decided with a launch deadline: a KVM attempt that has not
// started the appliance in time is killed and TCG takes over, whatever the KVM
// failure looks like (a fast abort or a hang after the BIOS banner).
#include "inspect/accelerator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "guestfs/guest_support.hpp"
#include "inspect/appliance_processes.hpp"
#include "inspect/child_protocol.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::guest {
namespace {

using std::chrono::seconds;

TEST(InspectAccelerator, KvmWithDeadlineThenTcg) {
  auto p = inspect::plan_attempts(nullptr, true, seconds(15));
  ASSERT_EQ(p.attempts.size(), 2u);
  EXPECT_FALSE(p.attempts[0].force_tcg);
  EXPECT_EQ(p.attempts[0].launch_deadline, seconds(15));
  EXPECT_TRUE(p.attempts[1].force_tcg);
  EXPECT_FALSE(p.attempts[1].launch_deadline);
  EXPECT_EQ(p.tcg_reason, "");
  EXPECT_EQ(inspect::plan_attempts("", true, seconds(15)).attempts.size(), 2u);
  EXPECT_EQ(inspect::plan_attempts("force_tcgx", true, seconds(15)).attempts.size(), 2u);
}

TEST(InspectAccelerator, UserSettingsAndKvmAvailability) {
  for (const char* s : {"force_tcg", "a=b:force_tcg", "force_tcg:x"}) {
    auto p = inspect::plan_attempts(s, true, seconds(15));
    ASSERT_EQ(p.attempts.size(), 1u) << s;
    EXPECT_TRUE(p.attempts[0].force_tcg);
    EXPECT_NE(p.tcg_reason.find("force_tcg"), std::string::npos);
  }
  auto kvm = inspect::plan_attempts("force_kvm", true, seconds(15));
  ASSERT_EQ(kvm.attempts.size(), 1u);
  EXPECT_FALSE(kvm.attempts[0].force_tcg);
  EXPECT_FALSE(kvm.attempts[0].launch_deadline) << "the user asked for KVM: no deadline but --timeout";
  auto none = inspect::plan_attempts(nullptr, false, seconds(15));
  ASSERT_EQ(none.attempts.size(), 1u);
  EXPECT_TRUE(none.attempts[0].force_tcg);
  EXPECT_NE(none.tcg_reason.find("/dev/kvm"), std::string::npos);
}

TEST(InspectAccelerator, ChildMessagesAcrossReads) {
  inspect::MessageReader r;
  const std::string bytes = "launched kvm\nfacts {\"type\":\"linux\"}\nbogus\nerror two\n";
  for (char c : bytes) r.feed(&c, 1);  // one byte at a time, as a pipe may deliver them
  auto a = r.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->event, inspect::ChildEvent::Launched);
  EXPECT_EQ(a->payload, "kvm");
  auto b = r.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->event, inspect::ChildEvent::Facts);
  EXPECT_EQ(b->payload, "{\"type\":\"linux\"}");
  auto c = r.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->event, inspect::ChildEvent::Failed);
  EXPECT_FALSE(r.next());
}

TEST(GuestfsAccelerator, KvmThatHangsFallsBackToTcgWithinTheTimeout) {
  REQUIRE_GUEST_INSPECTION();
  TempDir d;
  const std::string img = make_skeleton(d.file("guest"));
  // As on machines where qemu under KVM prints the BIOS banner and then hangs:
  // the appliance boot that asks for KVM never ends (the shell keeps qemu's
  // arguments on its command line, as the hung qemu would); every other qemu
  // run, the TCG boot included, is the real one.
  const std::string hv = write_hv_wrapper(
      d.path().string(), "if is_launch \"$@\" && asks_kvm \"$@\"; then printf '%s\\0' \"$@\" >" +
                             sh_quote(d.file("kvm-args")) + "; while :; do sleep 1; done; fi");
  const auto start = std::chrono::steady_clock::now();
  auto r = run("env -u LIBGUESTFS_BACKEND_SETTINGS LIBGUESTFS_HV=" + sh_quote(hv) + " " + imgtool_bin() +
               " inspect --guest --output=json --timeout 280 " + sh_quote(img));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(d.file("kvm-args"))) << "no KVM attempt was made";
  EXPECT_NE(r.out.find("\"backend\": \"direct (tcg; KVM did not start the appliance within 15 s)\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"hostname\": \"skeleton-guest\""), std::string::npos) << r.out;
  // The hung attempt is gone, with the socket directory libguestfs made for it.
  EXPECT_EQ(joined(processes_mentioning(hv)), "");
  for (const auto& s : inspect::socket_dirs_in_cmdline(read_file(d.file("kvm-args"))))
    EXPECT_FALSE(std::filesystem::exists(s)) << "left behind: " << s;
  std::printf("[ info ] hung KVM attempt + TCG inspection: %.1f s\n", secs);
}

TEST(GuestfsAccelerator, UserForcedTcgMeansNoKvmAttempt) {
  REQUIRE_GUEST_INSPECTION();
  TempDir d;
  const std::string img = make_skeleton(d.file("guest"));
  // Records the accelerator each appliance boot asks for and stops it there.
  const std::string hv = write_hv_wrapper(
      d.path().string(), "if is_launch \"$@\"; then if asks_kvm \"$@\"; then echo kvm; else echo tcg; fi >>" +
                             sh_quote(d.file("boots")) + "; exit 1; fi");
  auto r = run(tcg() + "LIBGUESTFS_HV=" + sh_quote(hv) + " " + imgtool_bin() + " inspect --guest " +
               sh_quote(img));
  EXPECT_NE(r.exit_code, 0) << "the wrapper stops the boot";
  EXPECT_EQ(read_file(d.file("boots")), "tcg\n") << r.err;
}

}  // namespace
}  // namespace imgtool::test::guest
