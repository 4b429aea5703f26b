#include "inspect/child_env.hpp"

#include <cstdlib>

namespace imgtool::inspect {

std::string libguestfs_cachedir(const char* cachedir_env, const char* tmpdir_env) {
  if (cachedir_env != nullptr && *cachedir_env != '\0') return cachedir_env;
  if (tmpdir_env != nullptr && *tmpdir_env != '\0') return tmpdir_env;
  return "/var/tmp";
}

void prepare_child_environment(const std::string& scratch) {
  const std::string cache = libguestfs_cachedir(std::getenv("LIBGUESTFS_CACHEDIR"), std::getenv("TMPDIR"));
  ::setenv("LIBGUESTFS_CACHEDIR", cache.c_str(), 1);
  ::setenv("TMPDIR", scratch.c_str(), 1);
}

}  // namespace imgtool::inspect
