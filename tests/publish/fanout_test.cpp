// The tee that sends one read to several uploads (src/publish/fanout.hpp):
// every consumer gets every byte in order, memory stays bounded however many
// consumers there are, a failed consumer is left behind, and a producer
// error or an abort reaches everyone.
#include "publish/fanout.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "imgtool/error.hpp"

namespace imgtool::publishing {
namespace {

std::vector<std::byte> pattern(size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>((i * 131 + seed) >> 3));
  return v;
}

// Writes `data` in odd-sized pieces with a zero run in the middle.
void produce(Fanout& fan, const std::vector<std::byte>& data, uint64_t zeros) {
  const size_t half = data.size() / 2;
  for (size_t at = 0; at < half; at += 300000)
    fan.write(std::span(data).subspan(at, std::min<size_t>(300000, half - at)));
  fan.write_zeros(zeros);
  fan.write(std::span(data).subspan(half));
  fan.finish();
}

std::vector<std::byte> consume(Fanout& fan, size_t i, size_t chunk, std::chrono::microseconds delay = {}) {
  std::vector<std::byte> out, buf(chunk);
  for (;;) {
    size_t n = fan.read(i, buf);
    if (n == 0) return out;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
  }
}

std::vector<std::byte> expected(const std::vector<std::byte>& data, uint64_t zeros) {
  std::vector<std::byte> e(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(data.size() / 2));
  e.resize(e.size() + zeros, std::byte{0});
  e.insert(e.end(), data.begin() + static_cast<std::ptrdiff_t>(data.size() / 2), data.end());
  return e;
}

TEST(Fanout, EveryConsumerGetsEveryByteAndMemoryIsBoundedWhateverTheirNumber) {
  const auto data = pattern(24 << 20, 7);
  const uint64_t zeros = 5 << 20;
  for (size_t consumers : {1u, 3u, 6u}) {
    std::atomic<uint64_t> slowest{0};
    Fanout fan(consumers, [&](uint64_t done) { slowest = done; });
    std::vector<std::vector<std::byte>> got(consumers);
    {
      std::vector<std::jthread> readers;
      for (size_t i = 0; i < consumers; ++i)
        readers.emplace_back([&, i] {
          // One slow reader sets the pace; the others read in other sizes.
          got[i] = consume(fan, i, 65536 + i * 4097,
                           i == 0 ? std::chrono::microseconds(200) : std::chrono::microseconds(0));
        });
      produce(fan, data, zeros);
    }
    const auto want = expected(data, zeros);
    for (size_t i = 0; i < consumers; ++i) EXPECT_EQ(got[i], want) << consumers << " consumers, #" << i;
    EXPECT_LE(fan.peak_bytes(), Fanout::kMaxPieces * Fanout::kPiece) << consumers;
    EXPECT_EQ(slowest.load(), want.size());
  }
}

TEST(Fanout, ADetachedConsumerNoLongerHoldsTheOthersBack) {
  const auto data = pattern(40 << 20, 3);
  Fanout fan(2);
  std::vector<std::byte> got;
  {
    std::jthread fast([&] { got = consume(fan, 1, 1 << 20); });
    std::jthread failing([&] {
      std::vector<std::byte> buf(4096);
      (void)fan.read(0, buf);  // takes a little, then its upload "fails"
      fan.detach(0);
    });
    produce(fan, data, 0);
  }
  EXPECT_EQ(got, expected(data, 0));
}

TEST(Fanout, AProducerErrorReachesEveryConsumer) {
  Fanout fan(2);
  std::vector<std::string> errors(2);
  {
    std::vector<std::jthread> readers;
    for (size_t i = 0; i < 2; ++i)
      readers.emplace_back([&, i] {
        try {
          consume(fan, i, 4096);
        } catch (const Error& e) {
          errors[i] = e.message();
        }
      });
    fan.write(pattern(1000, 1));
    fan.fail(std::make_exception_ptr(Error(ErrorKind::Format, "img", "bad cluster at 0x1000")));
  }
  EXPECT_EQ(errors[0], "bad cluster at 0x1000");
  EXPECT_EQ(errors[1], "bad cluster at 0x1000");
}

TEST(Fanout, AbortStopsAProducerBlockedOnASlowConsumer) {
  Fanout fan(1);
  std::string producer_error;
  std::jthread producer([&] {
    try {
      const auto data = pattern(1 << 20, 9);
      for (int i = 0; i < 64; ++i) fan.write(data);  // blocks after kMaxPieces: nobody reads
    } catch (const Error& e) {
      producer_error = e.message();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  fan.abort();
  producer.join();
  EXPECT_EQ(producer_error, "upload stopped");
  std::vector<std::byte> buf(16);
  EXPECT_THROW(fan.read(0, buf), Error);
}

TEST(Fanout, WithoutConsumersTheBytesAreCountedAndDropped) {
  uint64_t seen = 0;
  Fanout fan(0, [&](uint64_t done) { seen = done; });
  fan.write(pattern(3 << 20, 2));
  fan.write_zeros(1 << 30);
  fan.finish();
  EXPECT_EQ(fan.position(), (3u << 20) + (1u << 30));
  EXPECT_EQ(seen, fan.position());
  EXPECT_EQ(fan.peak_bytes(), 0u);
}

}  // namespace
}  // namespace imgtool::publishing
