#pragma once
// libguestfs, opened at first use (src/util/shared_library.hpp says why): the
// functions src/guestfs/ calls, typed from <guestfs.h>. The code there writes
// gfs().launch(g) where it would write guestfs_launch(g). Built only with
// IMGTOOL_WITH_GUESTFS.
#include <guestfs.h>

namespace imgtool::inspect {

// The one list of the functions used; a new call adds its name here.
#define IMGTOOL_GUESTFS_FUNCTIONS(X) \
  X(create)                          \
  X(close)                           \
  X(last_error)                      \
  X(set_error_handler)               \
  X(push_error_handler)              \
  X(pop_error_handler)               \
  X(set_identifier)                  \
  X(set_backend)                     \
  X(get_backend)                     \
  X(get_backend_settings)            \
  X(set_backend_settings)            \
  X(disk_create)                     \
  X(add_drive_opts)                  \
  X(launch)                          \
  X(shutdown)                        \
  X(dmesg)                           \
  X(list_devices)                    \
  X(list_partitions)                 \
  X(part_get_parttype)               \
  X(part_to_partnum)                 \
  X(part_to_dev)                     \
  X(part_get_gpt_type)               \
  X(mount_ro)                        \
  X(umount_all)                      \
  X(is_dir)                          \
  X(glob_expand)                     \
  X(read_file)                       \
  X(inspect_os)                      \
  X(inspect_get_type)                \
  X(inspect_get_distro)              \
  X(inspect_get_product_name)        \
  X(inspect_get_major_version)       \
  X(inspect_get_minor_version)       \
  X(inspect_get_arch)                \
  X(inspect_get_hostname)            \
  X(inspect_get_package_format)      \
  X(inspect_get_osinfo)              \
  X(inspect_get_mountpoints)         \
  X(inspect_list_applications2)      \
  X(free_application2_list)

struct GuestfsApi {
// `name` holds guestfs_<name>.
#define IMGTOOL_GUESTFS_MEMBER(name) decltype(&::guestfs_##name) name = nullptr;
  IMGTOOL_GUESTFS_FUNCTIONS(IMGTOOL_GUESTFS_MEMBER)
#undef IMGTOOL_GUESTFS_MEMBER
};

// libguestfs, loaded on the first call (thread-safe). Throws
// Error(Unsupported) "guest inspection needs libguestfs (libguestfs.so.0): ..."
// when it cannot be loaded; a later call tries again. The inspection runner
// calls it in the parent before forking, so the child finds it loaded and a
// missing library is one clear error, not a failed child.
const GuestfsApi& gfs();

}  // namespace imgtool::inspect
