#pragma once
// System libraries that only some commands need (libcurl for Keystone and
// Glance, libguestfs for guest inspection), opened with dlopen() at first use
// instead of being linked: linking them made every command, `info` included,
// pay the dynamic loader for 63 shared libraries at startup (docs/performance.md,
// "Startup"). Each user keeps a table of function pointers, typed from the
// library's own header (decltype), filled by dlsym() once; a library is never
// closed, so pointers into it stay valid for the life of the process.
#include <string>

namespace imgtool::dynlib {

// What a failed load is reported as, in one line:
//   "<purpose> needs <name> (<soname>): <dlerror()>"
struct LibraryId {
  const char* name;     // "libcurl"
  const char* soname;   // "libcurl.so.4" (from the library the build found; src/config.hpp.in)
  const char* purpose;  // "talking to Keystone and Glance"
};

// dlopen(soname, RTLD_NOW | RTLD_LOCAL): every symbol of the library and of
// what it links is bound now, so a broken install fails here and not in the
// middle of a command. Throws Error(Unsupported) with the line above.
void* open_library(const LibraryId& id);

// dlsym(); throws Error(Unsupported) ("... <soname> has no <symbol>") when the
// library lacks it (an older release than the headers imgtool was built with).
void* find_symbol(void* handle, const LibraryId& id, const char* symbol);

// Fills one member of a function table: `fn` gets the type the header gave
// the function (decltype of its address).
template <typename Fn>
void bind(Fn*& fn, void* handle, const LibraryId& id, const char* symbol) {
  fn = reinterpret_cast<Fn*>(find_symbol(handle, id, symbol));
}

}  // namespace imgtool::dynlib
