#pragma once
// Any source: what every command reads its image from. A source is a local
// file, `-` (standard input) or an http:// / https:// URL; its bytes may be
// compressed (gzip, xz, bzip2, zstd: detected from the bytes, never from the
// name) and/or packaged (an OVA or another tar holding the disk). open_source()
// peels those layers off and gives the disk image inside, either
//   - as a ByteSource (random access), for readers that look back: the file
//     itself when it is a plain local file, else a spool over the stream
//     (memory up to a limit, then an unlinked temporary file in TMPDIR); or
//   - as a ByteStream, for the one-pass paths (checksum, convert, publish).
// Digests the user expects of the bytes as published upstream
// (--expect-sha256, --checksums SHA256SUMS) are computed over the bytes as
// they arrive, before any decompression, in the same pass; finish() compares
// them once the whole outer stream went by.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/format.hpp"
#include "imgtool/source.hpp"
#include "imgtool/stream.hpp"

namespace imgtool {

// How http(s) sources are fetched.
struct HttpSourceOptions {
  std::string cacert;       // PEM bundle that replaces the system's CAs (--cacert)
  bool insecure = false;    // no TLS verification (--insecure; the CLI prints a note)
  long max_redirects = 10;  // more is an error (a redirect loop fails within seconds)
  long connect_timeout_s = 30;
  unsigned resume_attempts = 5;  // a dropped body is resumed with a Range request this often
  // Called with (bytes received, total when known) as the body arrives.
  std::function<void(uint64_t, std::optional<uint64_t>)> progress;
};

enum class DigestAlgorithm : uint8_t { Md5, Sha256, Sha512 };

struct ExpectedDigest {
  DigestAlgorithm algorithm = DigestAlgorithm::Sha256;
  std::string hex;     // lowercase hex
  std::string origin;  // "--expect-sha256", or the sums file it came from
};

struct SourceOptions {
  HttpSourceOptions http;
  // Peel compression and packaging off (the default). false: the bytes as
  // they are (checksum --as-is hashes what would be uploaded byte for byte).
  bool unpack = true;
  // The member of a tar/OVA that holds the disk (--member); nullopt: the OVF
  // names it, or the tar holds exactly one file.
  std::optional<std::string> member;
  std::vector<ExpectedDigest> expect;  // --expect-sha256/-sha512/-md5
  std::string checksums;               // --checksums URL|FILE (SHA256SUMS, SHA512SUMS, *.sha256)
  std::string keyring;                 // --keyring FILE: gpgv checks a clear-signed sums file
  // Memory the spool may use before it moves to a temporary file.
  uint64_t spool_memory_limit = uint64_t(64) << 20;
  CancelToken cancel;
};

// One layer peeled off on the way to the disk image, outermost first.
struct SourceLayer {
  std::string kind;    // "gzip", "xz", "bzip2", "zstd", "ova", "tar"
  std::string member;  // ova/tar: the member read
  // ova: what the OVF declares for that disk (checked against the image by check_ovf_declaration()).
  std::optional<uint64_t> declared_capacity;
  std::string declared_format;  // the OVF's ovf:format URI
};

// The outcome of an upstream digest comparison.
struct UpstreamCheck {
  ExpectedDigest expected;
  std::string actual;              // lowercase hex of the bytes received
  bool signature_checked = false;  // the sums file was verified with gpgv
  std::string signer;              // gpgv's "Good signature from" line, when checked
};

class Source {
 public:
  virtual ~Source() = default;

  // The name as the user gave it (URL without credentials; "-" for stdin).
  virtual const std::string& name() const = 0;
  // True for http(s) sources.
  virtual bool remote() const = 0;
  // Compression and packaging layers found, outermost first; empty for a
  // plain image.
  virtual const std::vector<SourceLayer>& layers() const = 0;

  // The disk image as a ByteSource. For a plain local file: that file, no
  // copy. Else a spool over stream(): reads pull the stream forward and keep
  // what went by. Call at most one of random_access() and stream().
  virtual std::shared_ptr<const ByteSource> random_access() = 0;
  // random_access() for a reader that goes through the image once, front to
  // back (convert, publish): the spool frees the guest data readers report
  // as consumed (ByteSource::consumed), so an image laid out in guest order
  // goes through with only its metadata held. The caller assesses with
  // AssessOptions::defer_check and calls complete_deferred_check() at the
  // end. For a plain local file: the file, as random_access().
  virtual std::shared_ptr<const ByteSource> one_pass_access() = 0;
  // The disk image's bytes, front to back.
  virtual std::unique_ptr<ByteStream> stream() = 0;
  // True when the disk image is a plain local file (random_access() is the
  // file itself, no spool, no layers).
  virtual bool plain_file() const = 0;

  // Reads the disk image's stream to its end; bytes the spool holds stay
  // (what a deferred check reads). No-op for a plain file.
  virtual void drain() = 0;

  // Reads whatever the consumer left of the outer stream (through the
  // digests), then compares every expected digest. Throws Error(Mismatch)
  // naming the source, the algorithm, both values and where the expected one
  // came from. Returns the comparisons made (empty when none was asked for).
  // Also throws Error(Mismatch) when the sums file was asked to be signature
  // checked and gpgv refused it (that is checked at open_source() already).
  virtual std::vector<UpstreamCheck> finish() = 0;

  // Peak bytes the spool held in memory and in its temporary file (0 when
  // no spool was needed).
  virtual uint64_t spool_peak_memory() const = 0;
  virtual uint64_t spool_peak_file() const = 0;
};

// Opens `spec` (a path, "-" or an http(s) URL), reads far enough to detect
// the layers (the first bytes of each) and, for an OVA, its OVF. Throws Error
// naming the source: missing file, HTTP status, TLS failure, a tar with
// several disks and no --member, a sums file with no entry for the source's
// file name, a bad signature.
std::unique_ptr<Source> open_source(const std::string& spec, const SourceOptions& opts = {});

// True when `spec` is something other than a plain local file path ("-", a
// URL).
bool is_stream_spec(const std::string& spec);

// The source options for an image the user declared to be `declared` (-f):
// a declared raw image is read as it is (unpack = false), as qemu-img reads
// -f raw. A raw disk's first bytes are the guest's: a gzip stream or a tar
// header there is disk content, and peeling it off would let the guest choose
// what is read, which is the probe -f raw is given to avoid. Other formats
// start with their own magic, so a layer around them cannot be disk content.
SourceOptions declared_source_options(SourceOptions opts, std::optional<Format> declared);

// assess() of the disk image inside `src` (through random_access()), then
// check_ovf_declaration() against it (a disagreement is an Error(Mismatch)).
struct AssessOptions;
struct Assessment;
Assessment assess_source(Source& src, const AssessOptions& opts);

// Copies a stream (a source's disk image) into an unlinked temporary file in
// TMPDIR, zero blocks as holes, and returns it as a file-backed ByteSource:
// for readers that need a real file (guest inspection). `bytes` gets the
// size copied.
std::shared_ptr<const ByteSource> copy_to_temporary_file(ByteStream& s, uint64_t* bytes = nullptr);

// The OVF's declared capacity and disk format against the image found
// inside: throws Error(Mismatch) when they disagree ("OVF declares 10 GiB,
// the vmdk inside is 8 GiB"). No-op without an ova layer.
struct ImageInfo;
void check_ovf_declaration(const Source& src, const ImageInfo& inner);

}  // namespace imgtool
