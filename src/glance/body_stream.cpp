// GlanceBodyStream: the push of the Glance client turned into a pull (see
// body_stream.hpp).
#include "glance/body_stream.hpp"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "glance/images_api.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

// How long either side waits before it looks at its cancel token again.
constexpr auto kPoll = std::chrono::milliseconds(50);

// Thrown from the body callback to make libcurl abort once the reader is gone.
struct Stopped {};

}  // namespace

struct GlanceBodyStream::Impl {
  std::string name;
  uint64_t size = 0;
  uint64_t position = 0;
  Observer observe;

  std::mutex m;
  std::condition_variable cv;
  std::deque<std::vector<std::byte>> queue;  // pieces not read yet
  size_t front_used = 0;                     // bytes of queue.front() already read
  size_t queued = 0;                         // bytes in `queue` not read yet
  bool done = false;                         // the request ended (see `error`)
  bool stop = false;                         // the reader is gone: abort the request
  std::exception_ptr error;
  std::thread worker;

  // The request's thread: waits for room, then queues a copy of the piece.
  void push(std::span<const std::byte> piece) {
    std::unique_lock lk(m);
    while (!stop && queued >= kQueueBytes) cv.wait_for(lk, kPoll);
    if (stop) throw Stopped{};
    queue.emplace_back(piece.begin(), piece.end());
    queued += piece.size();
    cv.notify_all();
  }

  void finish(std::exception_ptr e) {
    std::lock_guard lk(m);
    done = true;
    error = std::move(e);
    cv.notify_all();
  }
};

GlanceBodyStream::GlanceBodyStream(ImagesApi& api, std::string image_id, std::string name, uint64_t size,
                                   Observer observe)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->size = size;
  impl_->observe = std::move(observe);
  Impl* s = impl_.get();
  // The request follows the token the caller follows (its CancelScope), so
  // an interrupt stops the transfer as well as the reader.
  impl_->worker = std::thread([s, &api, id = std::move(image_id), token = CancelToken::current()] {
    CancelScope scope(token);
    try {
      api.download(id, [s](std::span<const std::byte> piece) { s->push(piece); });
      s->finish(nullptr);
    } catch (const Stopped&) {
      s->finish(nullptr);  // nobody reads any more
    } catch (...) {        // HTTP, transport, interrupt: read() throws it after the queued bytes
      s->finish(std::current_exception());
    }
  });
}

GlanceBodyStream::~GlanceBodyStream() {
  {
    std::lock_guard lk(impl_->m);
    impl_->stop = true;
    impl_->cv.notify_all();
  }
  if (impl_->worker.joinable()) impl_->worker.join();
}

const std::string& GlanceBodyStream::name() const {
  return impl_->name;
}

std::optional<uint64_t> GlanceBodyStream::size_hint() const {
  return impl_->size;
}

uint64_t GlanceBodyStream::position() const {
  return impl_->position;
}

size_t GlanceBodyStream::read(std::span<std::byte> out) {
  Impl& s = *impl_;
  std::unique_lock lk(s.m);
  while (s.queue.empty() && !s.done) {
    s.cv.wait_for(lk, kPoll);
    if (s.queue.empty() && !s.done) {
      lk.unlock();
      throw_if_interrupted();
      lk.lock();
    }
  }
  if (s.queue.empty()) {
    if (s.error) std::rethrow_exception(s.error);
    if (s.position != s.size)
      throw Error(ErrorKind::Mismatch, s.name,
                  "Glance sent " + std::to_string(s.position) + " bytes; the image record says " +
                      std::to_string(s.size));
    return 0;
  }
  size_t n = 0;
  while (n < out.size() && !s.queue.empty()) {
    const std::vector<std::byte>& f = s.queue.front();
    const size_t take = std::min(out.size() - n, f.size() - s.front_used);
    std::memcpy(out.data() + n, f.data() + s.front_used, take);
    n += take;
    s.front_used += take;
    if (s.front_used == f.size()) {
      s.queue.pop_front();
      s.front_used = 0;
    }
  }
  s.queued -= n;
  s.cv.notify_all();
  lk.unlock();
  if (s.position + n > s.size)
    throw Error(ErrorKind::Mismatch, s.name,
                "Glance sent more than the " + std::to_string(s.size) + " bytes the image record says");
  s.position += n;
  if (s.observe) s.observe(std::span<const std::byte>(out.data(), n));
  return n;
}

}  // namespace imgtool::glance
