#pragma once
// libcrypto (OpenSSL's digests and random bytes), opened at first use
// (src/util/shared_library.hpp says why: it is the largest library imgtool
// links, 21,000 relocations at every start, and only hashing and publish need
// it). evp_digest.cpp writes evp().DigestUpdate(...) where it would write
// EVP_DigestUpdate(...), images_api.cpp evp().RAND_bytes(...) for RAND_bytes(...).
#include <openssl/evp.h>
#include <openssl/rand.h>

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

// RAND_<name>, likewise.
#define IMGTOOL_RAND_FUNCTIONS(X) X(bytes)

struct EvpApi {
// `name` holds EVP_<name>; `RAND_name` holds RAND_<name>.
#define IMGTOOL_EVP_MEMBER(name) decltype(&::EVP_##name) name = nullptr;
  IMGTOOL_EVP_FUNCTIONS(IMGTOOL_EVP_MEMBER)
#undef IMGTOOL_EVP_MEMBER
#define IMGTOOL_RAND_MEMBER(name) decltype(&::RAND_##name) RAND_##name = nullptr;
  IMGTOOL_RAND_FUNCTIONS(IMGTOOL_RAND_MEMBER)
#undef IMGTOOL_RAND_MEMBER
};

// libcrypto, loaded on the first call (thread-safe). Throws
// Error(Unsupported) "computing digests needs libcrypto (libcrypto.so.3): ..."
// (digests and random bytes alike)
// when it cannot be loaded; a later call tries again.
const EvpApi& evp();

}  // namespace imgtool::hash
