// Runs guest inspection safely: imgtool's own parser and safety check first
// (vet()), then libguestfs in a forked child with a deadline, reading the
// descriptor that was checked. qemu under libguestfs follows a qcow2 backing
// file or a vmdk extent naming a host file even read-only, so nothing reaches
// it that imgtool has not vetted. The accelerator is decided by attempts
// (accelerator.hpp): each attempt is a child of its own.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/inspect.hpp"
#include "imgtool_config.hpp"
#include "inspect/accelerator.hpp"
#include "inspect/appliance_processes.hpp"
#include "inspect/child_env.hpp"
#include "inspect/child_process.hpp"
#include "inspect/child_protocol.hpp"
#include "inspect/guest_child.hpp"
#include "inspect/scratch_dir.hpp"
#include "inspect/vet.hpp"

namespace imgtool {
namespace {

#if IMGTOOL_HAVE_GUESTFS
using Clock = std::chrono::steady_clock;

int run_child(const inspect::ChildDisk& disk, const std::string& scratch, bool force_tcg, int out_fd) {
  inspect::prepare_child_environment(scratch);
  try {
    GuestFacts f = inspect::guestfs_inspect(disk, force_tcg, [out_fd](const std::string& accel) {
      inspect::send_message(out_fd, inspect::ChildEvent::Launched, accel);
    });
    inspect::send_message(out_fd, inspect::ChildEvent::Facts, inspect::facts_to_json(f));
    return 0;
  } catch (const std::exception& e) {
    inspect::send_message(out_fd, inspect::ChildEvent::Failed, e.what());
    return 1;
  }
}

struct Outcome {
  enum Kind { Inspected, Failed, LaunchFailed, LaunchTimedOut } kind = Failed;
  GuestFacts facts;
  std::string accelerator;  // from "launched"
  std::string error;
};

// One attempt: a child that launches the appliance on `disk` and inspects.
// Throws on the overall deadline and on interrupts (the child is gone by then).
Outcome run_attempt(const std::string& path, const inspect::ChildDisk& disk,
                    const inspect::ScratchDir& scratch, const inspect::Attempt& attempt,
                    Clock::time_point deadline, std::chrono::seconds timeout) {
  inspect::GuardedChild child(
      [&](int out_fd) { return run_child(disk, scratch.path(), attempt.force_tcg, out_fd); });
  inspect::MessageReader reader;
  Outcome out;
  bool launched = false, answered = false;
  // The launch deadline runs from the moment qemu boots the appliance, seen
  // on /proc (twice a second): building the appliance on a first run may take
  // longer than a KVM boot ever should.
  std::optional<Clock::time_point> launch_by;
  Clock::time_point next_look = Clock::now();
  for (;;) {
    if (interrupted()) {
      child.stop();
      throw_if_interrupted();
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      child.stop();
      throw Error(ErrorKind::Io, path,
                  "guest inspection timed out after " + std::to_string(timeout.count()) +
                      " s (appliance killed; raise --timeout)");
    }
    if (attempt.launch_deadline && !launched) {
      if (!launch_by && now >= next_look) {
        if (inspect::appliance_booting(child.pid())) launch_by = now + *attempt.launch_deadline;
        next_look = now + std::chrono::milliseconds(500);
      }
      if (launch_by && now >= *launch_by) {
        child.stop();
        out.kind = Outcome::LaunchTimedOut;
        return out;
      }
    }
    pollfd p{child.out_fd(), POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    char buf[4096];
    ssize_t n = r > 0 ? ::read(child.out_fd(), buf, sizeof buf) : 0;
    if ((r < 0 || n < 0) && errno != EINTR && errno != EAGAIN) {
      const std::string why = std::strerror(errno);
      child.stop();  // finish() would wait for a child that may never end
      out.kind = Outcome::Failed;
      out.error = "cannot read from the guest inspection child: " + why;
      return out;
    }
    if (r <= 0 || n < 0) continue;
    if (n == 0) break;  // EOF: the child is done
    try {
      reader.feed(buf, static_cast<size_t>(n));
    } catch (const Error& e) {
      throw e.with_path(path);  // the child is killed on the way out
    }
    while (auto m = reader.next()) {
      switch (m->event) {
        case inspect::ChildEvent::Launched:
          launched = true;
          out.accelerator = m->payload;
          break;
        case inspect::ChildEvent::Facts:
          try {
            out.facts = inspect::facts_from_json(m->payload);
            out.kind = Outcome::Inspected;
          } catch (const Error& e) {
            out.kind = Outcome::Failed;
            out.error = e.message();
          }
          answered = true;
          break;
        case inspect::ChildEvent::Failed:
          out.error = m->payload;
          out.kind = launched ? Outcome::Failed : Outcome::LaunchFailed;
          answered = true;
          break;
      }
    }
  }
  const int st = child.finish();
  if (!answered) {
    out.kind = launched ? Outcome::Failed : Outcome::LaunchFailed;
    out.error = WIFSIGNALED(st) ? "guest inspection child killed by signal " + std::to_string(WTERMSIG(st))
                                : "guest inspection child exited with status " +
                                      std::to_string(WEXITSTATUS(st)) + " without an answer";
  }
  return out;
}
#endif

}  // namespace

bool guest_inspection_available() noexcept {
#if IMGTOOL_HAVE_GUESTFS
  try {
    inspect::load_guestfs();
    return true;
  } catch (const std::exception&) {
    return false;
  }
#else
  return false;
#endif
}

GuestFacts inspect_guest(const std::string& path, const InspectOptions& opts) {
  return inspect_guest(std::shared_ptr<const ByteSource>(open_file_source(path)), opts);
}

GuestFacts inspect_guest(std::shared_ptr<const ByteSource> src, const InspectOptions& opts) {
  CancelScope cancel_scope(opts.cancel);
#if !IMGTOOL_HAVE_GUESTFS
  (void)src;
  (void)opts;
  throw Error(ErrorKind::Unsupported, "",
              "this imgtool build has no guest inspection (built without libguestfs; "
              "install libguestfs-dev and rebuild with -DIMGTOOL_WITH_GUESTFS=ON)");
#else
  inspect::load_guestfs();  // before anything else: a missing libguestfs is the one error to report
  const std::string path = src->name();
  const inspect::VettedDisk vetted = inspect::vet(src, opts);
  inspect::ScratchDir scratch;  // outlives every child: removed once they are gone
  const auto start = Clock::now();
  const auto deadline = start + opts.timeout;
  const inspect::ChildDisk disk{vetted.fd.get(), vetted.format};
  const inspect::AttemptPlan plan = inspect::plan_attempts(std::getenv("LIBGUESTFS_BACKEND_SETTINGS"),
                                                           inspect::kvm_usable(), opts.kvm_launch_deadline);
  std::string why_tcg = plan.tcg_reason;
  for (size_t i = 0; i < plan.attempts.size(); ++i) {
    const inspect::Attempt& attempt = plan.attempts[i];
    Outcome out = run_attempt(path, disk, scratch, attempt, deadline, opts.timeout);
    const bool last = i + 1 == plan.attempts.size();
    switch (out.kind) {
      case Outcome::Inspected: {
        GuestFacts f = std::move(out.facts);
        const bool tcg = out.accelerator != "kvm";
        f.backend += " (" + (out.accelerator.empty() ? std::string("?") : out.accelerator) +
                     (tcg && !why_tcg.empty() ? "; " + why_tcg : std::string()) + ")";
        f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return f;
      }
      case Outcome::LaunchTimedOut:
        if (last)
          throw Error(ErrorKind::Io, path,
                      "libguestfs appliance did not start within " +
                          std::to_string(attempt.launch_deadline->count()) + " s under KVM");
        why_tcg = "KVM did not start the appliance within " +
                  std::to_string(attempt.launch_deadline->count()) + " s";
        break;
      case Outcome::LaunchFailed:
        if (last) throw Error(ErrorKind::Io, path, out.error);
        // Whatever the KVM failure looks like, TCG is worth one try; a problem
        // that has nothing to do with KVM fails the same way there.
        why_tcg = "KVM launch failed";
        break;
      case Outcome::Failed: throw Error(ErrorKind::Io, path, out.error);
    }
  }
  throw Error(ErrorKind::Io, path, "guest inspection made no attempt");  // plans are never empty
#endif
}

}  // namespace imgtool
