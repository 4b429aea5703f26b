#pragma once
// Cooperative cancellation. The CLI installs SIGINT/SIGTERM handlers that only
// set a flag (async-signal-safe); long loops call throw_if_interrupted(), which
// throws Error(Interrupted) so destructors remove temporary files and publish
// deletes its half-made image.
namespace imgtool {

// Installs handlers for SIGINT and SIGTERM that set the flag (idempotent).
void install_interrupt_handlers();
bool interrupted() noexcept;
// Number of the signal that arrived (0 if none).
int interrupt_signal() noexcept;
void throw_if_interrupted();
// For tests and for library users that have their own signal policy.
void request_interrupt(int signo = 2) noexcept;
void clear_interrupt() noexcept;

}  // namespace imgtool
