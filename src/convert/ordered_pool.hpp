#pragma once
// An ordered worker pool in the style of RocksDB's ParallelCompressionRep
// (table/block_based/block_based_table_builder.cc): the consumer submits jobs
// with increasing sequence numbers into a work queue, N workers process them
// in any order, and the consumer takes the results back strictly in sequence
// order. At most `window` jobs are in flight, so memory is window x job size
// whatever the input size. A worker's exception travels to the consumer as an
// exception_ptr and is rethrown by next() in sequence order.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "imgtool/cancel.hpp"

namespace imgtool::convert {

template <class Job, class Result>
class OrderedPool {
 public:
  using WorkFn = std::function<Result(Job&)>;

  OrderedPool(unsigned workers, size_t window, WorkFn work)
      : work_(std::move(work)), window_(window < 1 ? 1 : window), slots_(window_) {
    if (workers < 1) workers = 1;
    threads_.reserve(workers);
    // Workers follow the token of the thread that made the pool (the
    // operation's), so a job polling it stops with the operation.
    const CancelToken token = CancelToken::current();
    for (unsigned i = 0; i < workers; ++i)
      threads_.emplace_back([this, token](std::stop_token st) {
        CancelScope scope(token);
        worker(st);
      });
  }
  // Stops the workers (each finishes at most its current job) and joins them.
  ~OrderedPool() {
    {
      std::lock_guard lk(m_);
      stopping_ = true;
    }
    for (auto& t : threads_) t.request_stop();
    cv_work_.notify_all();
    threads_.clear();  // joins
  }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  bool can_submit() const { return submitted_ - consumed_ < window_; }
  bool pending() const { return submitted_ != consumed_; }

  void submit(Job job) {
    {
      std::lock_guard lk(m_);
      queue_.emplace_back(submitted_, std::move(job));
    }
    ++submitted_;
    cv_work_.notify_one();
  }

  // The result of the oldest job not yet taken; waits for it. Polls the
  // interrupt flag while waiting (a signal handler cannot notify the
  // condition variable), so a job stuck in a slow read does not hold the
  // consumer past the poll interval; ~OrderedPool then joins the workers.
  Result next() {
    Slot& s = slots_[consumed_ % window_];
    std::unique_lock lk(m_);
    while (!s.ready) {
      throw_if_interrupted();
      cv_done_.wait_for(lk, std::chrono::milliseconds(50));
    }
    s.ready = false;
    ++consumed_;
    if (s.error) std::rethrow_exception(std::exchange(s.error, nullptr));
    return std::move(*std::exchange(s.result, std::nullopt));
  }

 private:
  struct Slot {
    bool ready = false;
    std::optional<Result> result;
    std::exception_ptr error;
  };

  void worker(std::stop_token st) {
    for (;;) {
      std::pair<uint64_t, Job> item;
      {
        std::unique_lock lk(m_);
        cv_work_.wait(lk, [this, &st] { return !queue_.empty() || stopping_ || st.stop_requested(); });
        if (stopping_ || st.stop_requested()) return;  // stopping: queued jobs are abandoned
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      std::optional<Result> r;
      std::exception_ptr err;
      try {
        r.emplace(work_(item.second));
      } catch (...) {
        err = std::current_exception();
      }
      {
        std::lock_guard lk(m_);
        Slot& s = slots_[item.first % window_];
        s.result = std::move(r);
        s.error = err;
        s.ready = true;
      }
      cv_done_.notify_all();
    }
  }

  WorkFn work_;
  const size_t window_;
  std::mutex m_;
  // Plain condition variables: notify takes no lock, so a worker preempted
  // right after notifying cannot stall the consumer (condition_variable_any
  // locks an internal mutex in notify, measurably slow on a loaded machine).
  std::condition_variable cv_work_;
  std::condition_variable cv_done_;
  bool stopping_ = false;  // guarded by m_
  std::deque<std::pair<uint64_t, Job>> queue_;
  std::vector<Slot> slots_;
  uint64_t submitted_ = 0;             // consumer thread only
  uint64_t consumed_ = 0;              // consumer thread only
  std::vector<std::jthread> threads_;  // last: destroyed (joined) first
};

// Recycles equally sized buffers so that a conversion does not fault in fresh
// pages for every chunk (the pool never holds more than `window` of them).
// Each buffer has kAlign spare bytes so that page_aligned() can hand out a
// page-aligned span: the kernel copies to and from page-aligned user buffers
// several times faster (measured: pread/pwrite of 2 MiB, 16-byte aligned
// malloc memory vs page aligned).
class BufferPool {
 public:
  static constexpr size_t kAlign = 4096;
  explicit BufferPool(size_t size) : size_(size + kAlign) {}
  static std::span<std::byte> page_aligned(std::vector<std::byte>& b, size_t len) {
    const auto addr = reinterpret_cast<uintptr_t>(b.data());
    const size_t skip = (kAlign - addr % kAlign) % kAlign;
    return std::span<std::byte>(b.data() + skip, len);
  }
  std::vector<std::byte> get() {
    std::lock_guard lk(m_);
    if (free_.empty()) return std::vector<std::byte>(size_);
    std::vector<std::byte> b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void put(std::vector<std::byte> b) {
    if (b.size() != size_) return;
    std::lock_guard lk(m_);
    free_.push_back(std::move(b));
  }

 private:
  size_t size_;
  std::mutex m_;
  std::vector<std::vector<std::byte>> free_;
};

}  // namespace imgtool::convert
