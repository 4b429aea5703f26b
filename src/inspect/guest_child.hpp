#pragma once
// The boundary between the always-built inspection runner and the one
// libguestfs source file (src/guestfs/guestfs_inspect.cpp, built only with
// IMGTOOL_WITH_GUESTFS). Runs inside the forked child.
#include <string>

#include "imgtool/inspect.hpp"

namespace imgtool::inspect {

// Inspects `path` (read-only, explicit `format`) in this process and returns
// the facts. Throws Error on failure. Only defined when the build has libguestfs.
GuestFacts guestfs_inspect(const std::string& path, const std::string& format);

// Facts <-> JSON, for the pipe between the child and the parent.
std::string facts_to_json(const GuestFacts& f);
GuestFacts facts_from_json(const std::string& json);

}  // namespace imgtool::inspect
