#pragma once
// The boundary between the always-built inspection runner and the libguestfs
// sources (src/guestfs/, built only with IMGTOOL_WITH_GUESTFS). Runs inside
// the forked child.
#include <functional>
#include <string>

#include "imgtool/inspect.hpp"

namespace imgtool::inspect {

// The disk as the child hands it to libguestfs: the descriptor imgtool
// checked (inherited across fork) and its qemu format name.
struct ChildDisk {
  int fd = -1;
  std::string format;
};

// Inspects `disk` (read-only) in this process and returns the facts
// (`backend`: the libguestfs backend's name). `force_tcg` adds force_tcg to
// the backend settings. `launched` is called once the appliance is up, with
// the accelerator it runs on ("kvm" or "tcg"). Throws Error on failure. Only
// defined when the build has libguestfs.
GuestFacts guestfs_inspect(const ChildDisk& disk, bool force_tcg,
                           const std::function<void(const std::string& accelerator)>& launched);

// Loads libguestfs (src/guestfs/guestfs_api.hpp) in this process, once:
// the runner calls it before vetting and forking, so that a missing library
// is one clear Error(Unsupported) ("guest inspection needs libguestfs
// (libguestfs.so.0): ...") and each child finds it loaded. Only defined when
// the build has libguestfs.
void load_guestfs();

// Facts <-> JSON, for the pipe between the child and the parent.
std::string facts_to_json(const GuestFacts& f);
GuestFacts facts_from_json(const std::string& json);

}  // namespace imgtool::inspect
