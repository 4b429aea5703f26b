#pragma once
// The environment the inspection child (and so libguestfs, qemu and the
// appliance, which inherit it) runs with.
#include <string>
#include <string_view>

namespace imgtool::inspect {

// Where libguestfs keeps its appliance cache when nobody says otherwise:
// $LIBGUESTFS_CACHEDIR, else $TMPDIR, else /var/tmp (empty counts as unset).
// The child's TMPDIR is replaced by the scratch directory, so the cache
// location is pinned to this value first; otherwise every inspection would
// rebuild the appliance inside a directory that is removed afterwards.
std::string libguestfs_cachedir(const char* cachedir_env, const char* tmpdir_env);

// True for an environment entry ("NAME=value" or "NAME") of the OpenStack
// client family, OS_*: passwords, tokens, application credential secrets.
bool is_openstack_variable(std::string_view entry);

// Called in the child before libguestfs starts: removes every OS_* variable,
// TMPDIR becomes `scratch`, LIBGUESTFS_CACHEDIR keeps the cache where it was.
void prepare_child_environment(const std::string& scratch);

}  // namespace imgtool::inspect
