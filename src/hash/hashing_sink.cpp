// GlanceHashingSink: the hash tee of convert (hash what is written) and
// publish (hash what is uploaded). Bytes are hashed in write order before
// being forwarded, so the digests equal those of the finished file / of what
// Glance received, and nothing has to be read back.
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"

namespace imgtool {

GlanceHashingSink::GlanceHashingSink(ByteSink& inner, HashAlgo os_hash_algo, bool threaded)
    : inner_(inner), algo_(os_hash_algo), hasher_({HashAlgo::md5, os_hash_algo}, threaded) {}

GlanceHashingSink::~GlanceHashingSink() = default;

const std::string& GlanceHashingSink::name() const {
  return inner_.name();
}
uint64_t GlanceHashingSink::position() const {
  return inner_.position();
}

void GlanceHashingSink::write(std::span<const std::byte> data) {
  if (digests_) throw Error(ErrorKind::Usage, inner_.name(), "write after finish()");
  hasher_.update(data);
  inner_.write(data);
}

void GlanceHashingSink::write_zeros(uint64_t len) {
  if (digests_) throw Error(ErrorKind::Usage, inner_.name(), "write after finish()");
  hasher_.update_zeros(len);
  inner_.write_zeros(len);  // a file sink leaves a hole; the hash has the zeros
}

void GlanceHashingSink::finish() {
  if (digests_) return;
  // Digests first: the inner sink's finish() may commit the output (rename
  // DST into place), and nothing may fail after that.
  auto hex = hasher_.finish_hex();
  inner_.finish();
  GlanceDigests d;
  d.checksum = std::move(hex[0]);
  d.os_hash_algo = to_string(algo_);
  d.os_hash_value = std::move(hex[1]);
  d.size = hasher_.bytes();
  digests_ = std::move(d);
}

const GlanceDigests& GlanceHashingSink::digests() const {
  if (!digests_) throw Error(ErrorKind::Usage, inner_.name(), "digests() called before finish()");
  return *digests_;
}

}  // namespace imgtool
