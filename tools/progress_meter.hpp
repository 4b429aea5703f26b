#pragma once
// `imgtool publish -p`: bytes sent, percentage, rate and ETA on stderr. On a
// terminal one line is redrawn in place (at most every 200 ms); otherwise
// (a CI log, a pipe) a full line is printed every 5 s and at the end, so logs
// stay readable.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace imgtool::cli {

class ProgressMeter {
 public:
  explicit ProgressMeter(bool tty);
  // done: bytes so far; total: nullopt when the size is not known (a
  // conversion streamed into the upload).
  void update(uint64_t done, std::optional<uint64_t> total);
  // Ends the line (terminal) so later output starts on its own line.
  void finish();

  // "37.0%  190.0/513.0 MiB  95.2 MiB/s  ETA 0:03" or, without a total,
  // "190.0 MiB  95.2 MiB/s".
  static std::string format(uint64_t done, std::optional<uint64_t> total, double bytes_per_s);

 private:
  using Clock = std::chrono::steady_clock;
  void draw(uint64_t done, std::optional<uint64_t> total, double bytes_per_s);
  double average(Clock::time_point now) const;
  bool tty_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_print_{};
  Clock::time_point rate_at_ = start_;
  uint64_t rate_bytes_ = 0;
  double rate_ = 0;  // bytes/s, smoothed
  bool drawn_ = false;
  bool final_drawn_ = false;
  uint64_t last_done_ = 0;
  std::optional<uint64_t> last_total_;
};

}  // namespace imgtool::cli
