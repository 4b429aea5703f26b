// DigestStream: the upstream digests of the bytes that pass, against known
// values and against sha256sum/sha512sum/md5sum of a file.
#include "sources/digest_stream.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <random>

#include "imgtool/error.hpp"
#include "support/test_util.hpp"

namespace imgtool::sources {
namespace {

using test::TempDir;

std::unique_ptr<ByteStream> file_stream(const std::string& path) {
  return fd_stream(::open(path.c_str(), O_RDONLY | O_CLOEXEC), path, true);
}

std::string tool_hex(const std::string& tool, const std::string& path) {
  const std::string out = test::run_ok(tool + " " + test::sh_quote(path));
  return out.substr(0, out.find(' '));
}

TEST(DigestStream, KnownDigestsOfAbc) {
  TempDir dir;
  test::write_file(dir.file("abc"), "abc");
  DigestStream s(file_stream(dir.file("abc")),
                 {DigestAlgorithm::Md5, DigestAlgorithm::Sha256, DigestAlgorithm::Sha512});
  EXPECT_EQ(s.finish(DigestAlgorithm::Md5), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(s.finish(DigestAlgorithm::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(s.finish(DigestAlgorithm::Sha512),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(s.position(), 3u);
}

TEST(DigestStream, EmptyStream) {
  TempDir dir;
  test::write_file(dir.file("empty"), "");
  DigestStream s(file_stream(dir.file("empty")), {DigestAlgorithm::Sha256});
  EXPECT_EQ(s.finish(DigestAlgorithm::Sha256),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Bytes read by the consumer and the rest finish() reads both count, once.
TEST(DigestStream, PassesBytesThroughAndHashesTheRestAtFinish) {
  TempDir dir;
  std::string data(3 * 1024 * 1024 + 17, '\0');
  std::mt19937_64 rng(7);
  for (auto& c : data) c = static_cast<char>(rng());
  const std::string path = dir.file("data");
  test::write_file(path, data);
  DigestStream s(file_stream(path), {DigestAlgorithm::Sha256, DigestAlgorithm::Md5, DigestAlgorithm::Sha512});
  EXPECT_EQ(s.name(), path);
  std::vector<std::byte> buf(1000);
  std::string got;
  for (int i = 0; i < 50; ++i) {
    const size_t n = s.read(buf);
    ASSERT_GT(n, 0u);
    got.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  EXPECT_EQ(got, data.substr(0, got.size()));
  EXPECT_EQ(s.position(), got.size());
  EXPECT_EQ(s.finish(DigestAlgorithm::Sha256), tool_hex("sha256sum", path));
  EXPECT_EQ(s.finish(DigestAlgorithm::Md5), tool_hex("md5sum", path));
  EXPECT_EQ(s.finish(DigestAlgorithm::Sha512), tool_hex("sha512sum", path));
  EXPECT_EQ(s.position(), data.size());
  EXPECT_EQ(s.read(buf), 0u);
}

TEST(DigestStream, AlgorithmNotAskedForIsAUsageError) {
  TempDir dir;
  test::write_file(dir.file("abc"), "abc");
  DigestStream s(file_stream(dir.file("abc")), {DigestAlgorithm::Sha256});
  try {
    s.finish(DigestAlgorithm::Md5);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

TEST(DigestStream, AlgorithmNames) {
  EXPECT_EQ(to_string(DigestAlgorithm::Md5), "md5");
  EXPECT_EQ(to_string(DigestAlgorithm::Sha256), "sha256");
  EXPECT_EQ(to_string(DigestAlgorithm::Sha512), "sha512");
}

}  // namespace
}  // namespace imgtool::sources
