// ContentHasher and cluster_digest: SHA-256 through OpenSSL's EVP interface
// (src/convert/content_digest.hpp has the definition of the digest).
#include "convert/content_digest.hpp"

#include <cstring>
#include <string>
#include <string_view>

#include "hash/crypto_api.hpp"
#include "imgtool/error.hpp"

namespace imgtool::convert {
namespace {

[[noreturn]] void fail(const char* what) {
  throw Error(ErrorKind::Io, "", std::string("OpenSSL SHA-256 failed: ") + what);
}

void le64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

}  // namespace

// OpenSSL through the table that opens libcrypto at first use
// (src/hash/crypto_api.hpp): only a conversion to vmdk needs this digest.
struct ContentHasher::Ctx {
  EVP_MD_CTX* md = hash::evp().MD_CTX_new();
  ~Ctx() { hash::evp().MD_CTX_free(md); }
};

ClusterDigest cluster_digest(std::span<const std::byte> data) {
  ClusterDigest out{};
  unsigned int n = 0;
  const hash::EvpApi& e = hash::evp();
  EVP_MD_CTX* md = e.MD_CTX_new();
  const bool ok = md != nullptr && e.DigestInit_ex(md, e.sha256(), nullptr) == 1 &&
                  e.DigestUpdate(md, data.data(), data.size()) == 1 &&
                  e.DigestFinal_ex(md, reinterpret_cast<unsigned char*>(out.data()), &n) == 1 &&
                  n == out.size();
  e.MD_CTX_free(md);
  if (!ok) fail("cluster digest");
  return out;
}

ContentHasher::ContentHasher(uint64_t virtual_size) : ctx_(std::make_unique<Ctx>()) {
  if (ctx_->md == nullptr || hash::evp().DigestInit_ex(ctx_->md, hash::evp().sha256(), nullptr) != 1)
    fail("init");
  constexpr std::string_view kTag = "imgtool-content-v1";
  unsigned char size[8];
  le64(size, virtual_size);
  if (hash::evp().DigestUpdate(ctx_->md, kTag.data(), kTag.size()) != 1 ||
      hash::evp().DigestUpdate(ctx_->md, size, sizeof size) != 1)
    fail("update");
}

ContentHasher::~ContentHasher() = default;

void ContentHasher::add(uint64_t guest_offset, uint64_t length, const ClusterDigest& d) {
  unsigned char rec[16 + 32];
  le64(rec, guest_offset);
  le64(rec + 8, length);
  std::memcpy(rec + 16, d.data(), d.size());
  if (hash::evp().DigestUpdate(ctx_->md, rec, sizeof rec) != 1) fail("update");
}

ContentDigest ContentHasher::finish() {
  ContentDigest out{};
  unsigned int n = 0;
  if (hash::evp().DigestFinal_ex(ctx_->md, reinterpret_cast<unsigned char*>(out.data()), &n) != 1 ||
      n != out.size())
    fail("final");
  return out;
}

}  // namespace imgtool::convert
