#include <nlohmann/json.hpp>

#include "imgtool/error.hpp"
#include "inspect/guest_child.hpp"

namespace imgtool::inspect {

std::string facts_to_json(const GuestFacts& f) {
  nlohmann::json j{{"type", f.type},
                   {"distro", f.distro},
                   {"product_name", f.product_name},
                   {"major_version", f.major_version},
                   {"minor_version", f.minor_version},
                   {"arch", f.arch},
                   {"hostname", f.hostname},
                   {"package_format", f.package_format},
                   {"osinfo", f.osinfo},
                   {"virtio_blk", f.virtio_blk},
                   {"virtio_scsi", f.virtio_scsi},
                   {"virtio_net", f.virtio_net},
                   {"partition_table", f.partition_table},
                   {"firmware", f.firmware},
                   {"backend", f.backend},
                   {"seconds", f.seconds}};
  if (f.qemu_guest_agent) j["qemu_guest_agent"] = *f.qemu_guest_agent;
  return j.dump();
}

GuestFacts facts_from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(ErrorKind::Io, "", "guest inspection returned malformed data");
  if (j.contains("error")) throw Error(ErrorKind::Io, "", j["error"].get<std::string>());
  GuestFacts f;
  auto s = [&j](const char* k) { return j.value(k, std::string()); };
  f.type = s("type");
  f.distro = s("distro");
  f.product_name = s("product_name");
  f.major_version = j.value("major_version", 0);
  f.minor_version = j.value("minor_version", 0);
  f.arch = s("arch");
  f.hostname = s("hostname");
  f.package_format = s("package_format");
  f.osinfo = s("osinfo");
  if (j.contains("qemu_guest_agent")) f.qemu_guest_agent = j["qemu_guest_agent"].get<bool>();
  f.virtio_blk = j.value("virtio_blk", false);
  f.virtio_scsi = j.value("virtio_scsi", false);
  f.virtio_net = j.value("virtio_net", false);
  f.partition_table = s("partition_table");
  f.firmware = s("firmware");
  f.backend = s("backend");
  f.seconds = j.value("seconds", 0.0);
  return f;
}

}  // namespace imgtool::inspect
