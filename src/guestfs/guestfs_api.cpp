#include "guestfs/guestfs_api.hpp"

#include "imgtool_config.hpp"
#include "inspect/guest_child.hpp"
#include "util/shared_library.hpp"

namespace imgtool::inspect {
namespace {

constexpr dynlib::LibraryId kLibguestfs{"libguestfs", IMGTOOL_GUESTFS_SONAME, "guest inspection"};

GuestfsApi load() {
  void* h = dynlib::open_library(kLibguestfs);
  GuestfsApi api;
#define IMGTOOL_GUESTFS_BIND(name) dynlib::bind(api.name, h, kLibguestfs, "guestfs_" #name);
  IMGTOOL_GUESTFS_FUNCTIONS(IMGTOOL_GUESTFS_BIND)
#undef IMGTOOL_GUESTFS_BIND
  return api;
}

}  // namespace

const GuestfsApi& gfs() {
  // Loaded once even when threads race here (a function-local static); an
  // exception from load() leaves it uninitialized, so the next call tries again.
  static const GuestfsApi api = load();
  return api;
}

void load_guestfs() {
  gfs();
}

}  // namespace imgtool::inspect
