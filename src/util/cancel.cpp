#include "imgtool/cancel.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <string>
#include <thread>

#include "imgtool/error.hpp"

namespace imgtool {
namespace {

// Lock-free atomics are async-signal-safe, and unlike a volatile
// sig_atomic_t they may be read by the worker threads without a data race.
std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};
static_assert(std::atomic<int>::is_always_lock_free);

void note_signal(int signo) noexcept {
  int none = 0;
  g_signal.compare_exchange_strong(none, signo);  // the first one names the interruption
  g_count.fetch_add(1);
}

extern "C" void on_signal(int signo) {
  note_signal(signo);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking reads/writes return EINTR and loops re-check
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() noexcept {
  return g_signal.load(std::memory_order_relaxed) != 0;
}
int interrupt_signal() noexcept {
  return g_signal.load();
}
int interrupt_count() noexcept {
  return g_count.load();
}
void request_interrupt(int signo) noexcept {
  note_signal(signo);
}

void clear_interrupt() noexcept {
  g_signal.store(0);
  g_count.store(0);
}

const char* interrupt_signal_name() noexcept {
  switch (g_signal.load()) {
    case 0: return "";
    case SIGTERM: return "SIGTERM";
    default: return "SIGINT";
  }
}

void throw_if_interrupted() {
  if (interrupted())
    throw Error(ErrorKind::Interrupted, "", std::string("interrupted by ") + interrupt_signal_name());
}

void interruptible_sleep(std::chrono::milliseconds d) {
  constexpr auto kSlice = std::chrono::milliseconds(50);
  const auto end = std::chrono::steady_clock::now() + d;
  for (;;) {
    throw_if_interrupted();
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(end - now, kSlice));
  }
}

}  // namespace imgtool
