#pragma once
// The gate in front of guest inspection: imgtool's own parser and safety
// check decide whether an image may reach libguestfs/qemu, and the descriptor
// that was checked is what they get — never the path, which could name a
// different file by the time qemu opens it.
#include <memory>
#include <string>

#include "imgtool/inspect.hpp"
#include "io/unique_fd.hpp"

namespace imgtool::inspect {

struct VettedDisk {
  io::UniqueFd fd;     // the very file that was checked (a dup, O_CLOEXEC)
  std::string format;  // qemu format name: raw|qcow2|vmdk
};

// Opens `path`, detects its format (or takes opts.format) and checks it.
// Throws Error(Unsafe) for an image naming other files, Error(Format) for a
// corrupt one, Error(Unsupported) for a format qemu is not given here.
VettedDisk vet(std::shared_ptr<const ByteSource> src, const InspectOptions& opts);

}  // namespace imgtool::inspect
