#pragma once
// libcrypto (OpenSSL's digests), opened at first use (src/util/shared_library.hpp
// says why: it is the largest library imgtool links, 21,000 relocations at
// every start, and only hashing needs it). evp_digest.cpp writes
// evp().DigestUpdate(...) where it would write EVP_DigestUpdate(...).
#include <openssl/evp.h>

namespace imgtool::hash {

// The one list of the functions used; a new call adds its name here.
#define IMGTOOL_EVP_FUNCTIONS(X) \
  X(MD_CTX_new)                  \
  X(MD_CTX_free)                 \
  X(DigestInit_ex)               \
  X(DigestUpdate)                \
  X(DigestFinal_ex)              \
  X(md5)                         \
  X(sha1)                        \
  X(sha256)                      \
  X(sha384)                      \
  X(sha512)

struct EvpApi {
// `name` holds EVP_<name>.
#define IMGTOOL_EVP_MEMBER(name) decltype(&::EVP_##name) name = nullptr;
  IMGTOOL_EVP_FUNCTIONS(IMGTOOL_EVP_MEMBER)
#undef IMGTOOL_EVP_MEMBER
};

// libcrypto, loaded on the first call (thread-safe). Throws
// Error(Unsupported) "computing digests needs libcrypto (libcrypto.so.3): ..."
// when it cannot be loaded; a later call tries again.
const EvpApi& evp();

}  // namespace imgtool::hash
