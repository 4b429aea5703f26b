#include "hash/crypto_api.hpp"

#include "imgtool_config.hpp"
#include "util/shared_library.hpp"

namespace imgtool::hash {
namespace {

constexpr dynlib::LibraryId kLibcrypto{"libcrypto", IMGTOOL_CRYPTO_SONAME, "computing digests"};

EvpApi load() {
  void* h = dynlib::open_library(kLibcrypto);
  EvpApi api;
#define IMGTOOL_EVP_BIND(name) dynlib::bind(api.name, h, kLibcrypto, "EVP_" #name);
  IMGTOOL_EVP_FUNCTIONS(IMGTOOL_EVP_BIND)
#undef IMGTOOL_EVP_BIND
#define IMGTOOL_RAND_BIND(name) dynlib::bind(api.RAND_##name, h, kLibcrypto, "RAND_" #name);
  IMGTOOL_RAND_FUNCTIONS(IMGTOOL_RAND_BIND)
#undef IMGTOOL_RAND_BIND
  return api;
}

}  // namespace

const EvpApi& evp() {
  // Loaded once even when threads race here (a function-local static); an
  // exception from load() leaves it uninitialized, so the next call tries again.
  static const EvpApi api = load();
  return api;
}

}  // namespace imgtool::hash
