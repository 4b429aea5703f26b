#include "util/shared_library.hpp"

#include <dlfcn.h>

#include "imgtool/error.hpp"

namespace imgtool::dynlib {
namespace {

// dlerror() is per thread, but its text lives in a buffer the next dl* call
// of the same thread may reuse: copy it at once.
std::string last_dl_error() {
  const char* e = ::dlerror();
  return e != nullptr ? std::string(e) : std::string("unknown dynamic loader error");
}

}  // namespace

void* open_library(const LibraryId& id) {
  ::dlerror();  // clear a stale message
  void* h = ::dlopen(id.soname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr)
    throw Error(ErrorKind::Unsupported, "",
                std::string(id.purpose) + " needs " + id.name + " (" + id.soname + "): " + last_dl_error());
  return h;
}

void* find_symbol(void* handle, const LibraryId& id, const char* symbol) {
  ::dlerror();
  void* p = ::dlsym(handle, symbol);
  if (p == nullptr)
    throw Error(ErrorKind::Unsupported, "",
                std::string(id.purpose) + " needs " + id.name + " (" + id.soname + "): it has no " + symbol +
                    ": " + last_dl_error());
  return p;
}

}  // namespace imgtool::dynlib
