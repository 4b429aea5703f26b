#pragma once
// The forked inspection child. It runs in a process group of its own, so that
// killing the group also kills what libguestfs started (qemu, qemu-img, its
// recovery process), and it never outlives this object: the destructor kills
// the group and reaps the child on every exit path. It does not outlive imgtool
// either (PR_SET_PDEATHSIG): note that the kernel sends that signal when the
// *thread* that forked exits, so create and wait in the same thread.
#include <sys/types.h>

#include <functional>

#include "io/unique_fd.hpp"

namespace imgtool::inspect {

class GuardedChild {
 public:
  // Runs in the child with the write end of a pipe to the parent; its return
  // value is the child's exit status (an exception counts as 1).
  using Body = std::function<int(int out_fd)>;

  explicit GuardedChild(const Body& body);  // throws Error(Io)
  ~GuardedChild() { stop(); }
  GuardedChild(const GuardedChild&) = delete;
  GuardedChild& operator=(const GuardedChild&) = delete;

  // Read end of the pipe: EOF once the child has exited.
  int out_fd() const { return rd_.get(); }
  // The child's pid, which is also its process group id.
  pid_t pid() const { return pid_; }

  // Kills the whole group, reaps the child and removes the socket directory
  // libguestfs had made outside TMPDIR. Idempotent; never throws.
  void stop() noexcept;

  // After EOF: waits for the child, then cleans up as stop() does whatever it
  // left behind. Returns the wait status.
  int finish() noexcept;

 private:
  void end(bool kill_child) noexcept;

  pid_t pid_ = -1;
  io::UniqueFd rd_;
  int status_ = 0;
};

}  // namespace imgtool::inspect
