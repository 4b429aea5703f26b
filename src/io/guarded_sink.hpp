#pragma once
// An output sink with a last check before it is made final: the checks that
// need the whole input (upstream digests, Glance's hashes of a download, the
// deferred consistency walk) run after the last byte was written and before
// the inner sink's finish() gives DST its name, so a failure leaves no DST.
#include <functional>
#include <span>
#include <string>
#include <utility>

#include "imgtool/sink.hpp"

namespace imgtool::io {

class GuardedSink final : public ByteSink {
 public:
  GuardedSink(ByteSink& inner, std::function<void()> before_finish)
      : inner_(inner), before_finish_(std::move(before_finish)) {}
  const std::string& name() const override { return inner_.name(); }
  void write(std::span<const std::byte> data) override { inner_.write(data); }
  void write_zeros(uint64_t len) override { inner_.write_zeros(len); }
  uint64_t position() const override { return inner_.position(); }
  void finish() override {
    before_finish_();
    inner_.finish();
  }
  bool seekable() const override { return inner_.seekable(); }
  void pwrite(uint64_t offset, std::span<const std::byte> data) override { inner_.pwrite(offset, data); }

 private:
  ByteSink& inner_;
  std::function<void()> before_finish_;
};

}  // namespace imgtool::io
