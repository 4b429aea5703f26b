#pragma once
// Helpers shared by the guest-inspection tests. Header-only: the suite builds
// every tests/guestfs/*_test.cpp and nothing else from this folder.
//
// These tests never skip. CI builds with -DIMGTOOL_WITH_GUESTFS=ON and
// installs the appliance's parts, so a missing part is a failure that says
// what to install.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "imgtool/inspect.hpp"
#include "inspect/child_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::guest {

inline constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

// What is missing for a real guest inspection, as "install X" advice; "" when
// everything is there.
inline std::string missing_for_guest_inspection() {
  if (!guest_inspection_available())
    return "this imgtool build has no libguestfs, or libguestfs.so.0 does not load: apt-get install "
           "libguestfs-dev and configure with "
           "-DIMGTOOL_WITH_GUESTFS=ON";
  if (::access(kQemu, X_OK) != 0)
    return std::string(kQemu) +
           " is missing (the libguestfs appliance runs in it): apt-get install qemu-system-x86";
  bool kernel = false;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/boot", ec))
    kernel = kernel || e.path().filename().string().rfind("vmlinuz-", 0) == 0;
  if (!kernel) return "no /boot/vmlinuz-* for the libguestfs appliance: apt-get install linux-image-amd64";
  for (const auto& [tool, package] : std::map<std::string, std::string>{
           {"qemu-img", "qemu-utils"}, {"mkfs.ext4", "e2fsprogs"}, {"supermin", "supermin"}}) {
    if (!have_tool(tool)) return tool + " is missing: apt-get install " + package;
  }
  return "";
}

#define REQUIRE_GUEST_INSPECTION()                                                   \
  do {                                                                               \
    const std::string why_ = ::imgtool::test::guest::missing_for_guest_inspection(); \
    if (!why_.empty()) FAIL() << why_;                                               \
  } while (0)

#define REQUIRE_TOOL(tool, package)                                             \
  do {                                                                          \
    if (!::imgtool::test::have_tool(tool))                                      \
      FAIL() << tool << " is needed by this test: apt-get install " << package; \
  } while (0)

inline std::string make_guest_script() {
  return std::string(IMGTOOL_SOURCE_DIR) + "/tests/images/make_guest.sh";
}

// Builds the skeleton guest (tests/images/make_guest.sh) into `dir`; returns
// the raw image's path. `options`: make_guest.sh skeleton options.
inline std::string make_skeleton(const std::string& dir, const std::string& options = "") {
  run_ok(make_guest_script() + " skeleton " + sh_quote(dir) + " " + options);
  return dir + "/skeleton.raw";
}

// KEY=VALUE lines of a .facts file written by make_guest.sh.
inline std::map<std::string, std::string> read_facts(const std::string& path) {
  std::map<std::string, std::string> m;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

// Every property the facts file names must be in the JSON output with that
// value; an empty value means the property must be absent.
inline void expect_properties(const std::string& json_out, const std::map<std::string, std::string>& facts) {
  for (const char* key : {"os_type", "os_distro", "os_version", "architecture", "hw_qemu_guest_agent",
                          "hw_disk_bus", "hw_scsi_model", "hw_vif_model", "hw_firmware_type"}) {
    auto it = facts.find(key);
    if (it == facts.end()) {
      ADD_FAILURE() << key << " missing in the facts file";
      continue;
    }
    if (it->second.empty()) {
      EXPECT_EQ(json_out.find(std::string("\"") + key + "\""), std::string::npos)
          << key << " set but unknown";
    } else {
      EXPECT_NE(json_out.find(std::string("\"") + key + "\": \"" + it->second + "\""), std::string::npos)
          << key << "=" << it->second << " missing in\n"
          << json_out;
    }
  }
}

// Environment prefix for runs whose subject is not the accelerator choice:
// TCG straight away, so that they take the same time on machines where KVM
// aborts and on machines where it hangs until imgtool's launch deadline.
inline std::string tcg() {
  return "LIBGUESTFS_BACKEND_SETTINGS=force_tcg ";
}

// Environment prefix for runs with TMPDIR pointing at a fresh directory:
// libguestfs would take that for its appliance cache too and rebuild the
// appliance there; this keeps the cache where this test process has it.
inline std::string keep_cache() {
  return "LIBGUESTFS_CACHEDIR=" +
         sh_quote(inspect::libguestfs_cachedir(std::getenv("LIBGUESTFS_CACHEDIR"), std::getenv("TMPDIR"))) +
         " ";
}

// Writes DIR/qemu-wrapper.sh for LIBGUESTFS_HV: runs `body` (shell, "$@" are
// qemu's arguments) and then execs the real qemu. Shell functions for the
// body: is_launch (the appliance boot, not one of libguestfs' capability
// probes) and asks_kvm (the default accel=kvm:tcg, not force_tcg's accel=tcg).
inline std::string write_hv_wrapper(const std::string& dir, const std::string& body) {
  const std::string path = dir + "/qemu-wrapper.sh";
  write_file(path, std::string("#!/bin/sh\n") +
                       "is_launch() { case \" $* \" in *\" -kernel \"*) return 0 ;; esac; return 1; }\n"
                       "asks_kvm() { case \" $* \" in *accel=kvm*) return 0 ;; esac; return 1; }\n" +
                       body + "\nexec " + kQemu + " \"$@\"\n");
  ::chmod(path.c_str(), 0755);
  // libguestfs caches its qemu capability probes per (size, mtime) of the
  // hypervisor binary; a fixed mtime lets every run of a test reuse them
  // instead of adding cache files each time.
  struct stat st {};
  if (::stat(kQemu, &st) == 0) {
    struct utimbuf t {
      st.st_atime, st.st_mtime
    };
    ::utime(path.c_str(), &t);
  }
  return path;
}

// "pid: command line" of every process but this one whose command line
// contains `needle`.
inline std::vector<std::string> processes_mentioning(const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  const std::string self = std::to_string(::getpid());
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
    std::string cmd = read_file(e.path().string() + "/cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos) found.push_back(pid + ": " + cmd);
  }
  return found;
}

inline std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// Names in a directory ("" entries never appear).
inline std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    names.push_back(e.path().filename().string());
  return names;
}

// Polls `pred` every 100 ms until it holds or `limit` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// A command started in the background with /bin/sh -c "exec CMD", so that
// pid() is the command itself (for signals mid-inspection). Killed and reaped
// at destruction if still running.
class Background {
 public:
  explicit Background(const std::string& cmd) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Exit code (128+signal when killed), or -1 if still running after `limit`.
  int wait(std::chrono::milliseconds limit) {
    int code = -1;
    eventually(
        [&] {
          int st = 0;
          if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
          exited_ = true;
          code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          return true;
        },
        limit);
    return code;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace imgtool::test::guest
