// Guest inspection: the property mapping rules, and real libguestfs runs on
// guests built by tests/images/make_guest.sh. Nothing here skips: a build
// without libguestfs or a machine without the appliance's parts fails, saying
// what to install (CI builds with -DIMGTOOL_WITH_GUESTFS=ON).
#include "imgtool/inspect.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "guestfs/guest_support.hpp"
#include "imgtool_config.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::run;
using test::sh_quote;

TEST(InspectProperties, DebianUsesMajorVersion) {
  GuestFacts f;
  f.type = "linux";
  f.distro = "debian";
  f.major_version = 12;
  f.minor_version = 7;
  f.arch = "x86_64";
  f.qemu_guest_agent = true;
  f.virtio_blk = true;
  f.virtio_net = true;
  f.firmware = "uefi";
  auto p = glance_properties(f);
  EXPECT_EQ(p["os_type"], "linux");
  EXPECT_EQ(p["os_distro"], "debian");
  EXPECT_EQ(p["os_version"], "12");
  EXPECT_EQ(p["architecture"], "x86_64");
  EXPECT_EQ(p["hw_qemu_guest_agent"], "yes");
  EXPECT_EQ(p["hw_disk_bus"], "virtio");
  EXPECT_EQ(p["hw_vif_model"], "virtio");
  EXPECT_EQ(p["hw_firmware_type"], "uefi");
}

// Debian 12's cloud kernel ships virtio_blk and virtio_scsi both (the rule is
// the same whether they are modules or built in): the root disk stays on
// virtio-blk, Nova's default, and any SCSI device gets the virtio-scsi
// controller the guest can drive.
TEST(InspectProperties, BothVirtioDriversKeepVirtioBusAndNameTheScsiModel) {
  GuestFacts f;
  f.type = "linux";
  f.virtio_blk = true;
  f.virtio_scsi = true;
  auto p = glance_properties(f);
  EXPECT_EQ(p["hw_disk_bus"], "virtio");
  EXPECT_EQ(p["hw_scsi_model"], "virtio-scsi");
}

TEST(InspectProperties, VirtioBlkAloneSetsNoScsiModel) {
  GuestFacts f;
  f.type = "linux";
  f.virtio_blk = true;
  auto p = glance_properties(f);
  EXPECT_EQ(p["hw_disk_bus"], "virtio");
  EXPECT_EQ(p.count("hw_scsi_model"), 0u);
}

TEST(InspectProperties, UbuntuZeroPadsMinorArchAndI686) {
  GuestFacts f;
  f.type = "linux";
  f.distro = "ubuntu";
  f.major_version = 22;
  f.minor_version = 4;
  f.arch = "i386";
  auto p = glance_properties(f);
  EXPECT_EQ(p["os_version"], "22.04");
  EXPECT_EQ(p["architecture"], "i686");
  f.distro = "archlinux";
  EXPECT_EQ(glance_properties(f)["os_distro"], "arch");
}

TEST(InspectProperties, NothingIsUnknown) {
  GuestFacts f;
  f.type = "unknown";
  f.distro = "unknown";
  f.arch = "unknown";
  f.qemu_guest_agent = false;
  f.virtio_scsi = true;
  auto p = glance_properties(f);
  EXPECT_EQ(p.count("os_type"), 0u);
  EXPECT_EQ(p.count("os_distro"), 0u);
  EXPECT_EQ(p.count("os_version"), 0u);
  EXPECT_EQ(p.count("architecture"), 0u);
  EXPECT_EQ(p.count("hw_qemu_guest_agent"), 0u);
  EXPECT_EQ(p["hw_disk_bus"], "scsi");
  EXPECT_EQ(p["hw_scsi_model"], "virtio-scsi");
  for (const auto& [k, v] : p) EXPECT_NE(v, "unknown") << k;
}

// ---- real libguestfs -----------------------------------------------------------
// Times under TCG on this project's 2-core machines: about 20 s per appliance
// start when idle, 35-60 s with other builds running; see docs/inspect.md.

using test::guest::expect_properties;
using test::guest::read_facts;

class GuestfsInspect : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_GUEST_INSPECTION(); }  // fails, never skips
};

// One image, three containers. The raw run takes the default accelerator path
// (KVM first, as users get it) and the human output; the others force TCG.
TEST_F(GuestfsInspect, SkeletonAsRawQcow2AndStreamOptimizedVmdk) {
  test::TempDir d;
  const std::string raw = test::guest::make_skeleton(d.path().string());
  test::qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(d.file("skeleton.qcow2")));
  test::qemu_img("convert -f raw -O vmdk -o subformat=streamOptimized " + sh_quote(raw) + " " +
                 sh_quote(d.file("skeleton.vmdk")));
  auto facts = read_facts(d.file("skeleton.facts"));
  auto h = run(test::imgtool_bin() + " inspect --guest " + sh_quote(raw));
  ASSERT_EQ(h.exit_code, 0) << h.err;
  for (const char* line :
       {"hostname: skeleton-guest", "    os_type=linux", "    os_distro=debian", "    os_version=12",
        "    architecture=x86_64", "    hw_disk_bus=virtio", "inspected with: libguestfs direct ("})
    EXPECT_NE(h.out.find(line), std::string::npos) << line << " missing in\n" << h.out;
  for (const char* f : {"skeleton.qcow2", "skeleton.vmdk"}) {
    SCOPED_TRACE(f);
    auto r = run(test::guest::tcg() + test::imgtool_bin() + " inspect --guest --output=json " +
                 sh_quote(d.file(f)));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_properties(r.out, facts);
    EXPECT_NE(r.out.find("\"hostname\": \"skeleton-guest\""), std::string::npos) << r.out;
  }
}

// A kernel with the virtio drivers built in (modules.builtin, no .ko files)
// and virtio_scsi next to virtio_blk.
TEST_F(GuestfsInspect, BuiltinVirtioDriversGiveTheVirtioScsiModel) {
  test::TempDir d;
  const std::string img = test::guest::make_skeleton(d.path().string(), "--builtin-virtio");
  auto r = run(test::guest::tcg() + test::imgtool_bin() + " inspect --guest --output=json " + sh_quote(img));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_properties(r.out, read_facts(d.file("skeleton.facts")));
  EXPECT_NE(r.out.find("\"hw_scsi_model\": \"virtio-scsi\""), std::string::npos) << r.out;
}

// A real Debian 12 (debootstrap from this machine's apt mirror) on a GPT disk
// with an ESP. Built once per build directory: the image is kept and rebuilt
// only when make_guest.sh is newer.
TEST_F(GuestfsInspect, DebianGuestFromDebootstrap) {
  for (const auto& [tool, package] : std::map<std::string, std::string>{{"debootstrap", "debootstrap"},
                                                                        {"mkfs.vfat", "dosfstools"},
                                                                        {"mmd", "mtools"},
                                                                        {"sfdisk", "fdisk"}})
    REQUIRE_TOOL(tool, package);
  const std::string dir = std::string(IMGTOOL_BUILD_DIR) + "/test-guests";
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool fresh =
      fs::exists(dir + "/debian.facts") && fs::last_write_time(dir + "/debian.facts", ec) >
                                               fs::last_write_time(test::guest::make_guest_script(), ec);
  if (!fresh) {
    auto r0 = run(test::guest::make_guest_script() + " debian " + sh_quote(dir));
    ASSERT_EQ(r0.exit_code, 0) << r0.err;
  }
  auto facts = read_facts(dir + "/debian.facts");
  auto r = run(test::guest::tcg() + test::imgtool_bin() + " inspect --guest --output=json " +
               sh_quote(dir + "/debian.raw"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_properties(r.out, facts);
  EXPECT_NE(r.out.find("\"hostname\": \"debian-guest\""), std::string::npos) << r.out;
}

}  // namespace

// Refusals happen before libguestfs and do not need the appliance.
TEST(InspectSafety, BackingFileNamingHostFileIsRefusedBeforeLibguestfs) {
  test::TempDir d;
  std::string img = d.file("evil.qcow2");
  test::qemu_img("create -q -f qcow2 -b /etc/hostname -F raw -u " + test::sh_quote(img) + " 1M");
  auto r = test::run(test::imgtool_bin() + " inspect --guest " + test::sh_quote(img));
  EXPECT_NE(r.exit_code, 0);
  if (guest_inspection_available()) {
    EXPECT_NE(r.err.find("refused before guest inspection"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/etc/hostname"), std::string::npos) << r.err;
  } else {
    EXPECT_NE(r.err.find("no guest inspection"), std::string::npos) << r.err;
  }
}

TEST(InspectSafety, NeedsGuestFlag) {
  auto r = test::run(test::imgtool_bin() + " inspect /dev/null");
  EXPECT_EQ(r.exit_code, 64) << r.err;
}

}  // namespace imgtool
