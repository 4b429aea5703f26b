#include "inspect/appliance_processes.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// NUL-separated command lines of the processes in group `pgid`.
std::vector<std::string> group_cmdlines(pid_t pgid) {
  std::vector<std::string> cmdlines;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (process_group_of(slurp("/proc/" + pid + "/stat")) != pgid) continue;
    cmdlines.push_back(slurp("/proc/" + pid + "/cmdline"));
  }
  return cmdlines;
}

}  // namespace

std::vector<std::string> socket_dirs_in_cmdline(const std::string& cmdline) {
  std::vector<std::string> dirs;
  size_t pos = 0;
  while ((pos = cmdline.find("path=", pos)) != std::string::npos) {
    pos += 5;
    size_t end = cmdline.find_first_of(std::string_view(",\0", 2), pos);
    std::string_view value =
        std::string_view(cmdline).substr(pos, end == std::string::npos ? end : end - pos);
    for (std::string_view sock : {"/guestfsd.sock", "/console.sock"}) {
      if (value.size() > sock.size() && value.substr(value.size() - sock.size()) == sock) {
        std::string dir(value.substr(0, value.size() - sock.size()));
        if (libguestfs_dir_name(dir) && std::find(dirs.begin(), dirs.end(), dir) == dirs.end())
          dirs.push_back(dir);
      }
    }
  }
  return dirs;
}

std::vector<std::string> appliance_socket_dirs(pid_t pgid) {
  std::vector<std::string> dirs;
  for (const std::string& cmdline : group_cmdlines(pgid)) {
    for (std::string& dir : socket_dirs_in_cmdline(cmdline)) {
      struct stat st {};
      // Only a real directory of ours: never follow a name to somewhere else.
      if (::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
          std::find(dirs.begin(), dirs.end(), dir) == dirs.end())
        dirs.push_back(std::move(dir));
    }
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
