#pragma once
// One producer, several uploads: the tee that sends one read of an image to
// every target. The producer writes (ByteSink); each consumer pulls its own
// copy with read(i, …) from curl's read callback. Pieces are shared, not
// copied per consumer, and at most `max_pieces` of them are held at once, so
// memory is bounded by max_pieces × piece size however many targets there
// are: the slowest consumer sets the pace. A consumer whose upload failed is
// detached and no longer waited for; abort() stops everyone.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "imgtool/sink.hpp"

namespace imgtool::publishing {

class Fanout final : public ByteSink {
 public:
  static constexpr size_t kPiece = size_t{1} << 20;
  static constexpr size_t kMaxPieces = 8;

  // `progress` (may be empty) is called with the bytes the slowest attached
  // consumer has taken (with no consumers: the bytes written).
  explicit Fanout(size_t consumers, std::function<void(uint64_t)> progress = {},
                  size_t max_pieces = kMaxPieces);
  ~Fanout() override;

  // ---- producer side (ByteSink) ----
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> data) override;
  void write_zeros(uint64_t len) override;
  uint64_t position() const override;
  void finish() override;  // the end: consumers read 0 once they took everything
  // The producer failed: every consumer's next read throws `e`.
  void fail(std::exception_ptr e);

  // ---- consumer side ----
  // Fills `out` with consumer i's next bytes; 0 at the end. Blocks while the
  // producer is behind; polls the calling thread's cancel token.
  size_t read(size_t consumer, std::span<std::byte> out);
  // Consumer i stopped (its upload failed): the others go on without it.
  void detach(size_t consumer);
  // Everything stops: the producer's next write and every consumer's next
  // read throw Error(Interrupted, "upload stopped").
  void abort();
  uint64_t peak_bytes() const;  // most bytes held at once (for the benchmark)

 private:
  struct Piece {
    std::vector<std::byte> bytes;  // empty for a run of zeros
    uint64_t zeros = 0;
    uint64_t length() const { return bytes.empty() ? zeros : bytes.size(); }
  };
  struct Cursor {
    uint64_t piece = 0;   // absolute index of the piece it reads
    uint64_t offset = 0;  // within that piece
    uint64_t taken = 0;   // bytes handed out
    bool attached = true;
  };
  void push(Piece p);
  void release_locked();  // drops the pieces every attached consumer passed
  void report_locked();

  std::string name_ = "upload";
  std::function<void(uint64_t)> progress_;
  const size_t max_pieces_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const Piece>> pieces_;
  uint64_t first_piece_ = 0;  // absolute index of pieces_.front()
  std::vector<Cursor> cursors_;
  uint64_t written_ = 0;
  uint64_t held_ = 0, peak_ = 0;
  bool finished_ = false;
  bool aborted_ = false;
  std::exception_ptr error_;
  uint64_t reported_ = 0;
};

}  // namespace imgtool::publishing
