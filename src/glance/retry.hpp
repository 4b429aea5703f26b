#pragma once
// Backoff between attempts of a request that is safe to repeat (GET, DELETE,
// a Keystone token): 0.5 s, 1 s, 2 s. A cancellable request's wait ends at
// the first cancel; a cleanup request's wait (not cancellable) ends only at a
// second one, like the request itself (http.hpp).
#include <algorithm>
#include <chrono>
#include <thread>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {

inline constexpr int kRetries = 3;

inline void backoff(int attempt, bool cancellable) {
  const auto d = std::chrono::milliseconds(500) * (1 << std::min(attempt, 4));
  if (cancellable) {
    interruptible_sleep(d);
    return;
  }
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (interrupt_count() > 1) throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace imgtool::glance
