#include "inspect/appliance_processes.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>

namespace imgtool::inspect {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Field 5 of /proc/PID/stat; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
pid_t process_group_of(const std::string& stat) {
  size_t p = stat.rfind(')');
  if (p == std::string::npos || p + 2 >= stat.size()) return -1;
  std::string_view rest(stat);
  rest.remove_prefix(p + 2);  // "S PPID PGRP ..."
  for (int field = 0; field < 2; ++field) {
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return -1;
    rest.remove_prefix(sp + 1);
  }
  pid_t pgrp = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') break;
    if (pgrp > 100'000'000) return -1;  // pids stay below 2^22: not a pid
    pgrp = pgrp * 10 + (c - '0');
  }
  return pgrp;
}

bool libguestfs_dir_name(std::string_view dir) {
  size_t slash = dir.rfind('/');
  if (slash == std::string_view::npos || dir.front() != '/') return false;
  std::string_view name = dir.substr(slash + 1);
  return name.size() == 16 && name.substr(0, 10) == "libguestfs";  // mkdtemp's six characters
}

// The pids (as /proc names) of the processes in group `pgid`.
std::vector<std::string> group_pids(pid_t pgid) {
  std::vector<std::string> pids;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (process_group_of(slurp("/proc/" + pid + "/stat")) == pgid) pids.push_back(std::move(pid));
  }
  return pids;
}

// NUL-separated command lines of the processes in group `pgid`.
std::vector<std::string> group_cmdlines(pid_t pgid) {
  std::vector<std::string> cmdlines;
  for (const std::string& pid : group_pids(pgid)) cmdlines.push_back(slurp("/proc/" + pid + "/cmdline"));
  return cmdlines;
}

// Inodes of the sockets the processes `pids` hold open ("socket:[N]").
std::set<std::string> socket_inodes(const std::vector<std::string>& pids) {
  std::set<std::string> inodes;
  for (const std::string& pid : pids) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + pid + "/fd", ec)) {
      std::error_code lec;
      const std::string target = std::filesystem::read_symlink(e.path(), lec).string();
      if (target.rfind("socket:[", 0) == 0 && target.back() == ']')
        inodes.insert(target.substr(8, target.size() - 9));
    }
  }
  return inodes;
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// DIR when `path` is DIR/guestfsd.sock or DIR/console.sock with DIR named
// libguestfsXXXXXX, else "".
std::string socket_dir_of(std::string_view path) {
  for (std::string_view sock : {"/guestfsd.sock", "/console.sock"}) {
    if (path.size() > sock.size() && path.substr(path.size() - sock.size()) == sock) {
      std::string dir(path.substr(0, path.size() - sock.size()));
      if (libguestfs_dir_name(dir)) return dir;
    }
  }
  return "";
}

}  // namespace

std::vector<std::string> socket_dirs_in_cmdline(const std::string& cmdline) {
  std::vector<std::string> dirs;
  size_t pos = 0;
  while ((pos = cmdline.find("path=", pos)) != std::string::npos) {
    pos += 5;
    size_t end = cmdline.find_first_of(std::string_view(",\0", 2), pos);
    std::string dir =
        socket_dir_of(std::string_view(cmdline).substr(pos, end == std::string::npos ? end : end - pos));
    if (!dir.empty()) add_unique(dirs, std::move(dir));
  }
  return dirs;
}

std::vector<std::string> socket_dirs_in_net_unix(const std::string& table,
                                                 const std::set<std::string>& inodes) {
  std::vector<std::string> dirs;
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    // "Num RefCount Protocol Flags Type St Inode Path": fields 7 and 8.
    std::istringstream fields(line);
    std::string field, inode, path;
    for (int i = 0; i < 7 && fields >> field; ++i) inode = field;
    if (!(fields >> path) || inodes.count(inode) == 0) continue;
    std::string dir = socket_dir_of(path);
    if (!dir.empty()) add_unique(dirs, std::move(dir));
  }
  return dirs;
}

std::vector<std::string> appliance_socket_dirs(pid_t pgid) {
  const std::vector<std::string> pids = group_pids(pgid);
  // Two witnesses: qemu's command line, and, before qemu runs, the listening
  // socket libguestfs holds open (/proc/net/unix has its path).
  std::vector<std::string> named = socket_dirs_in_net_unix(slurp("/proc/net/unix"), socket_inodes(pids));
  for (const std::string& pid : pids)
    for (std::string& dir : socket_dirs_in_cmdline(slurp("/proc/" + pid + "/cmdline")))
      add_unique(named, dir);
  std::vector<std::string> dirs;
  for (std::string& dir : named) {
    struct stat st {};
    // Only a real directory of ours: never follow a name to somewhere else.
    if (::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid())
      dirs.push_back(std::move(dir));
  }
  return dirs;
}

bool appliance_booting(pid_t pgid) {
  const std::string kernel("\0-kernel\0", 9);
  for (const std::string& cmdline : group_cmdlines(pgid))
    if (cmdline.find(kernel) != std::string::npos) return true;
  return false;
}

void remove_dirs(const std::vector<std::string>& dirs) noexcept {
  for (const std::string& d : dirs) {
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
  }
}

}  // namespace imgtool::inspect
