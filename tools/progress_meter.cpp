#include "progress_meter.hpp"

#include <cstdio>

namespace imgtool::cli {
namespace {

std::string mib(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(b) / (1 << 20));
  return buf;
}

}  // namespace

ProgressMeter::ProgressMeter(bool tty) : tty_(tty) {}

std::string ProgressMeter::format(uint64_t done, std::optional<uint64_t> total, double bytes_per_s) {
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f MiB/s", bytes_per_s / (1 << 20));
  if (!total || *total == 0) return mib(done) + " MiB  " + rate;
  const uint64_t t = *total;
  const uint64_t d = done < t ? done : t;
  char head[64];
  std::snprintf(head, sizeof head, "%.1f%%  ", 100.0 * static_cast<double>(d) / static_cast<double>(t));
  std::string eta = "ETA --:--";
  if (bytes_per_s > 0) {
    const auto s = static_cast<uint64_t>(static_cast<double>(t - d) / bytes_per_s + 0.5);
    char e[32];
    if (s >= 3600)
      std::snprintf(e, sizeof e, "ETA %llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                    static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
    else
      std::snprintf(e, sizeof e, "ETA %llu:%02llu", static_cast<unsigned long long>(s / 60),
                    static_cast<unsigned long long>(s % 60));
    eta = e;
  }
  return std::string(head) + mib(d) + "/" + mib(t) + " MiB  " + rate + "  " + eta;
}

void ProgressMeter::update(uint64_t done, std::optional<uint64_t> total) {
  const auto now = Clock::now();
  last_done_ = done;
  last_total_ = total;
  // The rate over the last second or so, smoothed; the first estimate is the
  // plain average, so the ETA is sensible from the first line on.
  const double since = std::chrono::duration<double>(now - rate_at_).count();
  if (since >= 1.0 || rate_ == 0) {
    if (since > 0 && done >= rate_bytes_) {
      const double r = static_cast<double>(done - rate_bytes_) / since;
      rate_ = rate_ == 0 ? r : 0.7 * rate_ + 0.3 * r;
    }
    rate_at_ = now;
    rate_bytes_ = done;
  }
  const bool last = total && done >= *total;
  if (last && final_drawn_) return;
  const auto every = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
  if (!last && drawn_ && now - last_print_ < every) return;
  last_print_ = now;
  final_drawn_ = last;
  draw(done, total, last ? average(now) : rate_);
}

double ProgressMeter::average(Clock::time_point now) const {
  const double all = std::chrono::duration<double>(now - start_).count();
  return all > 0 ? static_cast<double>(last_done_) / all : 0;
}

void ProgressMeter::draw(uint64_t done, std::optional<uint64_t> total, double rate) {
  const std::string line = format(done, total, rate);
  if (tty_)
    std::fprintf(stderr, "\r    %-60s", line.c_str());
  else
    std::fprintf(stderr, "imgtool: progress: %s\n", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressMeter::finish() {
  // A stream of unknown size never reaches "done == total": the last line
  // (whole-transfer average) is drawn here.
  if (!final_drawn_ && (drawn_ || last_done_ > 0)) {
    draw(last_done_, last_total_, average(Clock::now()));
    final_drawn_ = true;
  }
  if (tty_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace imgtool::cli
