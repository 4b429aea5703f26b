// What libguestfs finds inside the guest (built only with
// IMGTOOL_WITH_GUESTFS). Runs inside the child process forked by
// src/inspect/inspect_runner.cpp.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "guestfs/guestfs_handle.hpp"
#include "imgtool/error.hpp"

namespace imgtool::inspect {
namespace {

constexpr const char* kEspGuid = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

// hw_firmware_type: a GPT ESP partition that holds /EFI means UEFI boot.
void detect_firmware(guestfs_h* g, GuestFacts* f) {
  std::vector<std::string> devices = take_list(gfs().list_devices(g));
  if (devices.empty()) return;
  gfs().push_error_handler(g, nullptr, nullptr);  // a bare filesystem has no partition table
  f->partition_table = take(gfs().part_get_parttype(g, devices[0].c_str()));
  bool esp_with_efi = false;
  if (f->partition_table == "gpt") {
    for (const std::string& part : take_list(gfs().list_partitions(g))) {
      int n = gfs().part_to_partnum(g, part.c_str());
      std::string dev = take(gfs().part_to_dev(g, part.c_str()));
      if (n < 0 || dev.empty()) continue;
      if (take(gfs().part_get_gpt_type(g, dev.c_str(), n)) != kEspGuid) continue;
      if (gfs().mount_ro(g, part.c_str(), "/") == 0) {
        esp_with_efi = gfs().is_dir(g, "/EFI") == 1 || gfs().is_dir(g, "/efi") == 1;
        gfs().umount_all(g);
      }
      if (esp_with_efi) break;
    }
  }
  gfs().pop_error_handler(g);
  if (esp_with_efi)
    f->firmware = "uefi";
  else if (f->partition_table == "msdos")
    f->firmware = "bios";
}

bool module_present(guestfs_h* g, const char* name) {
  // As a loadable module ...
  std::string pattern = std::string("/lib/modules/*/kernel/drivers/*/") + name + ".ko*";
  std::string pattern2 = std::string("/lib/modules/*/kernel/drivers/*/*/") + name + ".ko*";
  if (!take_list(gfs().glob_expand(g, pattern.c_str())).empty()) return true;
  if (!take_list(gfs().glob_expand(g, pattern2.c_str())).empty()) return true;
  // ... or built into the kernel.
  for (const std::string& f : take_list(gfs().glob_expand(g, "/lib/modules/*/modules.builtin"))) {
    size_t size = 0;
    char* data = gfs().read_file(g, f.c_str(), &size);
    if (data == nullptr) continue;
    std::string text(data, size);
    std::free(data);
    if (text.find(std::string("/") + name + ".ko") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

GuestFacts guestfs_inspect(const ChildDisk& disk, bool force_tcg,
                           const std::function<void(const std::string& accelerator)>& launched) {
  GuestFacts f;
  Guestfs g = launch_appliance(disk, force_tcg);
  launched(accelerator_in_use(g.get()));
  f.backend = take(gfs().get_backend(g.get()));
  guestfs_h* h = g.get();
  detect_firmware(h, &f);

  std::vector<std::string> roots = take_list(gfs().inspect_os(h));
  if (roots.empty()) throw Error(ErrorKind::Format, "", "no operating system found in the image");
  const char* root = roots[0].c_str();
  f.type = take(gfs().inspect_get_type(h, root));
  f.distro = take(gfs().inspect_get_distro(h, root));
  f.product_name = take(gfs().inspect_get_product_name(h, root));
  f.major_version = gfs().inspect_get_major_version(h, root);
  f.minor_version = gfs().inspect_get_minor_version(h, root);
  f.arch = take(gfs().inspect_get_arch(h, root));
  f.hostname = take(gfs().inspect_get_hostname(h, root));
  f.package_format = take(gfs().inspect_get_package_format(h, root));
  f.osinfo = take(gfs().inspect_get_osinfo(h, root));

  // Mount read-only, shortest mount point first, to look at packages and modules.
  std::vector<std::string> mps = take_list(gfs().inspect_get_mountpoints(h, root));
  std::vector<std::pair<std::string, std::string>> mounts;  // (mountpoint, device)
  for (size_t i = 0; i + 1 < mps.size(); i += 2) mounts.emplace_back(mps[i], mps[i + 1]);
  std::sort(mounts.begin(), mounts.end(),
            [](const auto& a, const auto& b) { return a.first.size() < b.first.size(); });
  gfs().push_error_handler(h, nullptr, nullptr);
  for (const auto& [mp, dev] : mounts) gfs().mount_ro(h, dev.c_str(), mp.c_str());
  gfs().pop_error_handler(h);

  if (guestfs_application2_list* apps = gfs().inspect_list_applications2(h, root)) {
    bool qga = false;
    for (uint32_t i = 0; i < apps->len; ++i)
      if (std::strcmp(apps->val[i].app2_name, "qemu-guest-agent") == 0) qga = true;
    f.qemu_guest_agent = qga;
    gfs().free_application2_list(apps);
  }
  if (f.type == "linux") {
    f.virtio_blk = module_present(h, "virtio_blk");
    f.virtio_scsi = module_present(h, "virtio_scsi");
    f.virtio_net = module_present(h, "virtio_net");
  }
  gfs().umount_all(h);
  gfs().shutdown(h);
  return f;
}

}  // namespace imgtool::inspect
