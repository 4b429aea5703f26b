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

// The CLI's promise: gone within a second of the signal (release build). An
// ASan build runs these too, for memory errors on the interrupt paths; there
// the test image's own instrumented read of an 8 MiB job takes seconds on a
// busy machine, so only a bound that catches a hang is kept.
#if defined(__SANITIZE_ADDRESS__)
constexpr auto kLimit = milliseconds(10000);
#else
constexpr auto kLimit = milliseconds(1000);
#endif

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

// Guest data that deflate works hard on: pseudo-random base64 text (random
// bytes would be stored as they are: the writer spots them and skips
// compression), 64 GiB of it.
class NoiseImage final : public Image {
 public:
  NoiseImage() {
    info_.filename = "noise";
    info_.format = Format::Raw;
    info_.virtual_size = uint64_t{64} << 30;
  }
  const ImageInfo& info() const override { return info_; }
  Extent map(uint64_t offset, uint64_t max_len) const override {
    return {offset, std::min(max_len, info_.virtual_size - offset), ExtentKind::Data};
  }
  void read(uint64_t offset, std::span<std::byte> out) const override {
    static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint64_t x = offset * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < out.size(); i += 8) {
      x ^= x << 13;  // xorshift64
      x ^= x >> 7;
      x ^= x << 17;
      for (size_t k = 0; k < 8 && i + k < out.size(); ++k) out[i + k] = std::byte(kB64[(x >> (6 * k)) & 63]);
    }
  }
  CheckReport check() const override { return {}; }

 private:
  ImageInfo info_;
};

// Seekable, stores nothing, and takes `delay` per write (a slow disk or link).
class SlowSink final : public ByteSink {
 public:
  explicit SlowSink(milliseconds delay) : delay_(delay) {}
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> d) override {
    std::this_thread::sleep_for(delay_);
    pos_ += d.size();
  }
  void write_zeros(uint64_t n) override { pos_ += n; }
  uint64_t position() const override { return pos_; }
  void finish() override {}
  bool seekable() const override { return true; }
  void pwrite(uint64_t offset, std::span<const std::byte> d) override {
    if (offset > pos_ || d.size() > pos_ - offset)
      throw Error(ErrorKind::Usage, name_, "pwrite past the end");
  }

 private:
  milliseconds delay_;
  std::string name_ = "slow";
  uint64_t pos_ = 0;
};

ConvertOptions compressing(unsigned threads) {
  ConvertOptions o;
  o.target_format = *format_from_name("qcow2");
  o.compress = true;
  o.threads = threads;
  o.zero_granularity = uint64_t{8} << 20;  // one job = one 8 MiB unit
  return o;
}

// 16 workers each hold a job of 8 MiB to compress: finishing the jobs in
// flight after the signal takes seconds; they must stop between clusters.
TEST(Signals, ConvertWithManyCompressingWorkersStopsWithinASecond) {
  CleanFlag clean;
  NoiseImage img;
  SlowSink sink(milliseconds(0));
  const ConvertOptions o = compressing(16);
  const auto d = time_to_stop(milliseconds(1500), [&] { convert_image(img, sink, o); });
  EXPECT_LT(d, kLimit) << ms(d) << " ms";
}

// The consumer writes a chunk's clusters one by one to a sink that takes
// 20 ms each: 128 of them per 8 MiB chunk.
TEST(Signals, ConvertIntoASlowSinkStopsWithinASecond) {
  CleanFlag clean;
  NoiseImage img;
  SlowSink sink(milliseconds(20));
  const ConvertOptions o = compressing(16);
  const auto d = time_to_stop(milliseconds(1500), [&] { convert_image(img, sink, o); });
  EXPECT_LT(d, kLimit) << ms(d) << " ms";
}

// A server that accepts connections (the kernel completes the handshake for
// the listen backlog) and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = io::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (!fd_ || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_.get(), 8) != 0 ||
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
    port_ = ntohs(a.sin_port);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v2/images/x"; }

 private:
  io::UniqueFd fd_;
  int port_ = 0;
};

// Installs the CLI's handlers for one test and puts the old ones back.
class HandlersForTest {
 public:
  HandlersForTest() {
    ::sigaction(SIGINT, nullptr, &old_int_);
    ::sigaction(SIGTERM, nullptr, &old_term_);
    install_interrupt_handlers();
  }
  ~HandlersForTest() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string send_outcome(const glance::HttpRequest& req) {
  try {
    glance::HttpClient http({});
    http.send(req);
    return "answered";
  } catch (const Error& e) {
    return std::string(to_string(e.kind())) + ": " + e.message();
  }
}

TEST(Signals, HttpRequestStopsAtTheFirstSignalACleanupRequestAtTheSecond) {
  CleanFlag clean;
  HandlersForTest handlers;
  SilentServer server;
  for (bool cancellable : {true, false}) {
    clear_interrupt();
    glance::HttpRequest req;
    req.url = server.url();
    req.cancellable = cancellable;
    req.timeout_seconds = 20;
    // pthread_kill to the sending thread: its poll() returns EINTR, as with
    // a real Ctrl-C (the kernel gives a process's signal to its main thread).
    std::promise<pthread_t> tid;
    auto tid_future = tid.get_future();
    auto result = std::async(std::launch::async, [&] {
      tid.set_value(::pthread_self());
      return send_outcome(req);
    });
    const pthread_t sender = tid_future.get();
    std::this_thread::sleep_for(milliseconds(300));  // connected, request sent, waiting for an answer
    ::pthread_kill(sender, SIGINT);
    auto t0 = Clock::now();
    if (!cancellable) {
      // The first signal lets a cleanup request go on ...
      EXPECT_EQ(result.wait_for(milliseconds(1500)), std::future_status::timeout)
          << "a cleanup request stopped at the first signal: " << result.get();
      ::pthread_kill(sender, SIGINT);  // ... the second stops it
      t0 = Clock::now();
    }
    ASSERT_EQ(result.wait_for(milliseconds(5000)), std::future_status::ready);
    const std::string outcome = result.get();
    EXPECT_LT(Clock::now() - t0, kLimit) << "cancellable=" << cancellable;
    EXPECT_EQ(outcome, "interrupted: interrupted by SIGINT") << "cancellable=" << cancellable;
  }
}

}  // namespace
}  // namespace imgtool::test
