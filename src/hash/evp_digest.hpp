#pragma once
// RAII wrapper of one OpenSSL EVP digest context (internal: the public
// checksum.hpp stays free of OpenSSL: public headers include std and imgtool headers only).
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "hash/crypto_api.hpp"  // evp(): libcrypto, loaded at first use
#include "imgtool/checksum.hpp"

namespace imgtool::hash {

class EvpDigest {
 public:
  explicit EvpDigest(HashAlgo algo);
  void update(std::span<const std::byte> data);
  // Lower-case hex; the context cannot be updated afterwards.
  std::string finish_hex();
  HashAlgo algo() const noexcept { return algo_; }

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const noexcept { evp().MD_CTX_free(c); }
  };
  HashAlgo algo_;
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
  bool finished_ = false;
};

}  // namespace imgtool::hash
