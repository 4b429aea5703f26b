// Starting the libguestfs appliance on the checked disk (built only with
// IMGTOOL_WITH_GUESTFS; runs in the inspection child).
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "guestfs/guestfs_handle.hpp"
#include "imgtool/error.hpp"

namespace imgtool::inspect {
namespace {

// qemu must read the descriptor imgtool checked, never the path, which may
// name another file by now. Handing libguestfs /dev/fd/N or /proc/PID/fd/N
// does not do that: it passes every drive name through realpath(), which
// follows those links back to the path, and the qemu it starts closes every
// inherited descriptor. So libguestfs gets a qcow2 overlay, made here in the
// private TMPDIR, whose backing file is /proc/<this process>/fd/<fd>: qemu-img
// and qemu open that name exactly as stored, and the kernel resolves it to the
// open file, the very inode that was checked. This process holds the
// descriptor for as long as qemu runs (qemu is its child).
std::string checked_disk_overlay(guestfs_h* g, const ChildDisk& disk) {
  const char* tmp = std::getenv("TMPDIR");  // the inspection's private directory (set by the parent)
  if (tmp == nullptr || *tmp == '\0') throw Error(ErrorKind::Io, "", "guest inspection child has no TMPDIR");
  const std::string overlay = std::string(tmp) + "/checked-disk-" + std::to_string(::getpid()) + ".qcow2";
  const std::string backing = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(disk.fd);
  if (gfs().disk_create(g, overlay.c_str(), "qcow2", -1, GUESTFS_DISK_CREATE_BACKINGFILE, backing.c_str(),
                        GUESTFS_DISK_CREATE_BACKINGFORMAT, disk.format.c_str(), -1) == -1)
    fail(g, "cannot create the overlay over the checked image");
  return overlay;
}

}  // namespace

void fail(guestfs_h* g, const std::string& what) {
  const char* e = gfs().last_error(g);
  throw Error(ErrorKind::Io, "", what + ": " + (e ? e : "unknown libguestfs error"));
}

Guestfs launch_appliance(const ChildDisk& disk, bool force_tcg) {
  Guestfs g(gfs().create());
  if (!g) throw Error(ErrorKind::Io, "", "cannot create libguestfs handle");
  gfs().set_identifier(g.get(), "imgtool");
  // Errors become exceptions with guestfs_last_error(); libguestfs must not
  // also print its multi-line help text on stderr.
  gfs().set_error_handler(g.get(), nullptr, nullptr);
  // Only the direct backend runs qemu as this user, able to open
  // /proc/<this process>/fd/N; libvirt's qemu runs as another user.
  if (gfs().set_backend(g.get(), "direct") == -1) fail(g.get(), "cannot select the direct backend");
  if (force_tcg) {
    // Keep what the user set in LIBGUESTFS_BACKEND_SETTINGS and add force_tcg.
    std::vector<std::string> settings = take_list(gfs().get_backend_settings(g.get()));
    settings.push_back("force_tcg");
    std::vector<char*> argv;
    for (auto& s : settings) argv.push_back(s.data());
    argv.push_back(nullptr);
    if (gfs().set_backend_settings(g.get(), argv.data()) == -1) fail(g.get(), "cannot add force_tcg");
  }
  const std::string overlay = checked_disk_overlay(g.get(), disk);
  if (gfs().add_drive_opts(g.get(), overlay.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2",
                           GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1) == -1)
    fail(g.get(), "cannot add the image to libguestfs");
  if (gfs().launch(g.get()) == -1) fail(g.get(), "libguestfs appliance failed to start");
  return g;
}

std::string accelerator_in_use(guestfs_h* g) {
  // Linux logs the hypervisor it finds in CPUID; under TCG it finds no KVM.
  const std::string dmesg = take(gfs().dmesg(g));
  return dmesg.find("Hypervisor detected: KVM") != std::string::npos ? "kvm" : "tcg";
}

}  // namespace imgtool::inspect
