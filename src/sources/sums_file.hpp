#pragma once
// Upstream checksum files: SHA256SUMS / SHA512SUMS / MD5SUMS / *.sha256, in
// GNU ("HEX  NAME", "HEX *NAME") and BSD ("SHA256 (NAME) = HEX") line formats,
// optionally clear-signed (OpenPGP), as Ubuntu, Debian, Fedora and Flatcar
// publish them.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgtool/sources.hpp"

namespace imgtool::sources {

struct SumsEntry {
  DigestAlgorithm algorithm = DigestAlgorithm::Sha256;  // from the hex length (GNU) or the tag (BSD)
  std::string hex;                                      // lowercase
  std::string file_name;                                // as listed ("./" and a leading '*' removed)
};

// Every entry of `text` (a clear-signed file's armour and dash-escaping
// removed first). Lines that are neither format are skipped (comments, blank
// lines). `origin` names the file in errors.
std::vector<SumsEntry> parse_sums_file(std::string_view text, const std::string& origin);

// The entry for `file_name` (exact match on the last path segment of the
// entry's name); when several algorithms list it, the strongest.
std::optional<SumsEntry> find_sums_entry(const std::vector<SumsEntry>& entries, std::string_view file_name);

struct SignatureCheck {
  bool checked = false;  // gpgv verified the clear signature against the keyring
  std::string signer;    // gpgv's "Good signature from ..." text
};

// `text` must be clear-signed and verify with `gpgv --keyring KEYRING`;
// throws Error(Mismatch) with gpgv's reason otherwise (Error(Unsupported)
// when gpgv is not installed).
SignatureCheck verify_clearsigned(std::string_view text, const std::string& keyring,
                                  const std::string& origin);

// --checksums SPEC for the source `source_name` (its file name is matched):
// reads SPEC (a URL through fetch_http_text, else a local file, at most
// 16 MiB), verifies the signature when `keyring` is set, and returns the
// expected digest. Throws Error(Mismatch) "no entry for NAME in SPEC".
ExpectedDigest expected_from_sums(const std::string& spec, const std::string& source_name,
                                  const std::string& keyring, const HttpSourceOptions& http,
                                  SignatureCheck* signature);

}  // namespace imgtool::sources
