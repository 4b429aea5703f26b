#include "glance/upload_body.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

class FileBody final : public UploadBody {
 public:
  FileBody(std::shared_ptr<const ByteSource> src, ProgressFn progress, bool release_sent, uint64_t pad_to)
      : src_(std::move(src)),
        size_(src_->known_size()),
        progress_(std::move(progress)),
        release_sent_(release_sent),
        pad_to_(pad_to),
        hasher_({HashAlgo::md5, HashAlgo::sha512}) {
    if (size_ && pad_to_ > 1) size_ = (*size_ + pad_to_ - 1) / pad_to_ * pad_to_;
  }

  // A stream whose size is not known yet (a pipe) goes chunked, to its end.
  size_t read(std::span<std::byte> out) override {
    throw_if_interrupted();
    if (size_ && off_ >= *size_) return 0;
    size_t want = size_ ? static_cast<size_t>(std::min<uint64_t>(out.size(), *size_ - off_)) : out.size();
    size_t n = src_at_end_ ? 0 : src_->read_at(off_, out.first(want));
    if (n == 0 && pad_to_ > 1 && off_ % pad_to_ != 0) {  // the source ended inside a sector
      src_at_end_ = true;
      n = static_cast<size_t>(std::min<uint64_t>(want, pad_to_ - off_ % pad_to_));
      std::fill_n(out.begin(), n, std::byte{0});
      hasher_.update(out.first(n));
      off_ += n;
      if (progress_) progress_(off_, size_);
      return n;
    }
    if (n == 0 && !size_) return 0;
    if (n == 0)
      throw Error(ErrorKind::Io, src_->name(),
                  "file shrank during the upload: read ended at byte " + std::to_string(off_) + " of " +
                      std::to_string(*size_));
    hasher_.update(out.first(n));
    // Sent as they are: a one-pass spool may let go of them (raw only:
    // other formats' tables are walked again once the body went out).
    if (release_sent_) src_->consumed(off_, n);
    off_ += n;
    if (progress_) progress_(off_, size_);
    return n;
  }
  std::optional<uint64_t> size() const override { return size_; }
  Digests finish() override {
    auto hex = hasher_.finish_hex();
    return {hex[0], hex[1], off_};
  }

 private:
  std::shared_ptr<const ByteSource> src_;
  std::optional<uint64_t> size_;
  uint64_t off_ = 0;
  ProgressFn progress_;
  bool release_sent_;
  uint64_t pad_to_;
  bool src_at_end_ = false;
  MultiHasher hasher_;
};

// convert() pushes (ByteSink), curl pulls (read callback): a bounded queue
// between the converting thread and the uploading one.
class ConvertedBody final : public UploadBody {
 public:
  static constexpr size_t kBuffer = size_t{1} << 20;
  static constexpr size_t kMaxQueued = 8;

  ConvertedBody(std::shared_ptr<const Image> img, ConvertOptions opts, ProgressFn progress)
      : img_(std::move(img)),
        // The output's length when the target's layout fixes it before the
        // first byte (raw, qcow2 without -c, vmdk monolithicSparse): the
        // upload then carries a Content-Length instead of chunks (a store such
        // as RBD sizes the image once instead of growing it). The plan pass
        // runs here, once: the conversion reuses it.
        plan_(plan_output(*img_, opts)),
        size_(plan_.size),
        progress_(std::move(progress)),
        hasher_({HashAlgo::md5, HashAlgo::sha512}),
        sink_(*this) {
    // The converting thread follows the publishing thread's token.
    worker_ = std::jthread([this, o = std::move(opts), token = CancelToken::current()]() mutable {
      CancelScope scope(token);
      run(std::move(o));
    });
  }
  ~ConvertedBody() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    // jthread joins.
  }

  size_t read(std::span<std::byte> out) override {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (!queue_.empty()) break;
      if (error_) std::rethrow_exception(error_);
      if (done_) return 0;
      lk.unlock();
      throw_if_interrupted();
      lk.lock();
      cv_.wait_for(lk, std::chrono::milliseconds(200));
    }
    Piece& p = queue_.front();
    size_t n = 0;
    if (p.zeros > 0) {
      n = static_cast<size_t>(std::min<uint64_t>(p.zeros, out.size()));
      std::memset(out.data(), 0, n);
      p.zeros -= n;
      if (p.zeros == 0) queue_.pop_front();
    } else {
      n = std::min(out.size(), p.bytes.size() - p.pos);
      std::memcpy(out.data(), p.bytes.data() + p.pos, n);
      p.pos += n;
      if (p.pos == p.bytes.size()) queue_.pop_front();
    }
    lk.unlock();
    cv_.notify_all();
    hasher_.update(out.first(n));
    sent_ += n;
    if (progress_) progress_(sent_, size_);
    return n;
  }
  std::optional<uint64_t> size() const override { return size_; }
  Digests finish() override {
    // With a Content-Length the last read may come before the conversion
    // ended: its outcome (a source that changed since the plan) still counts.
    std::unique_lock<std::mutex> lk(mu_);
    while (!done_ && !error_) {
      lk.unlock();
      throw_if_interrupted();
      lk.lock();
      cv_.wait_for(lk, std::chrono::milliseconds(200));
    }
    if (error_) std::rethrow_exception(error_);
    lk.unlock();
    auto hex = hasher_.finish_hex();
    return {hex[0], hex[1], sent_};
  }

 private:
  struct Piece {
    std::vector<std::byte> bytes;
    size_t pos = 0;
    uint64_t zeros = 0;  // a run of zeros (write_zeros), not materialised
  };

  class QueueSink final : public ByteSink {
   public:
    explicit QueueSink(ConvertedBody& b) : b_(b) {}
    const std::string& name() const override { return name_; }
    void write(std::span<const std::byte> data) override {
      while (!data.empty()) {
        size_t n = std::min(data.size(), kBuffer);
        admit(n);
        Piece p;
        p.bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
        b_.push(std::move(p));
        data = data.subspan(n);
        pos_ += n;
      }
    }
    void write_zeros(uint64_t len) override {
      if (len == 0) return;
      admit(len);
      Piece p;
      p.zeros = len;
      b_.push(std::move(p));
      pos_ += len;
    }
    uint64_t position() const override { return pos_; }
    void finish() override {
      if (b_.size_ && pos_ != *b_.size_) refuse("ended after " + std::to_string(pos_));
    }

   private:
    // The Content-Length is a promise: a byte past it is an error, not a
    // longer (or, at the end, shorter) upload.
    void admit(uint64_t n) const {
      if (b_.size_ && n > *b_.size_ - pos_) refuse("went past byte " + std::to_string(pos_));
    }
    [[noreturn]] void refuse(const std::string& what) const {
      throw Error(ErrorKind::Io, name_,
                  "the conversion " + what + " of the " + std::to_string(*b_.size_) +
                      " bytes announced as the upload's size");
    }

    ConvertedBody& b_;
    std::string name_ = "upload";
    uint64_t pos_ = 0;
  };

  void push(Piece p) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return queue_.size() < kMaxQueued || closed_; });
    if (closed_) throw Error(ErrorKind::Interrupted, "", "upload stopped");
    queue_.push_back(std::move(p));
    lk.unlock();
    cv_.notify_all();
  }

  void run(ConvertOptions opts) {
    try {
      convert_image(*img_, sink_, opts, plan_);
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      error_ = std::current_exception();
    }
    cv_.notify_all();
  }

  std::shared_ptr<const Image> img_;
  OutputPlan plan_;
  std::optional<uint64_t> size_;  // plan_.size
  ProgressFn progress_;
  MultiHasher hasher_;
  QueueSink sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Piece> queue_;
  bool done_ = false;
  bool closed_ = false;
  std::exception_ptr error_;
  uint64_t sent_ = 0;
  std::jthread worker_;  // last: joined before the members it uses are destroyed
};

}  // namespace

std::unique_ptr<UploadBody> file_body(std::shared_ptr<const ByteSource> src, ProgressFn progress,
                                      bool release_sent, uint64_t pad_to) {
  return std::make_unique<FileBody>(std::move(src), std::move(progress), release_sent, pad_to);
}

std::unique_ptr<UploadBody> converted_body(std::shared_ptr<const Image> img, ConvertOptions opts,
                                           ProgressFn progress) {
  return std::make_unique<ConvertedBody>(std::move(img), std::move(opts), std::move(progress));
}

}  // namespace imgtool::glance
