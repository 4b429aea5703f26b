// GlanceHashingSink, the tee of convert/publish: hashing what is written
// equals hashing the finished file (and coreutils on it).
#include <gtest/gtest.h>

#include <random>

#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::TempDir;

constexpr size_t kB = MultiHasher::kChunkSize;

std::string first_word(const std::string& s) {
  return s.substr(0, s.find(' '));
}

TEST(GlanceHashingSink, DigestsOfWhatIsWrittenEqualTheFinishedFile) {
  TempDir d;
  std::string dst = d.file("out.img");
  std::mt19937_64 rng(7);
  std::vector<std::byte> data(3 * kB + 999);
  for (auto& b : data) b = static_cast<std::byte>(rng() & 0xff);

  auto file = create_atomic_file(dst);
  GlanceHashingSink tee(*file);
  std::span<const std::byte> rest(data);
  int step = 0;
  // Writes of every size, interleaved with small and large zero runs (which
  // become holes in the file).
  while (!rest.empty()) {
    size_t n = std::min<size_t>(rest.size(), step % 3 == 0 ? kB + 5 : (step % 3 == 1 ? 513 : 65536 * 3 + 1));
    tee.write(rest.first(n));
    rest = rest.subspan(n);
    tee.write_zeros(step % 2 == 0 ? 4096 : 2 * kB + 512);
    ++step;
  }
  EXPECT_EQ(tee.position(), file->position());
  EXPECT_THROW(tee.digests(), Error);
  tee.finish();
  const GlanceDigests& got = tee.digests();
  EXPECT_EQ(got.size, test::read_file(dst).size());

  GlanceDigests again = glance_digests_of_file(dst);
  EXPECT_EQ(got.checksum, again.checksum);
  EXPECT_EQ(got.os_hash_value, again.os_hash_value);
  EXPECT_EQ(got.size, again.size);
  EXPECT_EQ(got.checksum, first_word(test::run_ok("md5sum " + test::sh_quote(dst))));
  EXPECT_EQ(got.os_hash_value, first_word(test::run_ok("sha512sum " + test::sh_quote(dst))));
  EXPECT_THROW(tee.write(std::span<const std::byte>(data).first(1)), Error);
}

TEST(GlanceHashingSink, SingleThreadedAndOtherAlgorithm) {
  TempDir d;
  std::string dst = d.file("small");
  auto file = create_atomic_file(dst);
  GlanceHashingSink tee(*file, HashAlgo::sha256, /*threaded=*/false);
  std::string s = "hello\n";
  tee.write(std::as_bytes(std::span(s.data(), s.size())));
  tee.finish();
  EXPECT_EQ(tee.digests().checksum, "b1946ac92492d2347c6235b4d2611184");
  EXPECT_EQ(tee.digests().os_hash_algo, "sha256");
  EXPECT_EQ(tee.digests().os_hash_value, first_word(test::run_ok("sha256sum " + test::sh_quote(dst))));
}

}  // namespace
}  // namespace imgtool
