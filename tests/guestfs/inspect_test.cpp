// Guest inspection: the property mapping rules (always), and real libguestfs
// runs on guests built by tests/images/make_guest.sh (when the build has
// libguestfs and the appliance can start; otherwise skipped with the reason).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>

#include "guestfs/guest_support.hpp"
#include "imgtool/inspect.hpp"
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

std::map<std::string, std::string> read_facts(const std::string& path) {
  std::map<std::string, std::string> m;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

std::string make_guest() { return std::string(IMGTOOL_SOURCE_DIR) + "/tests/images/make_guest.sh"; }

// One shared directory of guest images per test run (building them is the
// expensive part).
const std::string& guest_dir() {
  static const std::string dir = std::string(IMGTOOL_BUILD_DIR) + "/test-guests";
  return dir;
}

std::string appliance_skip_reason() {
  if (!guest_inspection_available()) return "this build has no libguestfs";
  if (!test::have_tool("qemu-system-x86_64") && !test::have_tool("qemu-kvm"))
    return "no qemu-system to run the libguestfs appliance";
  return "";
}

void expect_properties(const std::string& json_out, const std::map<std::string, std::string>& facts) {
  for (const char* key : {"os_type", "os_distro", "os_version", "architecture", "hw_qemu_guest_agent",
                          "hw_disk_bus", "hw_vif_model", "hw_firmware_type"}) {
    auto it = facts.find(key);
    ASSERT_NE(it, facts.end()) << key;
    if (it->second.empty()) {
      EXPECT_EQ(json_out.find(std::string("\"") + key + "\""), std::string::npos) << key << " set but unknown";
    } else {
      EXPECT_NE(json_out.find(std::string("\"") + key + "\": \"" + it->second + "\""), std::string::npos)
          << key << "=" << it->second << " missing in\n"
          << json_out;
    }
  }
}

class GuestfsInspect : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = appliance_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

TEST_F(GuestfsInspect, SkeletonAsQcow2RawAndStreamOptimizedVmdk) {
  test::TempDir d;
  test::run_ok(make_guest() + " skeleton " + sh_quote(d.path().string()));
  std::string raw = d.file("skeleton.raw");
  test::qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(d.file("skeleton.qcow2")));
  test::qemu_img("convert -f raw -O vmdk -o subformat=streamOptimized " + sh_quote(raw) + " " +
                 sh_quote(d.file("skeleton.vmdk")));
  auto facts = read_facts(d.file("skeleton.facts"));
  for (const char* f : {"skeleton.raw", "skeleton.qcow2", "skeleton.vmdk"}) {
    SCOPED_TRACE(f);
    auto r = run(test::imgtool_bin() + " inspect --guest --output=json " + sh_quote(d.file(f)));
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
  test::guest::expect_properties(r.out, test::guest::read_facts(d.file("skeleton.facts")));
  EXPECT_NE(r.out.find("\"hw_scsi_model\": \"virtio-scsi\""), std::string::npos) << r.out;
}

TEST_F(GuestfsInspect, DebianGuestFromDebootstrap) {
  std::string dir = guest_dir();
  if (!test::have_tool("debootstrap")) GTEST_SKIP() << "debootstrap not installed";
  auto r0 = run(make_guest() + " debian " + sh_quote(dir));
  ASSERT_EQ(r0.exit_code, 0) << r0.err;
  auto facts = read_facts(dir + "/debian.facts");
  auto r = run(test::imgtool_bin() + " inspect --guest --output=json " + sh_quote(dir + "/debian.raw"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_properties(r.out, facts);
  auto h = run(test::imgtool_bin() + " inspect --guest " + sh_quote(dir + "/debian.raw"));
  EXPECT_NE(h.out.find("os_distro=debian"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("os_version=" + facts["os_version"]), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("architecture=x86_64"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("os_type=linux"), std::string::npos) << h.out;
}

TEST_F(GuestfsInspect, TinyTimeoutKillsTheApplianceAndLeavesNoQemu) {
  test::TempDir d;
  test::run_ok(make_guest() + " skeleton " + sh_quote(d.path().string()));
  // TMPDIR puts libguestfs' sockets and overlay under d, so its qemu is recognisable.
  auto r = run("TMPDIR=" + sh_quote(d.path().string()) + " " + test::imgtool_bin() +
               " inspect --guest --timeout 1 " + sh_quote(d.file("skeleton.raw")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("timed out after 1 s"), std::string::npos) << r.err;
  // Only processes whose program is a qemu-system binary (not this shell,
  // whose command line also names the directory).
  auto ps = run("sleep 1; pgrep -af '^[^ ]*qemu-system' | grep -F " + sh_quote(d.path().string()) + " || true");
  EXPECT_EQ(ps.out, "") << "leftover qemu: " << ps.out;
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
