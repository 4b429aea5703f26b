// Per-operation cancellation (imgtool/cancel.hpp). A token is a chain of
// states (own, parent, ...); the thread's token is a thread_local pointer to
// the innermost CancelScope's token, so polling costs a few relaxed loads.
#include "imgtool/cancel.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <string>
#include <thread>

#include "imgtool/error.hpp"

namespace imgtool {

struct CancelToken::State {
  // Lock-free atomics are async-signal-safe, and unlike a volatile
  // sig_atomic_t they may be read by worker threads without a data race.
  std::atomic<int> first{-1};  // reason of the first cancel(); -1 = none yet
  std::atomic<int> count{0};
  std::shared_ptr<State> parent;
};
static_assert(std::atomic<int>::is_always_lock_free);

namespace {

// The process token: constant-initialised, so a signal that arrives before
// main() or after static destruction began still finds valid atomics.
constinit CancelToken::State g_process{};

thread_local const CancelToken* t_scope = nullptr;

void note(CancelToken::State& s, int reason) noexcept {
  int none = -1;
  s.first.compare_exchange_strong(none, reason);  // the first one names the cancellation
  s.count.fetch_add(1);
}

extern "C" void on_signal(int signo) {
  note(g_process, signo);
}

bool is_cancelled(const CancelToken::State* s) noexcept {
  for (; s != nullptr; s = s->parent.get())
    if (s->count.load(std::memory_order_relaxed) > 0) return true;
  return false;
}

int count_of(const CancelToken::State* s) noexcept {
  int n = 0;
  for (; s != nullptr; s = s->parent.get()) n += s->count.load();
  return n;
}

int reason_of(const CancelToken::State* s) noexcept {
  for (; s != nullptr; s = s->parent.get())
    if (int r = s->first.load(); r >= 0) return r;
  return 0;
}

const char* name_of(const CancelToken::State* s) noexcept {
  if (!is_cancelled(s)) return "";
  switch (reason_of(s)) {
    case 0: return "cancelled";
    case SIGTERM: return "SIGTERM";
    default: return "SIGINT";
  }
}

[[noreturn]] void throw_cancelled(const CancelToken::State* s) {
  const std::string name = name_of(s);
  throw Error(ErrorKind::Interrupted, "", name == "cancelled" ? name : "interrupted by " + name);
}

}  // namespace

const CancelToken::State* state_of(const CancelToken& t) noexcept {
  return t.state_.get();
}

namespace {
// The state the calling thread polls (never null).
const CancelToken::State* current_state() noexcept {
  if (t_scope != nullptr && !t_scope->empty()) return state_of(*t_scope);
  return &g_process;
}
}  // namespace

CancelToken CancelToken::create() {
  return CancelToken(std::make_shared<State>());
}

CancelToken CancelToken::create(const CancelToken& parent) {
  auto s = std::make_shared<State>();
  s->parent = parent.empty() ? current().state_ : parent.state_;
  return CancelToken(std::move(s));
}

CancelToken CancelToken::process() noexcept {
  // Aliasing constructor with no owner: a non-null pointer to the static.
  return CancelToken(std::shared_ptr<State>(std::shared_ptr<State>(), &g_process));
}

CancelToken CancelToken::current() noexcept {
  if (t_scope != nullptr && !t_scope->empty()) return *t_scope;
  return process();
}

void CancelToken::cancel(int signo) const noexcept {
  if (state_) note(*state_, std::max(signo, 0));
}

bool CancelToken::cancelled() const noexcept {
  return is_cancelled(state_ ? state_.get() : current_state());
}

int CancelToken::count() const noexcept {
  return count_of(state_ ? state_.get() : current_state());
}

int CancelToken::reason() const noexcept {
  return reason_of(state_ ? state_.get() : current_state());
}

void CancelToken::throw_if_cancelled() const {
  const State* s = state_ ? state_.get() : current_state();
  if (is_cancelled(s)) throw_cancelled(s);
}

CancelScope::CancelScope(CancelToken token) noexcept : token_(std::move(token)) {
  if (token_.empty()) return;
  previous_ = t_scope;
  t_scope = &token_;
  bound_ = true;
}

CancelScope::~CancelScope() {
  if (bound_) t_scope = previous_;
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking reads/writes return EINTR and loops re-check
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() noexcept {
  return is_cancelled(current_state());
}
int interrupt_signal() noexcept {
  return reason_of(current_state());
}
int interrupt_count() noexcept {
  return count_of(current_state());
}
const char* interrupt_signal_name() noexcept {
  return name_of(current_state());
}

void throw_if_interrupted() {
  const CancelToken::State* s = current_state();
  if (is_cancelled(s)) throw_cancelled(s);
}

void request_interrupt(int signo) noexcept {
  note(g_process, signo);
}

void clear_interrupt() noexcept {
  g_process.first.store(-1);
  g_process.count.store(0);
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
