// Runs guest inspection safely: imgtool's own parser and safety check first,
// then libguestfs in a forked child with a deadline. qemu under libguestfs
// follows a qcow2 backing file or a vmdk extent naming a host file even
// read-only, so nothing reaches it that imgtool has not vetted.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/inspect.hpp"
#include "imgtool/verdict.hpp"
#include "imgtool_config.hpp"
#include "inspect/guest_child.hpp"
#include "io/unique_fd.hpp"

namespace imgtool {
namespace {

#if IMGTOOL_HAVE_GUESTFS
// The format name libguestfs/qemu gets: only formats whose safety imgtool can
// judge from the bytes.
std::string vetted_format(const std::string& path, const InspectOptions& opts) {
  // qemu under libguestfs reads the bytes itself and follows whatever they
  // name: the verdict for handing the image over.
  AssessOptions a;
  if (!opts.format.empty()) {
    a.format = format_from_name(opts.format);
    if (!a.format) throw Error(ErrorKind::Usage, "", "unknown format '" + opts.format + "'");
  }
  a.purpose = Purpose::HandOver;
  const Assessment v = assess(path, a);
  v.throw_if_refused("inspect the guest (refused before guest inspection)");
  const Format fmt = v.image->info().format;
  if (fmt == Format::Raw || fmt == Format::Qcow2 || fmt == Format::Vmdk) return std::string(format_name(fmt));
  if (fmt == Format::Iso) return "raw";  // qemu reads an ISO as raw
  throw Error(ErrorKind::Unsupported, path,
              "guest inspection supports raw, qcow2, vmdk and iso images, not " + std::string(format_name(fmt)));
}

[[noreturn]] void run_child(const std::string& path, const std::string& fmt, int out_fd) {
  // Own process group, so that a timeout can kill the appliance (qemu) too.
  ::setpgid(0, 0);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  std::string out;
  int rc = 0;
  try {
    out = inspect::facts_to_json(inspect::guestfs_inspect(path, fmt));
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
  ::_exit(rc);
}

void kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);  // the child's group: child, qemu, libguestfs helpers
  ::kill(pid, SIGKILL);
  int st;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}
#endif

}  // namespace

bool guest_inspection_available() noexcept { return IMGTOOL_HAVE_GUESTFS != 0; }

GuestFacts inspect_guest(const std::string& path, const InspectOptions& opts) {
#if !IMGTOOL_HAVE_GUESTFS
  (void)path;
  (void)opts;
  throw Error(ErrorKind::Unsupported, "",
              "this imgtool build has no guest inspection (built without libguestfs; "
              "install libguestfs-dev and rebuild with -DIMGTOOL_WITH_GUESTFS=ON)");
#else
  const std::string fmt = vetted_format(path, opts);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(ErrorKind::Io, path, "cannot create pipe");
  io::UniqueFd rd(fds[0]), wr(fds[1]);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) throw Error(ErrorKind::Io, path, std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    rd.reset();
    run_child(path, fmt, wr.get());
  }
  ::setpgid(pid, pid);  // also from the parent: no race with an early kill
  wr.reset();
  std::string data;
  const auto deadline = start + opts.timeout;
  for (;;) {
    if (interrupted()) {
      kill_and_reap(pid);
      throw_if_interrupted();
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      kill_and_reap(pid);
      throw Error(ErrorKind::Io, path,
                  "guest inspection timed out after " + std::to_string(opts.timeout.count()) +
                      " s (appliance killed; raise --timeout or check LIBGUESTFS_BACKEND)");
    }
    pollfd p{rd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      char buf[4096];
      ssize_t n = ::read(rd.get(), buf, sizeof buf);
      if (n > 0) {
        if (data.size() < (1u << 20)) data.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;  // EOF: child done
      if (errno != EINTR && errno != EAGAIN) break;
    }
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL);  // anything the child left in its group (never a running qemu)
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
