// `imgtool checksum`: human and JSON output, several files, standard input,
// and one error line per bad file with the others still hashed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "support/test_util.hpp"

namespace imgtool {
namespace {
using test::sh_quote;
using test::TempDir;

std::string first_word(const std::string& s) {
  return s.substr(0, s.find(' '));
}

TEST(ChecksumCli, HumanOutputMatchesCoreutils) {
  TempDir d;
  std::string f = d.file("a.img");
  test::write_file(f, std::string(1376256, 'x'));
  auto r = test::run(test::imgtool_bin() + " checksum " + sh_quote(f));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string want =
      "file: " + f + "\nchecksum: " + first_word(test::run_ok("md5sum " + sh_quote(f))) +
      "\nos_hash_algo: sha512\nos_hash_value: " + first_word(test::run_ok("sha512sum " + sh_quote(f))) +
      "\nsize: 1376256\n";
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(r.err, "");
}

TEST(ChecksumCli, StandardInputAndJsonArray) {
  TempDir d;
  std::string f = d.file("b.img");
  test::write_file(f, std::string(5 << 20, 'y') + "tail");
  std::string q = sh_quote(f);
  auto r = test::run("cat " + q + " | " + test::imgtool_bin() +
                     " checksum --os-hash-algo sha384 --output=json - " + q);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  std::string md5 = first_word(test::run_ok("md5sum " + q));
  std::string sha384 = first_word(test::run_ok("sha384sum " + q));
  for (const auto& o : j) {
    EXPECT_EQ(o["checksum"], md5);
    EXPECT_EQ(o["os_hash_algo"], "sha384");
    EXPECT_EQ(o["os_hash_value"], sha384);
    EXPECT_EQ(o["size"], (5u << 20) + 4);
  }
  EXPECT_EQ(j[0]["file"], "-");
  EXPECT_EQ(j[1]["file"], f);
}

TEST(ChecksumCli, NamedPipeIsReadAsAStream) {
  // `imgtool checksum <(xz -dc img.xz)` hands over a pipe with no size.
  TempDir d;
  std::string f = d.file("c.img"), p = d.file("pipe");
  test::write_file(f, std::string(4 << 20, 'z') + "!");
  test::run_ok("mkfifo " + sh_quote(p));
  auto r = test::run("cat " + sh_quote(f) + " > " + sh_quote(p) + " & " + test::imgtool_bin() + " checksum " +
                     sh_quote(p) + "; wait");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("checksum: " + first_word(test::run_ok("md5sum " + sh_quote(f))) + "\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("size: 4194305\n"), std::string::npos) << r.out;
}

TEST(ChecksumCli, BadFilesGetOneLineEachOthersStillHashed) {
  // root reads anything: the unreadable-file case runs as nobody, so the
  // binary and its inputs live where nobody can reach them (see TempDir).
  const bool as_root = ::geteuid() == 0;
  if (as_root) IMGTOOL_REQUIRE_TOOL("setpriv");
  TempDir d(TempDir::Reach::Everyone);
  std::string good = d.file("good"), dir = d.file("dir"), locked = d.file("locked");
  test::write_file(good, "data");
  test::run_ok("mkdir " + sh_quote(dir) + " && chmod 644 " + sh_quote(good));
  test::write_file(locked, "secret");
  test::run_ok("chmod 000 " + sh_quote(locked));
  std::string cmd = test::imgtool_bin();
  if (as_root) {
    cmd = d.file("imgtool");
    test::run_ok("cp " + sh_quote(test::imgtool_bin()) + " " + sh_quote(cmd) + " && chmod 755 " +
                 sh_quote(cmd));
    cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups " + sh_quote(cmd);
  }
  auto r = test::run(cmd + " checksum " + sh_quote(d.file("missing")) + " " + sh_quote(dir) + " " +
                     sh_quote(locked) + " " + sh_quote(good));
  // 126/127: the shell or setpriv could not run the binary at all; every
  // check below would then be about that, not about imgtool.
  ASSERT_NE(r.exit_code, 126) << "the binary did not start: " << r.err;
  ASSERT_NE(r.exit_code, 127) << "the binary did not start: " << r.err;
  EXPECT_EQ(r.exit_code, 1);
  // Only the good file has a block, with coreutils' digests.
  EXPECT_EQ(r.out, "file: " + good + "\nchecksum: " + first_word(test::run_ok("md5sum " + sh_quote(good))) +
                       "\nos_hash_algo: sha512\nos_hash_value: " +
                       first_word(test::run_ok("sha512sum " + sh_quote(good))) + "\nsize: 4\n");
  EXPECT_EQ(r.out.find("missing"), std::string::npos);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << r.err;
  EXPECT_NE(r.err.find("missing: no such file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("locked: permission denied"), std::string::npos) << r.err;
}

TEST(ChecksumCli, UsageErrorsAndVerifySeam) {
  TempDir d;
  std::string f = d.file("f");
  test::write_file(f, "x");
  auto r = test::run(test::imgtool_bin() + " checksum --os-hash-algo sha3_256 " + sh_quote(f));
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("sha3_256"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  // Without Glance (no OS_* credentials) --verify fails clearly and prints
  // no digest.
  r = test::run("env -u OS_AUTH_URL -u OS_CLOUD " + test::imgtool_bin() + " checksum --verify some-image " +
                sh_quote(f));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace imgtool
