#pragma once
// The environment the inspection child (and so libguestfs, qemu and the
// appliance, which inherit it) runs with.
#include <string>

namespace imgtool::inspect {

// Where libguestfs keeps its appliance cache when nobody says otherwise:
// $LIBGUESTFS_CACHEDIR, else $TMPDIR, else /var/tmp (empty counts as unset).
// The child's TMPDIR is replaced by the scratch directory, so the cache
// location is pinned to this value first; otherwise every inspection would
// rebuild the appliance inside a directory that is removed afterwards.
std::string libguestfs_cachedir(const char* cachedir_env, const char* tmpdir_env);

// Called in the child before libguestfs starts: TMPDIR becomes `scratch`,
// LIBGUESTFS_CACHEDIR keeps the cache where it was.
void prepare_child_environment(const std::string& scratch);

}  // namespace imgtool::inspect
