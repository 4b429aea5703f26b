// MultiHasher: known vectors, every way of feeding it (any span size,
// prepare/commit, zeros) gives the same digests threaded and single-threaded,
// and misuse is refused.
#include <gtest/gtest.h>

#include <random>

#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"

namespace imgtool {
namespace {

const std::vector<HashAlgo> kAll{HashAlgo::md5, HashAlgo::sha1, HashAlgo::sha256, HashAlgo::sha384,
                                 HashAlgo::sha512};
constexpr size_t kB = MultiHasher::kChunkSize;

std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng() & 0xff);
  return v;
}

std::vector<std::string> hash_all(std::span<const std::byte> data, bool threaded) {
  MultiHasher h(kAll, threaded);
  h.update(data);
  EXPECT_EQ(h.bytes(), data.size());
  return h.finish_hex();
}

TEST(HashAlgo, HashlibNames) {
  for (HashAlgo a : kAll) EXPECT_EQ(parse_hash_algo(to_string(a)), a);
  EXPECT_EQ(parse_hash_algo("SHA512"), HashAlgo::sha512);
  EXPECT_FALSE(parse_hash_algo("sha-512"));
  EXPECT_FALSE(parse_hash_algo("sha3_256"));
  EXPECT_FALSE(parse_hash_algo(""));
  EXPECT_EQ(digest_size(HashAlgo::sha384), 48u);
}

TEST(MultiHasher, KnownVectorsAbc) {
  // FIPS 180-2 / RFC 1321 test vectors for "abc".
  const std::string abc = "abc";
  auto hex = hash_all(std::as_bytes(std::span(abc.data(), abc.size())), true);
  EXPECT_EQ(hex[0], "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex[1], "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex[2], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      hex[3],
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(
      hex[4],
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd4"
      "54d4423643ce80e2a9ac94fa54ca49f");
}

TEST(MultiHasher, EmptyInput) {
  auto hex = hash_all({}, true);
  EXPECT_EQ(hex[0], "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex[1], "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(MultiHasher, ThreadedEqualsSingleAcrossChunkBoundaries) {
  auto data = random_bytes(2 * kB + 1, 1);
  for (size_t n : {size_t{1}, kB - 1, kB, kB + 1, 2 * kB - 1, 2 * kB, 2 * kB + 1}) {
    auto part = std::span<const std::byte>(data).first(n);
    EXPECT_EQ(hash_all(part, true), hash_all(part, false)) << n;
  }
}

TEST(MultiHasher, AnySpanSizesGiveTheSameDigests) {
  auto data = random_bytes(3 * kB + 12345, 2);
  auto want = hash_all(data, false);
  std::mt19937_64 rng(3);
  for (bool threaded : {true, false}) {
    MultiHasher h(kAll, threaded);
    std::span<const std::byte> rest(data);
    while (!rest.empty()) {
      // Mix tiny, odd and larger-than-a-chunk spans.
      size_t n = std::min<size_t>(rest.size(), rng() % 4 == 0 ? rng() % (kB + kB / 2) : rng() % 70000);
      h.update(rest.first(n));
      rest = rest.subspan(n);
    }
    EXPECT_EQ(h.finish_hex(), want) << threaded;
  }
}

TEST(MultiHasher, PrepareCommitEqualsUpdate) {
  auto data = random_bytes(kB + 777, 4);
  for (bool threaded : {true, false}) {
    MultiHasher h(kAll, threaded);
    size_t off = 0;
    while (off < data.size()) {
      auto buf = h.prepare(std::min<size_t>(data.size() - off, 1000003));
      ASSERT_FALSE(buf.empty());
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(off), buf.size(), buf.begin());
      h.commit(buf.size());
      off += buf.size();
    }
    EXPECT_EQ(h.finish_hex(), hash_all(data, false));
  }
}

TEST(MultiHasher, ZerosEqualZeroBytes) {
  // Around the copy/no-copy limit (64 KiB) and the chunk size, after a
  // partial chunk of data so ordering is exercised.
  auto head = random_bytes(1000, 5);
  for (uint64_t z : {uint64_t{0}, uint64_t{1}, uint64_t{65535}, uint64_t{65536}, uint64_t{kB - 1},
                     uint64_t{kB + 1}, uint64_t{2 * kB + 3}}) {
    std::vector<std::byte> zeros(static_cast<size_t>(z));
    std::vector<std::byte> all;
    for (const auto* part : {&head, &zeros, &head}) all.insert(all.end(), part->begin(), part->end());
    auto want = hash_all(all, false);
    for (bool threaded : {true, false}) {
      MultiHasher h(kAll, threaded);
      h.update(head);
      h.update_zeros(z);
      h.update(head);
      EXPECT_EQ(h.bytes(), all.size());
      EXPECT_EQ(h.finish_hex(), want) << "zeros " << z << " threaded " << threaded;
    }
  }
}

TEST(MultiHasher, MisuseIsRefused) {
  EXPECT_THROW(MultiHasher({}), Error);
  MultiHasher h({HashAlgo::md5});
  h.finish_hex();
  std::byte b{};
  EXPECT_THROW(h.update({&b, 1}), Error);
  EXPECT_THROW(h.finish_hex(), Error);
  MultiHasher h2({HashAlgo::md5});
  auto buf = h2.prepare(10);
  EXPECT_EQ(buf.size(), 10u);
  EXPECT_THROW(h2.commit(kB + 1), Error);
}

TEST(MultiHasher, AbandonedWhileThreadsRunDoesNotHang) {
  // Destroying a hasher mid-stream (an exception upstream) stops its threads.
  auto data = random_bytes(kB, 6);
  MultiHasher h(kAll, true);
  for (int j = 0; j < 3; ++j) h.update(data);
  h.update_zeros(6 * kB);
  SUCCEED();
}

}  // namespace
}  // namespace imgtool
