#pragma once
// Cooperative cancellation. The CLI installs SIGINT/SIGTERM handlers that only
// set a flag (async-signal-safe); long loops call throw_if_interrupted(), which
// throws Error(Interrupted) so destructors remove temporary files and publish
// deletes its half-made image. The handlers are installed without SA_RESTART:
// a blocking read/write/poll/open returns EINTR, and its caller must re-check
// the flag instead of retrying blindly.
#include <chrono>

namespace imgtool {

// Installs handlers for SIGINT and SIGTERM that set the flag (idempotent).
void install_interrupt_handlers();
bool interrupted() noexcept;
// Number of the first signal that arrived (0 if none).
int interrupt_signal() noexcept;
// How many signals arrived. The first asks to stop; cleanup that must still
// run afterwards (publish deleting its half-made image) stops at the second.
int interrupt_count() noexcept;
// "SIGINT" or "SIGTERM" for interrupt_signal() (empty if none arrived).
const char* interrupt_signal_name() noexcept;
void throw_if_interrupted();
// Sleeps for `d`, but throws Error(Interrupted) within ~50 ms of a signal
// (std::this_thread::sleep_for resumes after EINTR, so a plain sleep would
// hide the signal for its whole length).
void interruptible_sleep(std::chrono::milliseconds d);
// For tests and for library users that have their own signal policy; counts
// as one more signal, like the handler.
void request_interrupt(int signo = 2) noexcept;
void clear_interrupt() noexcept;

}  // namespace imgtool
