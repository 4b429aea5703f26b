#pragma once
// libguestfs handle ownership and result conversion, shared by the files in
// src/guestfs/ (built only with IMGTOOL_WITH_GUESTFS).
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "guestfs/guestfs_api.hpp"  // gfs(): libguestfs, loaded at first use
#include "inspect/guest_child.hpp"

namespace imgtool::inspect {

struct GuestfsClose {
  void operator()(guestfs_h* g) const noexcept { gfs().close(g); }
};
using Guestfs = std::unique_ptr<guestfs_h, GuestfsClose>;

// libguestfs returns malloc'ed strings and NULL-terminated string lists.
inline std::string take(char* s) {
  if (s == nullptr) return "";
  std::string r(s);
  std::free(s);
  return r;
}
inline std::vector<std::string> take_list(char** l) {
  std::vector<std::string> v;
  if (l == nullptr) return v;
  for (char** p = l; *p != nullptr; ++p) {
    v.emplace_back(*p);
    std::free(*p);
  }
  std::free(l);
  return v;
}

// Throws Error(Io): `what` and libguestfs' last error.
[[noreturn]] void fail(guestfs_h* g, const std::string& what);

// A handle with `disk` added read-only and the appliance launched (direct
// backend; `force_tcg` adds force_tcg to the backend settings).
Guestfs launch_appliance(const ChildDisk& disk, bool force_tcg);

// "kvm" or "tcg": what the launched appliance runs on. A KVM attempt asks qemu
// for accel=kvm:tcg, and qemu silently takes TCG when KVM will not start, so
// the appliance's kernel is asked.
std::string accelerator_in_use(guestfs_h* g);

}  // namespace imgtool::inspect
