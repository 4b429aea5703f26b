// glance_digests*: equal to coreutils md5sum/sha1sum/sha256sum/sha384sum/
// sha512sum on sizes around the read block (= thread split) boundaries,
// sparse files (holes hashed as zeros), and refuse sources that fail or
// shrink in the middle without returning digests.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/source.hpp"
#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::TempDir;

constexpr uint64_t kB = MultiHasher::kChunkSize;

std::string random_string(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Runs e.g. "sha256sum" over `files` in one call; returns the hex digests.
std::vector<std::string> coreutils(const std::string& tool, const std::vector<std::string>& files) {
  std::string cmd = tool;
  for (const auto& f : files) cmd += " " + test::sh_quote(f);
  std::istringstream out(test::run_ok(cmd));
  std::vector<std::string> hex;
  std::string line;
  while (std::getline(out, line)) hex.push_back(line.substr(0, line.find(' ')));
  EXPECT_EQ(hex.size(), files.size()) << cmd;
  return hex;
}

TEST(GlanceDigests, EqualsCoreutilsAroundBlockBoundaries) {
  TempDir d;
  std::vector<uint64_t> sizes{0, 1, 4095, 65537, kB - 1, kB, kB + 1, 2 * kB - 1, 2 * kB, 2 * kB + 1};
  std::string data = random_string(2 * kB + 1, 42);
  std::vector<std::string> files;
  for (uint64_t n : sizes) {
    files.push_back(d.file("f" + std::to_string(n)));
    test::write_file(files.back(), data.substr(0, n));
  }
  auto md5 = coreutils("md5sum", files);
  const std::pair<HashAlgo, const char*> tools[] = {{HashAlgo::sha1, "sha1sum"},
                                                    {HashAlgo::sha256, "sha256sum"},
                                                    {HashAlgo::sha384, "sha384sum"},
                                                    {HashAlgo::sha512, "sha512sum"}};
  for (const auto& [algo, tool] : tools) {
    auto want = coreutils(tool, files);
    for (size_t i = 0; i < files.size(); ++i) {
      GlanceDigests g = glance_digests_of_file(files[i], algo);
      EXPECT_EQ(g.checksum, md5[i]) << files[i];
      EXPECT_EQ(g.os_hash_value, want[i]) << tool << " " << files[i];
      EXPECT_EQ(g.os_hash_algo, to_string(algo));
      EXPECT_EQ(g.size, sizes[i]);
    }
  }
}

TEST(GlanceDigests, SparseFileWithUnalignedDataRuns) {
  // Holes and data runs that start/end inside chunks; hashed via SEEK_DATA.
  TempDir d;
  std::string f = d.file("sparse");
  test::write_file(f, "");
  test::truncate_file(f, 5 * kB + 3);
  test::poke(f, 0, "head");
  test::poke(f, kB - 2, random_string(100000, 1));
  test::poke(f, 3 * kB + 4096, random_string(kB + 17, 2));
  test::poke(f, 5 * kB, "end");
  GlanceDigests g = glance_digests_of_file(f);
  EXPECT_EQ(g.checksum, coreutils("md5sum", {f})[0]);
  EXPECT_EQ(g.os_hash_value, coreutils("sha512sum", {f})[0]);
  EXPECT_EQ(g.size, 5 * kB + 3);
}

TEST(GlanceDigests, AlsoSha256InTheSamePass) {
  // publish --reuse-existing: openstacksdk's owner_specified.openstack.sha256.
  TempDir d;
  std::string f = d.file("sparse");
  test::write_file(f, "");
  test::truncate_file(f, 3 * kB + 11);
  test::poke(f, kB + 5, random_string(kB, 3));
  auto src = open_file_source(f);
  GlanceDigests g = glance_digests(*src, HashAlgo::sha512, true);
  ASSERT_TRUE(g.sha256.has_value());
  EXPECT_EQ(*g.sha256, coreutils("sha256sum", {f})[0]);
  EXPECT_EQ(g.os_hash_value, coreutils("sha512sum", {f})[0]);
  EXPECT_EQ(g.checksum, coreutils("md5sum", {f})[0]);
  // os_hash_algo sha256: the same digest, not a second thread.
  GlanceDigests s = glance_digests(*src, HashAlgo::sha256, true);
  EXPECT_EQ(s.sha256, s.os_hash_value);
  EXPECT_EQ(s.os_hash_value, *g.sha256);
  // Not asked: not computed.
  EXPECT_FALSE(glance_digests(*src).sha256.has_value());
}

TEST(GlanceDigests, Sparse4GiBFile) {
  // The one large test: 4 GiB of mostly holes, hashed at hash speed (no
  // reads of the holes); the reference tools run in parallel.
  TempDir d;
  std::string f = d.file("big.img");
  test::run_ok("truncate -s 4G " + test::sh_quote(f));
  test::poke(f, 0, "first");
  test::poke(f, 1234567, "poke");
  test::poke(f, (uint64_t{2} << 30) + 1, random_string(3 * kB, 9));
  test::poke(f, (uint64_t{4} << 30) - 5, "last!");
  std::string q = test::sh_quote(f);
  std::string both = test::run_ok("md5sum " + q + " & sha512sum " + q + "; wait");
  GlanceDigests g = glance_digests_of_file(f);
  EXPECT_EQ(g.size, uint64_t{4} << 30);
  EXPECT_NE(both.find(g.checksum + "  "), std::string::npos) << both;
  EXPECT_NE(both.find(g.os_hash_value + "  "), std::string::npos) << both;
}

// A source that fails (or ends early) at `fail_at`, like a disk read error.
class FailingSource final : public ByteSource {
 public:
  FailingSource(uint64_t size, uint64_t fail_at, bool shrink)
      : size_(size), fail_at_(fail_at), shrink_(shrink) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return size_; }
  size_t read_at(uint64_t offset, std::span<std::byte> out) const override {
    if (offset >= fail_at_) {
      if (shrink_) return 0;
      throw Error(ErrorKind::Io, name_, "read failed: Input/output error", offset);
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), fail_at_ - offset));
    std::fill_n(out.begin(), n, std::byte{0x5a});
    return n;
  }

 private:
  std::string name_ = "failing.img";
  uint64_t size_, fail_at_;
  bool shrink_;
};

TEST(GlanceDigests, ReadErrorInTheMiddleThrowsWithOffset) {
  // Past the first chunk, so the digest threads are running when it fails.
  FailingSource src(4 * kB, 2 * kB + 512, false);
  try {
    glance_digests(src);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_EQ(e.offset(), 2 * kB + 512);
    EXPECT_NE(std::string(e.what()).find("failing.img"), std::string::npos);
  }
}

TEST(GlanceDigests, SourceThatShrinksIsAnError) {
  FailingSource src(3 * kB, kB + 7, true);
  try {
    glance_digests(src);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_EQ(e.offset(), kB + 7);
    EXPECT_NE(e.message().find("shrank"), std::string::npos) << e.what();
  }
}

TEST(GlanceDigests, MemorySourceAndMissingFile) {
  std::string s = "hello\n";
  std::vector<std::byte> v(reinterpret_cast<const std::byte*>(s.data()),
                           reinterpret_cast<const std::byte*>(s.data()) + s.size());
  GlanceDigests g = glance_digests(*memory_source(v, "mem"), HashAlgo::sha256);
  EXPECT_EQ(g.checksum, "b1946ac92492d2347c6235b4d2611184");
  EXPECT_EQ(g.os_hash_value, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  EXPECT_THROW(glance_digests_of_file("/nonexistent/imgtool-test"), Error);
  TempDir d;
  EXPECT_THROW(glance_digests_of_file(d.path().string()), Error);
}

TEST(GlanceVerify, CompareListsEveryDifference) {
  GlanceDigests local{"aa", "sha512", "bb", 10, std::nullopt};
  auto record = [](std::string checksum, std::optional<std::string> hash, uint64_t size) {
    GlanceImageRecord r;
    r.id = "id";
    r.name = "n";
    r.status = "active";
    r.checksum = std::move(checksum);
    r.os_hash_algo = "sha512";
    r.os_hash_value = std::move(hash);
    r.size = size;
    return r;
  };
  GlanceImageRecord same = record("aa", "bb", 10);
  EXPECT_TRUE(compare_with_glance(local, same).empty());
  GlanceImageRecord other = record("ab", std::nullopt, 11);
  auto diffs = compare_with_glance(local, other);
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0], "size: local 10, Glance 11");
  EXPECT_EQ(diffs[1], "checksum: local aa, Glance ab");
  EXPECT_EQ(diffs[2], "os_hash_value: local bb, Glance has none");
}

TEST(GlanceVerify, UsesGlancesAlgorithmAndThrowsMismatch) {
  TempDir d;
  std::string f = d.file("f");
  test::write_file(f, "hello\n");
  GlanceImageRecord rec;
  rec.id = "id1";
  rec.name = "img";
  rec.status = "active";
  rec.checksum = "b1946ac92492d2347c6235b4d2611184";
  rec.os_hash_algo = "sha256";
  rec.os_hash_value = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
  rec.size = 6;
  auto lookup = [&](const std::string&) { return rec; };
  EXPECT_EQ(verify_against_glance(f, "img", lookup).os_hash_algo, "sha256");
  rec.size = 7;
  try {
    verify_against_glance(f, "img", lookup);
    FAIL() << "no mismatch";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Mismatch);
    EXPECT_NE(e.message().find("size: local 6, Glance 7"), std::string::npos) << e.what();
  }
  EXPECT_THROW(verify_against_glance(f, "img", GlanceImageLookup{}), Error);
}

}  // namespace
}  // namespace imgtool
