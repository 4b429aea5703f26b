// DigestStream: the upstream digests over the bytes exactly as they pass,
// through the EVP contexts of the lazily opened libcrypto (hash/evp_digest.hpp).
#include "sources/digest_stream.hpp"

#include <optional>

#include "hash/evp_digest.hpp"
#include "imgtool/error.hpp"

namespace imgtool::sources {
namespace {

HashAlgo hash_algo(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::Md5: return HashAlgo::md5;
    case DigestAlgorithm::Sha256: return HashAlgo::sha256;
    case DigestAlgorithm::Sha512: return HashAlgo::sha512;
  }
  return HashAlgo::sha256;  // unreachable: every enumerator is listed
}

}  // namespace

std::string_view to_string(DigestAlgorithm a) noexcept {
  switch (a) {
    case DigestAlgorithm::Md5: return "md5";
    case DigestAlgorithm::Sha256: return "sha256";
    case DigestAlgorithm::Sha512: return "sha512";
  }
  return "sha256";
}

struct DigestStream::Impl {
  struct One {
    DigestAlgorithm algorithm;
    hash::EvpDigest digest;
    std::optional<std::string> hex;  // once finished
  };
  std::unique_ptr<ByteStream> inner;
  std::vector<One> digests;
  uint64_t pos = 0;
  bool at_end = false;
};

DigestStream::DigestStream(std::unique_ptr<ByteStream> inner, std::vector<DigestAlgorithm> algorithms)
    : impl_(std::make_unique<Impl>()) {
  impl_->inner = std::move(inner);
  for (DigestAlgorithm a : algorithms) {
    bool listed = false;
    for (const auto& d : impl_->digests) listed = listed || d.algorithm == a;
    if (!listed) impl_->digests.push_back({a, hash::EvpDigest(hash_algo(a)), std::nullopt});
  }
}

DigestStream::~DigestStream() = default;

const std::string& DigestStream::name() const {
  return impl_->inner->name();
}

size_t DigestStream::read(std::span<std::byte> out) {
  if (out.empty()) return 0;
  const size_t n = impl_->inner->read(out);
  if (n == 0) {
    impl_->at_end = true;
    return 0;
  }
  for (auto& d : impl_->digests) d.digest.update(out.first(n));
  impl_->pos += n;
  return n;
}

std::optional<uint64_t> DigestStream::size_hint() const {
  return impl_->inner->size_hint();
}

uint64_t DigestStream::position() const {
  return impl_->pos;
}

std::string DigestStream::finish(DigestAlgorithm a) {
  Impl::One* one = nullptr;
  for (auto& d : impl_->digests)
    if (d.algorithm == a) one = &d;
  if (one == nullptr)
    throw Error(ErrorKind::Usage, name(),
                std::string("no ") + std::string(to_string(a)) + " digest was asked for");
  if (!impl_->at_end) {
    std::vector<std::byte> chunk(size_t{1} << 20);
    while (read(chunk) != 0) {
    }
  }
  if (!one->hex) one->hex = one->digest.finish_hex();
  return *one->hex;
}

}  // namespace imgtool::sources
