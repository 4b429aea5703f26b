#include "inspect/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "imgtool/error.hpp"
#include "inspect/appliance_processes.hpp"

namespace imgtool::inspect {

GuardedChild::GuardedChild(const Body& body) {
  int fds[2];
  // O_CLOEXEC: programs the child execs (qemu-img, qemu) must not hold the
  // write end, or the parent would see EOF only when they exit.
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw Error(ErrorKind::Io, "",
                std::string("cannot create a pipe for guest inspection: ") + std::strerror(errno));
  io::UniqueFd rd(fds[0]), wr(fds[1]);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw Error(ErrorKind::Io, "", std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    rd.reset();
    ::setpgid(0, 0);
    // Die with imgtool: a SIGKILLed imgtool runs no cleanup, and the child
    // would go on inspecting (qemu with it) for minutes. libguestfs' recovery
    // process then kills qemu once the child is gone. If imgtool died before
    // prctl took effect, the child has already been reparented: check.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    // The parent's handlers only set a flag it polls; the child must die of
    // these signals instead (the parent never sends them, a user might).
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int rc = 1;
    try {
      rc = body(wr.get());
    } catch (...) {
    }
    ::_exit(rc);
  }
  ::setpgid(pid, pid);  // from the parent too: the group exists before any kill
  pid_ = pid;
  rd_ = std::move(rd);
}

void GuardedChild::end(bool kill_child) noexcept {
  if (pid_ < 0) return;
  if (!kill_child) {
    // Wait without reaping: while the child is a zombie its pid, and so the
    // group id, cannot be reused by an unrelated process before the kill below.
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
  }
  std::vector<std::string> sockets;
  try {
    sockets = appliance_socket_dirs(pid_);  // before the kill: qemu's command line names them
  } catch (...) {                           // out of memory: kill anyway, leave the directory
  }
  ::kill(-pid_, SIGKILL);  // the child's group: child, qemu, libguestfs helpers
  ::kill(pid_, SIGKILL);   // in case it had not reached setpgid yet
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = st;
  pid_ = -1;
  rd_.reset();
  remove_dirs(sockets);
}

void GuardedChild::stop() noexcept {
  end(true);
}

int GuardedChild::finish() noexcept {
  end(false);
  return status_;
}

}  // namespace imgtool::inspect
