#pragma once
// Guest inspection: what OS is inside an image, and the Glance properties
// Nova uses to schedule and configure it (os_type, os_distro, os_version,
// architecture, hw_*). Built on libguestfs when the build has it
// (IMGTOOL_WITH_GUESTFS); the rules that turn facts into properties are
// plain code and always available.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "imgtool/cancel.hpp"
#include "imgtool/format.hpp"
#include "imgtool/source.hpp"

namespace imgtool {

// What libguestfs found inside the guest. Empty strings / nullopt mean
// "not determined" — such facts never become properties.
struct GuestFacts {
  std::string type;          // linux, windows, freebsd...
  std::string distro;        // debian, ubuntu, fedora, archlinux, windows...
  std::string product_name;  // "Debian GNU/Linux 12 (bookworm)"
  int major_version = 0;
  int minor_version = 0;
  std::string arch;  // x86_64, i386, aarch64...
  std::string hostname;
  std::string package_format;            // deb, rpm...
  std::string osinfo;                    // osinfo short id: debian12, ubuntu22.04...
  std::optional<bool> qemu_guest_agent;  // package qemu-guest-agent installed
  bool virtio_blk = false;               // module present (.ko or modules.builtin) under /lib/modules/*
  bool virtio_scsi = false;
  bool virtio_net = false;
  std::string partition_table;  // gpt, msdos, "" (bare filesystem)
  std::string firmware;  // "uefi" when a GPT ESP holds /EFI, "bios" when an MBR disk has no ESP, else ""
  // How the inspection ran.
  std::string backend;  // libguestfs backend and accelerator used, e.g. "direct (kvm)" or
                        // "direct (tcg; KVM did not start the appliance within 15 s)"
  double seconds = 0;   // wall time of the inspection
};

// The Glance image properties these facts map to (imgtool's rules, see
// docs/inspect.md). Nothing is ever set to "unknown": undetermined facts are
// left out.
std::map<std::string, std::string> glance_properties(const GuestFacts& facts);

struct InspectOptions {
  std::chrono::seconds timeout{300};  // deadline for the whole inspection (child killed after it)
  std::optional<Format> format;       // explicit format; nullopt = imgtool's detection
  // A KVM attempt whose appliance is not up this long after qemu started is
  // killed and TCG is tried (qemu under KVM hangs after the BIOS on some
  // machines; a KVM appliance is up in a few seconds, a TCG one in about 20).
  std::chrono::seconds kvm_launch_deadline{15};
  // Stops the inspection (the appliance is killed). Empty: the calling
  // thread's token (imgtool/cancel.hpp).
  CancelToken cancel;
};

// True when this build has guest inspection and libguestfs can be loaded
// (imgtool opens libguestfs.so.0 at the first inspection, not at startup;
// this call loads it).
bool guest_inspection_available() noexcept;

// Detects the format with imgtool's own parser and runs its safety check
// FIRST (an image naming other files is refused with Error(Unsafe) before
// libguestfs sees it), then inspects read-only, with the explicit format and
// the very descriptor that was checked, in a child process with a deadline
// (KVM first, then TCG; see docs/inspect.md). Throws Error(Unsupported) when
// the build has no libguestfs or libguestfs.so.0 cannot be loaded,
// Error(Interrupted) on SIGINT/SIGTERM (the child is killed and reaped),
// Error(Io) on timeout or appliance failure. Nothing is left behind on any of
// these paths. Call it from a thread that outlives the call (the child is tied
// to the forking thread's life).
GuestFacts inspect_guest(const std::string& path, const InspectOptions& opts = {});
// The same on a source that is already open (a file source): what is checked
// and inspected is that very file — publish --auto-properties inspects the
// descriptor it uploads.
GuestFacts inspect_guest(std::shared_ptr<const ByteSource> src, const InspectOptions& opts = {});

}  // namespace imgtool
