#pragma once
// GET /v2/images/{id}/file as a ByteStream, for the readers that pull
// (download --convert-to: a spool, an image reader, the converter).
//
// The Glance client pushes the body through a callback (HttpRequest::
// body_sink) while the readers pull, so the request runs on a thread of its
// own and hands its pieces over through a small bounded queue: the request
// waits while the queue is full, so at most kQueueBytes are in flight
// whatever the image size. Each byte is seen by `observe` exactly once, in
// order, on the reading thread (the hashes and the progress of the download).
//
// The stream says the record's size as its size_hint (a raw image's size is
// then known before its end) and holds Glance to it: a body that ends short
// or runs past it throws Error(Mismatch). Destroying the stream stops the
// request (the callback throws, libcurl aborts) and joins the thread; errors
// of the request (HTTP, transport, interrupt) are thrown by read().
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "imgtool/stream.hpp"

namespace imgtool::glance {

class ImagesApi;

class GlanceBodyStream final : public ByteStream {
 public:
  static constexpr size_t kQueueBytes = size_t(4) << 20;
  using Observer = std::function<void(std::span<const std::byte>)>;

  // `api` must outlive the stream; it is used only by the stream's thread
  // until the stream is destroyed. `name` is used in messages.
  GlanceBodyStream(ImagesApi& api, std::string image_id, std::string name, uint64_t size, Observer observe);
  ~GlanceBodyStream() override;
  GlanceBodyStream(const GlanceBodyStream&) = delete;
  GlanceBodyStream& operator=(const GlanceBodyStream&) = delete;

  const std::string& name() const override;
  size_t read(std::span<std::byte> out) override;
  std::optional<uint64_t> size_hint() const override;
  uint64_t position() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgtool::glance
