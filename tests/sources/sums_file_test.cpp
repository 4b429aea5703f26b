// Sums files: GNU and BSD lines, clear-signed files made and checked by the
// real gpg/gpgv (a key made in a temporary GNUPGHOME), and the --checksums
// lookup from a file and from a URL.
#include "sources/sums_file.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "imgtool/error.hpp"
#include "sources/digest_stream.hpp"
#include "support/http_fixture.hpp"
#include "support/test_util.hpp"

namespace imgtool::sources {
namespace {

using test::sh_quote;
using test::TempDir;

const std::string kMd5 = "900150983cd24fb0d6963f7d28e17f72";
const std::string kSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kSha512 =
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(SumsFile, GnuLines) {
  const std::string text = "# a comment\n\n" + kSha256 + "  disk.img\n" + upper(kSha512) +
                           " *./other.img\r\n" + kMd5 + "  dir/third.img\n" + "0123 too-short.img\n" + "zz" +
                           kSha256.substr(2) + "  not-hex.img\n";
  const auto e = parse_sums_file(text, "SUMS");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].algorithm, DigestAlgorithm::Sha256);
  EXPECT_EQ(e[0].hex, kSha256);
  EXPECT_EQ(e[0].file_name, "disk.img");
  EXPECT_EQ(e[1].algorithm, DigestAlgorithm::Sha512);
  EXPECT_EQ(e[1].hex, kSha512);  // lowercased
  EXPECT_EQ(e[1].file_name, "other.img");
  EXPECT_EQ(e[2].algorithm, DigestAlgorithm::Md5);
  EXPECT_EQ(e[2].file_name, "dir/third.img");
  ASSERT_TRUE(find_sums_entry(e, "third.img"));
  EXPECT_EQ(find_sums_entry(e, "third.img")->hex, kMd5);
  EXPECT_FALSE(find_sums_entry(e, "dir"));
  EXPECT_FALSE(find_sums_entry(e, "missing.img"));
}

TEST(SumsFile, BsdLines) {
  const std::string text = "SHA256 (Fedora-Cloud.qcow2) = " + kSha256 + "\n" +
                           "SHA512 (name with (parens).raw) = " + upper(kSha512) + "\n" +
                           "MD5 (m.img) = " + kMd5 + "\n" + "SHA1 (s.img) = " + std::string(40, 'a') + "\n" +
                           "SHA256 (short.img) = " + kMd5 + "\n";
  const auto e = parse_sums_file(text, "CHECKSUM");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].file_name, "Fedora-Cloud.qcow2");
  EXPECT_EQ(e[0].algorithm, DigestAlgorithm::Sha256);
  EXPECT_EQ(e[1].file_name, "name with (parens).raw");
  EXPECT_EQ(e[1].hex, kSha512);
  EXPECT_EQ(e[2].algorithm, DigestAlgorithm::Md5);
}

TEST(SumsFile, StrongestAlgorithmWins) {
  const std::string text = kMd5 + "  a.img\n" + kSha512 + "  a.img\n" + kSha256 + "  a.img\n";
  const auto e = find_sums_entry(parse_sums_file(text, "SUMS"), "a.img");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->algorithm, DigestAlgorithm::Sha512);
}

// Only the signed text counts; the armour headers and dash-escaping go.
TEST(SumsFile, ClearSignedArmourStripped) {
  const std::string text = kSha256 +
                           "  outside-before.img\n"
                           "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" +
                           kSha256 + "  inside.img\n- " + kMd5 + "  escaped.img\n- -----odd line\n" +
                           "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n" + kSha256 +
                           "  outside-after.img\n";
  const auto e = parse_sums_file(text, "SUMS");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].file_name, "inside.img");
  EXPECT_EQ(e[1].file_name, "escaped.img");
  EXPECT_EQ(e[1].algorithm, DigestAlgorithm::Md5);
}

TEST(SumsFile, ClearSignedWithoutSignatureIsAFormatError) {
  const std::string text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + kSha256 + "  a.img\n";
  try {
    parse_sums_file(text, "SUMS");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_EQ(e.path(), "SUMS");
  }
}

// A real key in a temporary GNUPGHOME, a clear-signed SHA256SUMS made with
// gpg, and the keyring gpgv checks it against.
class SignedSums : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    home_ = new TempDir(TempDir::Reach::Everyone);  // short path: gpg-agent's socket lives there
    const std::string gpg = "GNUPGHOME=" + sh_quote(home_->file("gnupg")) +
                            " gpg --batch --pinentry-mode loopback "
                            "--passphrase '' ";
    test::run_ok("mkdir -m 700 " + sh_quote(home_->file("gnupg")));
    test::run_ok(gpg + "--quick-gen-key 'imgtool test <test@example.invalid>' ed25519 sign never");
    test::run_ok(gpg + "--export > " + sh_quote(home_->file("keyring.gpg")));
    test::run_ok("mkdir -m 700 " + sh_quote(home_->file("other")));
    const std::string other = "GNUPGHOME=" + sh_quote(home_->file("other")) +
                              " gpg --batch --pinentry-mode loopback --passphrase '' ";
    test::run_ok(other + "--quick-gen-key 'someone else <else@example.invalid>' ed25519 sign never");
    test::run_ok(other + "--export > " + sh_quote(home_->file("other.gpg")));
    test::write_file(home_->file("SHA256SUMS"), kSha256 + "  abc.img\n--- a line gpg dash-escapes\n");
    test::run_ok(gpg + "--clearsign -o " + sh_quote(home_->file("SHA256SUMS.asc")) + " " +
                 sh_quote(home_->file("SHA256SUMS")));
    test::run_ok("GNUPGHOME=" + sh_quote(home_->file("gnupg")) + " gpgconf --kill gpg-agent");
    test::run_ok("GNUPGHOME=" + sh_quote(home_->file("other")) + " gpgconf --kill gpg-agent");
  }
  static void TearDownTestSuite() {
    delete home_;
    home_ = nullptr;
  }
  void SetUp() override {
    IMGTOOL_REQUIRE_TOOL("gpg");
    IMGTOOL_REQUIRE_TOOL("gpgv");
  }
  static std::string signed_text() { return test::read_file(home_->file("SHA256SUMS.asc")); }
  static std::string keyring() { return home_->file("keyring.gpg"); }
  static TempDir* home_;
};
TempDir* SignedSums::home_ = nullptr;

TEST_F(SignedSums, GoodSignatureVerifiesAndParses) {
  const std::string text = signed_text();
  ASSERT_NE(text.find("-----BEGIN PGP SIGNED MESSAGE-----"), std::string::npos);
  ASSERT_NE(text.find("\n- --- a line gpg dash-escapes"), std::string::npos)
      << "gpg dash-escapes nothing here?\n"
      << text;
  const SignatureCheck sig = verify_clearsigned(text, keyring(), "SHA256SUMS.asc");
  EXPECT_TRUE(sig.checked);
  EXPECT_NE(sig.signer.find("Good signature from \"imgtool test <test@example.invalid>\""), std::string::npos)
      << sig.signer;
  const auto e = parse_sums_file(text, "SHA256SUMS.asc");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].file_name, "abc.img");
  EXPECT_EQ(e[0].hex, kSha256);
}

TEST_F(SignedSums, TamperedTextIsRefused) {
  std::string text = signed_text();
  const size_t at = text.find(kSha256);
  ASSERT_NE(at, std::string::npos);
  text[at] = text[at] == 'b' ? 'c' : 'b';
  try {
    verify_clearsigned(text, keyring(), "SHA256SUMS.asc");
    FAIL() << "a tampered file verified";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Mismatch);
    EXPECT_EQ(e.path(), "SHA256SUMS.asc");
    EXPECT_NE(e.message().find("BAD signature"), std::string::npos) << e.message();
  }
}

TEST_F(SignedSums, OtherKeyringIsRefused) {
  try {
    verify_clearsigned(signed_text(), home_->file("other.gpg"), "SHA256SUMS.asc");
    FAIL() << "verified against the wrong key";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Mismatch);
    EXPECT_NE(e.message().find("no public key"), std::string::npos) << e.message();
  }
}

TEST_F(SignedSums, UnsignedTextIsRefused) {
  try {
    verify_clearsigned(kSha256 + "  abc.img\n", keyring(), "SHA256SUMS");
    FAIL() << "an unsigned file verified";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Mismatch);
    EXPECT_NE(e.message().find("signature check failed"), std::string::npos) << e.message();
  }
}

TEST_F(SignedSums, MissingGpgvIsUnsupported) {
  TempDir empty;
  const std::string old_path = std::getenv("PATH");
  ::setenv("PATH", empty.path().c_str(), 1);
  try {
    verify_clearsigned(signed_text(), keyring(), "SHA256SUMS.asc");
    ::setenv("PATH", old_path.c_str(), 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    ::setenv("PATH", old_path.c_str(), 1);
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(e.message().find("gpgv"), std::string::npos) << e.message();
  }
}

TEST_F(SignedSums, ExpectedFromLocalSignedFile) {
  SignatureCheck sig;
  const std::string spec = home_->file("SHA256SUMS.asc");
  const ExpectedDigest d = expected_from_sums(spec, "/some/where/abc.img", keyring(), {}, &sig);
  EXPECT_EQ(d.algorithm, DigestAlgorithm::Sha256);
  EXPECT_EQ(d.hex, kSha256);
  EXPECT_EQ(d.origin, spec);
  EXPECT_TRUE(sig.checked);
  try {
    expected_from_sums(spec, "/some/where/missing.img", keyring(), {}, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Mismatch);
    EXPECT_EQ(e.message(), "no entry for missing.img in " + spec);
  }
}

TEST_F(SignedSums, ExpectedFromUrlAndSourceUrl) {
  test::HttpFixture http(home_->path());
  SignatureCheck sig;
  const std::string spec = http.base_url() + "/SHA256SUMS.asc";
  const ExpectedDigest d =
      expected_from_sums(spec, "https://user:pw@example.invalid/images/abc.img?token=1", keyring(), {}, &sig);
  EXPECT_EQ(d.hex, kSha256);
  EXPECT_EQ(d.origin, spec);
  EXPECT_TRUE(sig.checked);
  // Unsigned lookup (no keyring) of the plain file.
  const ExpectedDigest plain =
      expected_from_sums(http.base_url() + "/SHA256SUMS", "http://x.invalid/abc.img", "", {}, &sig);
  EXPECT_EQ(plain.hex, kSha256);
  EXPECT_FALSE(sig.checked);
  // A sums URL that is not there.
  try {
    expected_from_sums(http.base_url() + "/missing", "abc.img", "", {}, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Http);
  }
}

TEST(SumsFile, ExpectedFromMissingLocalFileIsIoError) {
  try {
    expected_from_sums("/nonexistent/SHA256SUMS", "abc.img", "", {}, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_EQ(e.path(), "/nonexistent/SHA256SUMS");
  }
}

TEST(SumsFile, StdinSourceHasNoFileName) {
  try {
    expected_from_sums("/nonexistent/SHA256SUMS", "-", "", {}, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

}  // namespace
}  // namespace imgtool::sources
