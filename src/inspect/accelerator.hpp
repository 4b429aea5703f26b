#pragma once
// Which accelerator the appliance gets, decided by trying: KVM first with a
// launch deadline, then TCG. On some machines qemu under KVM aborts at once;
// on others it prints the BIOS banner and hangs for ever, and libguestfs' own
// launch timeout is far longer than any user waits. A KVM appliance is up a few
// seconds after qemu starts, a TCG one in about 20, so a KVM attempt that has
// not launched 15 s after qemu started is treated as failed, whatever it
// looks like, and TCG is tried.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgtool::inspect {

struct Attempt {
  bool force_tcg = false;
  // Kill the attempt if the appliance is not up this long after qemu started.
  std::optional<std::chrono::seconds> launch_deadline;
};

struct AttemptPlan {
  std::vector<Attempt> attempts;
  std::string tcg_reason;  // why there is no KVM attempt ("" when there is one)
};

// `backend_settings`: LIBGUESTFS_BACKEND_SETTINGS (colon-separated, may be
// null). `kvm_usable`: /dev/kvm opens read-write, as libguestfs requires before
// it asks qemu for KVM. Pure (for tests).
//   force_tcg set by the user     -> TCG only
//   force_kvm set by the user     -> KVM only, no launch deadline (their call)
//   /dev/kvm not usable           -> TCG only (libguestfs would pick TCG anyway)
//   otherwise                     -> KVM with `kvm_deadline`, then TCG
AttemptPlan plan_attempts(const char* backend_settings, bool kvm_usable, std::chrono::seconds kvm_deadline);

// /dev/kvm can be opened read-write by this process.
bool kvm_usable() noexcept;

}  // namespace imgtool::inspect
