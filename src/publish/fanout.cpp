// The tee to several uploads (fanout.hpp).
#include "publish/fanout.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool::publishing {

Fanout::Fanout(size_t consumers, std::function<void(uint64_t)> progress, size_t max_pieces)
    : progress_(std::move(progress)), max_pieces_(std::max<size_t>(max_pieces, 1)), cursors_(consumers) {}

Fanout::~Fanout() = default;

uint64_t Fanout::position() const {
  std::lock_guard<std::mutex> lk(mu_);
  return written_;
}

uint64_t Fanout::peak_bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return peak_;
}

void Fanout::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kPiece);
    Piece p;
    p.bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    push(std::move(p));
    data = data.subspan(n);
  }
}

void Fanout::write_zeros(uint64_t len) {
  if (len == 0) return;
  Piece p;
  p.zeros = len;  // not materialised: each consumer fills its own buffer
  push(std::move(p));
}

void Fanout::push(Piece p) {
  std::unique_lock<std::mutex> lk(mu_);
  const uint64_t len = p.length();
  bool any = std::any_of(cursors_.begin(), cursors_.end(), [](const Cursor& c) { return c.attached; });
  if (any) {
    for (;;) {
      if (aborted_) throw Error(ErrorKind::Interrupted, "", "upload stopped");
      if (pieces_.size() < max_pieces_) break;
      lk.unlock();
      throw_if_interrupted();
      lk.lock();
      cv_.wait_for(lk, std::chrono::milliseconds(200));
    }
    held_ += p.bytes.size();
    peak_ = std::max(peak_, held_);
    pieces_.push_back(std::make_shared<const Piece>(std::move(p)));
    release_locked();  // every consumer may have detached meanwhile
  }
  written_ += len;
  if (cursors_.empty() && progress_) progress_(written_);
  lk.unlock();
  cv_.notify_all();
}

void Fanout::finish() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    finished_ = true;
  }
  cv_.notify_all();
}

void Fanout::fail(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!error_) error_ = std::move(e);
  }
  cv_.notify_all();
}

void Fanout::abort() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    aborted_ = true;
  }
  cv_.notify_all();
}

void Fanout::detach(size_t consumer) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    cursors_.at(consumer).attached = false;
    release_locked();
    report_locked();
  }
  cv_.notify_all();
}

void Fanout::release_locked() {
  uint64_t keep_from = first_piece_ + pieces_.size();
  for (const Cursor& c : cursors_)
    if (c.attached) keep_from = std::min(keep_from, c.piece);
  while (first_piece_ < keep_from && !pieces_.empty()) {
    held_ -= pieces_.front()->bytes.size();
    pieces_.pop_front();
    ++first_piece_;
  }
}

void Fanout::report_locked() {
  if (!progress_) return;
  uint64_t slowest = UINT64_MAX;
  for (const Cursor& c : cursors_)
    if (c.attached) slowest = std::min(slowest, c.taken);
  if (slowest == UINT64_MAX || slowest <= reported_) return;
  reported_ = slowest;
  progress_(slowest);
}

size_t Fanout::read(size_t consumer, std::span<std::byte> out) {
  std::unique_lock<std::mutex> lk(mu_);
  Cursor& c = cursors_.at(consumer);
  for (;;) {
    if (aborted_) throw Error(ErrorKind::Interrupted, "", "upload stopped");
    if (error_) std::rethrow_exception(error_);
    if (c.piece < first_piece_ + pieces_.size()) break;
    if (finished_) return 0;
    lk.unlock();
    throw_if_interrupted();
    lk.lock();
    cv_.wait_for(lk, std::chrono::milliseconds(200));
  }
  // Hold the piece itself, not the lock, while copying.
  std::shared_ptr<const Piece> p = pieces_[static_cast<size_t>(c.piece - first_piece_)];
  const uint64_t at = c.offset;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), p->length() - at));
  c.offset += n;
  c.taken += n;
  bool passed = false;
  if (c.offset == p->length()) {
    ++c.piece;
    c.offset = 0;
    passed = true;
  }
  if (passed) release_locked();
  report_locked();
  lk.unlock();
  if (passed) cv_.notify_all();
  if (p->bytes.empty())
    std::memset(out.data(), 0, n);
  else
    std::memcpy(out.data(), p->bytes.data() + at, n);
  return n;
}

}  // namespace imgtool::publishing
