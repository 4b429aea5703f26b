// Runs guest inspection safely: imgtool's own parser and safety check first
// (vet()), then libguestfs in a forked child with a deadline, reading the
// descriptor that was checked. qemu under libguestfs follows a qcow2 backing
// file or a vmdk extent naming a host file even read-only, so nothing reaches
// it that imgtool has not vetted.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/inspect.hpp"
#include "imgtool_config.hpp"
#include "inspect/child_env.hpp"
#include "inspect/child_process.hpp"
#include "inspect/guest_child.hpp"
#include "inspect/scratch_dir.hpp"
#include "inspect/vet.hpp"

namespace imgtool {
namespace {

#if IMGTOOL_HAVE_GUESTFS
int run_child(const inspect::ChildDisk& disk, const std::string& scratch, int out_fd) {
  inspect::prepare_child_environment(scratch);
  std::string out;
  int rc = 0;
  try {
    out = inspect::facts_to_json(inspect::guestfs_inspect(disk));
  } catch (const std::exception& e) {
    std::string msg = e.what();
    std::string esc;
    for (char c : msg) {
      if (c == '"' || c == '\\') esc += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) esc += c;
    }
    out = "{\"error\":\"" + esc + "\"}";
    rc = 1;
  }
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(out_fd, out.data() + off, out.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  return rc;
}
#endif

}  // namespace

bool guest_inspection_available() noexcept {
  return IMGTOOL_HAVE_GUESTFS != 0;
}

GuestFacts inspect_guest(const std::string& path, const InspectOptions& opts) {
#if !IMGTOOL_HAVE_GUESTFS
  (void)path;
  (void)opts;
  throw Error(ErrorKind::Unsupported, "",
              "this imgtool build has no guest inspection (built without libguestfs; "
              "install libguestfs-dev and rebuild with -DIMGTOOL_WITH_GUESTFS=ON)");
#else
  const inspect::VettedDisk vetted = inspect::vet(path, opts);
  inspect::ScratchDir scratch;  // declared before the child: removed once the child is gone
  const auto start = std::chrono::steady_clock::now();
  const inspect::ChildDisk disk{vetted.fd.get(), vetted.format};
  inspect::GuardedChild child([&](int out_fd) { return run_child(disk, scratch.path(), out_fd); });
  std::string data;
  const auto deadline = start + opts.timeout;
  for (;;) {
    if (interrupted()) {
      child.stop();
      throw_if_interrupted();
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      child.stop();
      throw Error(ErrorKind::Io, path,
                  "guest inspection timed out after " + std::to_string(opts.timeout.count()) +
                      " s (appliance killed; raise --timeout or check LIBGUESTFS_BACKEND)");
    }
    pollfd p{child.out_fd(), POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      char buf[4096];
      ssize_t n = ::read(child.out_fd(), buf, sizeof buf);
      if (n > 0) {
        if (data.size() < (1u << 20)) data.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;  // EOF: child done
      if (errno != EINTR && errno != EAGAIN) break;
    }
  }
  const int st = child.finish();
  if (data.empty())
    throw Error(ErrorKind::Io, path,
                "guest inspection failed: child exited with status " + std::to_string(WEXITSTATUS(st)));
  try {
    GuestFacts f = inspect::facts_from_json(data);
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return f;
  } catch (const Error& e) {
    throw e.with_path(path);
  }
#endif
}

}  // namespace imgtool
