// EVP digests and the hashlib algorithm names Glance stores in os_hash_algo
// (glance/common/config.py: hashing_algorithm, any hashlib.new() name).
#include "hash/evp_digest.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "imgtool/error.hpp"

namespace imgtool {
namespace {

struct AlgoInfo {
  HashAlgo algo;
  const char* name;
  size_t size;
};
constexpr std::array<AlgoInfo, 5> kAlgos{{{HashAlgo::md5, "md5", 16},
                                          {HashAlgo::sha1, "sha1", 20},
                                          {HashAlgo::sha256, "sha256", 32},
                                          {HashAlgo::sha384, "sha384", 48},
                                          {HashAlgo::sha512, "sha512", 64}}};

const AlgoInfo& info(HashAlgo a) noexcept {
  for (const auto& i : kAlgos)
    if (i.algo == a) return i;
  return kAlgos[0];  // unreachable: every enumerator is listed
}

const EVP_MD* evp_md(HashAlgo a) noexcept {
  switch (a) {
    case HashAlgo::md5: return hash::evp().md5();
    case HashAlgo::sha1: return hash::evp().sha1();
    case HashAlgo::sha256: return hash::evp().sha256();
    case HashAlgo::sha384: return hash::evp().sha384();
    case HashAlgo::sha512: return hash::evp().sha512();
  }
  return nullptr;
}

}  // namespace

std::optional<HashAlgo> parse_hash_algo(std::string_view name) {
  for (const auto& i : kAlgos) {
    std::string_view n(i.name);
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      return i.algo;
  }
  return std::nullopt;
}

const char* to_string(HashAlgo a) noexcept {
  return info(a).name;
}
size_t digest_size(HashAlgo a) noexcept {
  return info(a).size;
}

namespace hash {

EvpDigest::EvpDigest(HashAlgo algo) : algo_(algo), ctx_(evp().MD_CTX_new()) {
  const EVP_MD* md = evp_md(algo);
  if (!ctx_ || md == nullptr || evp().DigestInit_ex(ctx_.get(), md, nullptr) != 1)
    throw Error(ErrorKind::Unsupported, "",
                std::string("OpenSSL cannot compute ") + to_string(algo) +
                    " (EVP_DigestInit_ex failed; FIPS mode forbids md5)");
}

void EvpDigest::update(std::span<const std::byte> data) {
  if (finished_) throw Error(ErrorKind::Usage, "", "digest updated after it was finished");
  if (data.empty()) return;
  if (evp().DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
    throw Error(ErrorKind::Io, "", std::string("OpenSSL ") + to_string(algo_) + " update failed");
}

std::string EvpDigest::finish_hex() {
  if (finished_) throw Error(ErrorKind::Usage, "", "digest finished twice");
  finished_ = true;
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (evp().DigestFinal_ex(ctx_.get(), md.data(), &len) != 1 || len != digest_size(algo_))
    throw Error(ErrorKind::Io, "", std::string("OpenSSL ") + to_string(algo_) + " final failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(size_t{len} * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 0xf];
  }
  return hex;
}

}  // namespace hash
}  // namespace imgtool
