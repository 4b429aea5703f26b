// Guest inspection reads the very file imgtool checked: libguestfs and qemu
// get the checked descriptor, never the path, so a file swapped in after the
// check is not what they read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "guestfs/guest_support.hpp"
#include "imgtool/error.hpp"
#include "inspect/vet.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::guest {
namespace {

// Lines of an `strace -f -o LOG` log that mention `needle`, split by whether
// they come from the first process (the one strace started).
struct Mentions {
  std::vector<std::string> by_first, by_others;
};

Mentions mentions(const std::string& log, const std::string& needle) {
  Mentions m;
  std::istringstream in(log);
  std::string line, first_pid;
  while (std::getline(in, line)) {
    const std::string pid = line.substr(0, line.find(' '));
    if (first_pid.empty()) first_pid = pid;
    if (line.find(needle) == std::string::npos) continue;
    (pid == first_pid ? m.by_first : m.by_others).push_back(line);
  }
  return m;
}

ino_t inode_of_fd(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

TEST(InspectVet, HandsOnTheCheckedDescriptorAndQemusFormatName) {
  TempDir d;
  const std::string img = d.file("disk.qcow2");
  qemu_img("create -q -f qcow2 " + sh_quote(img) + " 1M");
  struct stat before {};
  ASSERT_EQ(::stat(img.c_str(), &before), 0);
  inspect::VettedDisk v = inspect::vet(open_file_source(img), {});
  EXPECT_EQ(v.format, "qcow2");
  ASSERT_TRUE(v.fd);
  EXPECT_GT(v.fd.get(), 2);
  EXPECT_NE(::fcntl(v.fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  // Whatever the path names later, the descriptor is the file that was checked.
  std::filesystem::remove(img);
  qemu_img("create -q -f raw " + sh_quote(img) + " 1M");
  EXPECT_EQ(inode_of_fd(v.fd.get()), before.st_ino);

  write_file(d.file("blank.raw"), std::string(4096, '\0'));
  EXPECT_EQ(inspect::vet(open_file_source(d.file("blank.raw")), {}).format, "raw");
}

TEST(InspectVet, RefusesImagesNamingOtherFiles) {
  TempDir d;
  const std::string img = d.file("evil.qcow2");
  qemu_img("create -q -f qcow2 -b /etc/hostname -F raw -u " + sh_quote(img) + " 1M");
  try {
    inspect::vet(open_file_source(img), {});
    ADD_FAILURE() << "vet() accepted an image with a backing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsafe);
    EXPECT_NE(e.message().find("refused before guest inspection"), std::string::npos) << e.message();
  }
}

TEST(GuestfsDescriptor, FileSwappedAfterTheCheckIsNotWhatLibguestfsReads) {
  REQUIRE_GUEST_INSPECTION();
  REQUIRE_TOOL("strace", "strace");
  TempDir d;
  const std::string checked = make_skeleton(d.file("checked"));  // hostname skeleton-guest
  make_skeleton(d.file("other"), "--hostname swapped-guest");
  // When qemu boots the appliance (long after imgtool's check), another image
  // takes the checked path. Relative names, so that the wrapper's own rename
  // does not show up in the strace check below.
  const std::string hv = write_hv_wrapper(
      d.path().string(), "if is_launch \"$@\"; then cd " + sh_quote(d.file("checked")) +
                             " && mv -f ../other/skeleton.raw skeleton.raw && touch ../swapped; fi");
  const std::string log = d.file("strace.log");
  auto r = run(tcg() + "LIBGUESTFS_HV=" + sh_quote(hv) + " strace --seccomp-bpf -f -qq -e trace=%file -o " +
               sh_quote(log) + " " + imgtool_bin() + " inspect --guest --output=json " + sh_quote(checked));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(d.file("swapped"))) << "the wrapper never swapped the image";
  EXPECT_NE(r.out.find("\"hostname\": \"skeleton-guest\""), std::string::npos)
      << "libguestfs inspected a file imgtool never checked:\n"
      << r.out;
  // imgtool opens the path once, to check it; nothing it starts (libguestfs,
  // qemu-img, qemu) names it again.
  Mentions m = mentions(read_file(log), checked);
  EXPECT_FALSE(m.by_first.empty()) << "strace saw no open of " << checked;
  EXPECT_TRUE(m.by_others.empty()) << "reopened by path:\n" << joined(m.by_others);
}

}  // namespace
}  // namespace imgtool::test::guest
