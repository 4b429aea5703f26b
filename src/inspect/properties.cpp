// Facts → Glance properties. Rules measured on Debian 12 guests (issue 7) and
// Glance's useful-image-properties list; virt-v2v's
// output/openstack_image_properties.ml makes the same choices, except for
// hw_scsi_model (see below).
#include <cstdio>

#include "imgtool/inspect.hpp"

namespace imgtool {
namespace {

// Ubuntu-style releases are YY.MM: the minor is zero-padded ("22.04").
// Debian and most others are known by their major alone ("12") unless a
// minor is meaningful (fedora has none, rhel "9.3").
std::string os_version(const GuestFacts& f) {
  if (f.major_version <= 0) return "";
  if (f.distro == "ubuntu") {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%d.%02d", f.major_version, f.minor_version);
    return buf;
  }
  if (f.distro == "debian" || f.distro == "fedora" || f.distro == "archlinux" || f.minor_version == 0)
    return std::to_string(f.major_version);
  return std::to_string(f.major_version) + "." + std::to_string(f.minor_version);
}

std::string os_distro(const std::string& d) {
  // Glance's os_distro vocabulary (libosinfo short names): archlinux → arch.
  if (d == "archlinux") return "arch";
  if (d == "unknown") return "";
  return d;
}

std::string architecture(const std::string& a) {
  // Glance/Nova use the libvirt arch names: i386 → i686.
  if (a == "i386") return "i686";
  if (a == "unknown") return "";
  return a;
}

}  // namespace

std::map<std::string, std::string> glance_properties(const GuestFacts& f) {
  std::map<std::string, std::string> p;
  auto put = [&p](const char* k, const std::string& v) {
    if (!v.empty() && v != "unknown") p[k] = v;
  };
  put("os_type", f.type);
  put("os_distro", os_distro(f.distro));
  put("os_version", os_version(f));
  put("architecture", architecture(f.arch));
  if (f.qemu_guest_agent && *f.qemu_guest_agent) p["hw_qemu_guest_agent"] = "yes";
  // Disk bus: virtio-blk whenever the guest has it. It is Nova's default on
  // KVM, so the root disk keeps its name (/dev/vda) and needs no other driver
  // in the initramfs; moving a guest that can do both to scsi is the
  // operator's call (--property hw_disk_bus=scsi), not a guess from the files.
  if (f.virtio_blk)
    p["hw_disk_bus"] = "virtio";
  else if (f.virtio_scsi)
    p["hw_disk_bus"] = "scsi";
  // SCSI controller model: whenever the guest can drive virtio-scsi, and
  // independently of the disk bus. Without it Nova puts any SCSI device (a
  // volume attached with bus scsi, a SCSI cd-rom, hw_disk_bus=scsi set later)
  // on the emulated LSI controller, which a cloud kernel such as Debian 12's
  // has no driver for. virt-v2v sets it only with hw_disk_bus=scsi because it
  // picks one bus; here it describes what the guest supports.
  if (f.virtio_scsi) p["hw_scsi_model"] = "virtio-scsi";
  if (f.virtio_net) p["hw_vif_model"] = "virtio";
  if (f.firmware == "uefi") p["hw_firmware_type"] = "uefi";
  return p;
}

}  // namespace imgtool
