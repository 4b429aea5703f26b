#include "inspect/child_env.hpp"

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace imgtool::inspect {

std::string libguestfs_cachedir(const char* cachedir_env, const char* tmpdir_env) {
  if (cachedir_env != nullptr && *cachedir_env != '\0') return cachedir_env;
  if (tmpdir_env != nullptr && *tmpdir_env != '\0') return tmpdir_env;
  return "/var/tmp";
}

bool is_openstack_variable(std::string_view entry) {
  return entry.substr(0, 3) == "OS_";
}

void prepare_child_environment(const std::string& scratch) {
  // qemu and the appliance inherit this environment (libguestfs passes it on),
  // and neither has any business with the user's cloud credentials.
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (is_openstack_variable(entry)) names.emplace_back(entry.substr(0, entry.find('=')));
  }
  for (const std::string& n : names) ::unsetenv(n.c_str());
  const std::string cache = libguestfs_cachedir(std::getenv("LIBGUESTFS_CACHEDIR"), std::getenv("TMPDIR"));
  ::setenv("LIBGUESTFS_CACHEDIR", cache.c_str(), 1);
  ::setenv("TMPDIR", scratch.c_str(), 1);
}

}  // namespace imgtool::inspect
