#pragma once
// Cooperative cancellation, per operation.
//
// A CancelToken is a shared flag: copies refer to the same state, cancel()
// may be called from any thread (and from a signal handler for the process
// token), and the operation notices it at its next poll (every chunk, every
// wait, every HTTP progress tick: well under 100 ms) by throwing
// Error(Interrupted); destructors then remove temporary files and publish
// deletes its half-made image.
//
// An operation polls the token of its thread: the one bound by the innermost
// CancelScope, else the process token. The library's entry points that take
// options (convert_file, convert_image, publish, assess, inspect_guest) bind
// their options' `cancel` for the whole call, worker threads included; any
// other call (glance_digests, ...) follows a CancelScope of the caller. So two
// publishes on two threads, each with its own token, are cancelled separately.
//
// The process token is what the CLI's SIGINT/SIGTERM handlers cancel
// (install_interrupt_handlers). The handlers are installed without
// SA_RESTART: a blocking read/write/poll/open returns EINTR, and its caller
// re-checks the token instead of retrying blindly.
#include <chrono>
#include <memory>

namespace imgtool {

class CancelToken {
 public:
  // An empty token: "whatever the caller's thread follows" (its CancelScope,
  // else the process token). The default of every option struct.
  CancelToken() noexcept = default;
  // A new token that only cancel() on it (or a copy) cancels.
  static CancelToken create();
  // A new token that is also cancelled whenever `parent` is (its own
  // cancel() does not cancel the parent): e.g. one publish of several that
  // a signal stops too.
  static CancelToken create(const CancelToken& parent);
  // The token the signal handlers cancel; never destroyed.
  static CancelToken process() noexcept;
  // The token the calling thread follows now.
  static CancelToken current() noexcept;

  // Asks the operation to stop. `signo` names the reason in the error
  // ("interrupted by SIGINT"); 0 means the program asked ("cancelled").
  // Async-signal-safe for the process token. No effect on an empty token.
  void cancel(int signo = 0) const noexcept;
  // True once this token or one of its parents was cancelled. An empty
  // token answers for current().
  bool cancelled() const noexcept;
  // How many cancel() calls reached this token and its parents. The first
  // asks to stop; cleanup that must still run afterwards (publish deleting
  // its half-made image) stops at the second.
  int count() const noexcept;
  // The reason of the first cancel() (a signal number, or 0 for the
  // program's own request or none: see cancelled()).
  int reason() const noexcept;
  // Throws Error(Interrupted) when cancelled().
  void throw_if_cancelled() const;

  bool empty() const noexcept { return state_ == nullptr; }

  struct State;

 private:
  explicit CancelToken(std::shared_ptr<State> s) noexcept : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
  friend class CancelScope;
  friend const State* state_of(const CancelToken& t) noexcept;  // cancel.cpp
};

// Binds a token to the calling thread until the scope ends (scopes nest). An
// empty token binds nothing: the thread keeps what it followed.
class CancelScope {
 public:
  explicit CancelScope(CancelToken token) noexcept;
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  CancelToken token_;
  const CancelToken* previous_ = nullptr;
  bool bound_ = false;
};

// ---- the calling thread's token, in the words the code base polls with ----

// Installs handlers for SIGINT and SIGTERM that cancel the process token
// (idempotent).
void install_interrupt_handlers();
// CancelToken::current().cancelled(), without copying the token.
bool interrupted() noexcept;
// The current token's reason(): the first signal's number (0 if none or if
// the program cancelled).
int interrupt_signal() noexcept;
// The current token's count().
int interrupt_count() noexcept;
// "SIGINT", "SIGTERM", "cancelled" (the program's own request) or "" (none).
const char* interrupt_signal_name() noexcept;
// Throws Error(Interrupted) when the current token is cancelled.
void throw_if_interrupted();
// Sleeps for `d`, but throws Error(Interrupted) within ~50 ms of a cancel
// (std::this_thread::sleep_for resumes after EINTR, so a plain sleep would
// hide the signal for its whole length).
void interruptible_sleep(std::chrono::milliseconds d);
// Cancels the process token as a signal would (tests, and library users
// with their own signal policy); counts as one more signal.
void request_interrupt(int signo = 2) noexcept;
// Resets the process token (tests).
void clear_interrupt() noexcept;

}  // namespace imgtool
