#include "imgtool/cancel.hpp"

#include <csignal>
#include <string>

#include "imgtool/error.hpp"

namespace imgtool {
namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int signo) { g_signal = signo; }
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking reads/writes return EINTR and loops re-check
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() noexcept { return g_signal != 0; }
int interrupt_signal() noexcept { return g_signal; }
void request_interrupt(int signo) noexcept { g_signal = signo; }
void clear_interrupt() noexcept { g_signal = 0; }

void throw_if_interrupted() {
  if (g_signal != 0)
    throw Error(ErrorKind::Interrupted, "",
                std::string("interrupted by ") + (g_signal == SIGTERM ? "SIGTERM" : "SIGINT"));
}

}  // namespace imgtool
