#pragma once
// What the processes in the inspection child's group tell the parent about the
// appliance, read from /proc: whether qemu is booting it, and which socket
// directory libguestfs made for it.
//
// libguestfs keeps its sockets in a directory of their own, libguestfsXXXXXX,
// outside TMPDIR (root: always /tmp; others: $XDG_RUNTIME_DIR or /tmp).
// libguestfs removes it when its handle closes; when imgtool has to kill the
// child instead (timeout, interrupt, a hung KVM attempt), nobody would. So it
// is found before the kill: qemu's command line names it, and before qemu
// runs, the child holds the listening socket in it open.
#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

namespace imgtool::inspect {

// Socket directories of the processes in process group `pgid`: named on
// their command lines or holding a socket they have open (only directories
// called libguestfsXXXXXX, owned by us).
std::vector<std::string> appliance_socket_dirs(pid_t pgid);

// The directories named in `cmdline` (NUL-separated arguments) as
// `path=DIR/guestfsd.sock` or `path=DIR/console.sock`, if DIR's name is
// libguestfsXXXXXX. Pure (for tests).
std::vector<std::string> socket_dirs_in_cmdline(const std::string& cmdline);

// The directories of the sockets in `table` (the text of /proc/net/unix)
// whose inode is in `inodes`, named as above. Pure (for tests).
std::vector<std::string> socket_dirs_in_net_unix(const std::string& table,
                                                 const std::set<std::string>& inodes);

// Removes `dirs` recursively; never throws.
void remove_dirs(const std::vector<std::string>& dirs) noexcept;

// True once a process of group `pgid` boots the appliance (a command line
// with -kernel: libguestfs' capability probes of qemu have none).
bool appliance_booting(pid_t pgid);

}  // namespace imgtool::inspect
