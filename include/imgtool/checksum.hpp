#pragma once
// Glance-identical checksums: several digests (md5, sha1, sha256, sha384,
// sha512) over one stream in one pass, each digest on its own thread when the
// data is large. Glance computes `checksum` (md5) and `os_hash_value`
// (hashlib algorithm `os_hash_algo`, default sha512) over the bytes it
// receives (glance/common/utils.py CooperativeReader + hashlib); so do we.
// OpenSSL stays behind a pimpl: this header includes only std and imgtool/.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imgtool/sink.hpp"
#include "imgtool/source.hpp"

namespace imgtool {

enum class HashAlgo { md5, sha1, sha256, sha384, sha512 };

// Accepts the hashlib names ("md5", "sha1", "sha256", "sha384", "sha512"),
// case-insensitively; anything else (including "SHA-512") is nullopt.
std::optional<HashAlgo> parse_hash_algo(std::string_view name);
// The hashlib name: "md5", "sha1", "sha256", "sha384", "sha512".
const char* to_string(HashAlgo a) noexcept;
// Digest length in bytes (16, 20, 32, 48, 64).
size_t digest_size(HashAlgo a) noexcept;

// One pass, several digests. With threaded=true, input is gathered into
// chunks (kChunkSize) that are shared (shared_ptr<const Chunk>) by one
// std::jthread per digest through bounded queues, so memory stays at a few
// chunks whatever the input size; inputs smaller than one chunk never start a
// thread. update() may be called with spans of any size. Not thread-safe:
// one producer.
class MultiHasher {
 public:
  static constexpr size_t kChunkSize = size_t{4} << 20;  // 4 MiB

  explicit MultiHasher(std::vector<HashAlgo> algos, bool threaded = true);
  ~MultiHasher();
  MultiHasher(const MultiHasher&) = delete;
  MultiHasher& operator=(const MultiHasher&) = delete;

  void update(std::span<const std::byte> data);
  // Hashes `len` zero bytes without reading or copying them (holes,
  // ByteSink::write_zeros): whole chunks share one static zero chunk.
  void update_zeros(uint64_t len);

  // Zero-copy feeding for readers: prepare() returns writable space (at most
  // `max` bytes, never empty) inside the current chunk; fill some of it, then
  // commit(n) hashes its first n bytes. The span is invalid after commit().
  std::span<std::byte> prepare(size_t max);
  void commit(size_t n);

  // Lower-case hex digests, in the order of `algos`. Waits for the digest
  // threads and rethrows their error. update()/prepare() are not allowed after.
  std::vector<std::string> finish_hex();
  uint64_t bytes() const noexcept;
  const std::vector<HashAlgo>& algos() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What Glance shows for an image after `openstack image create`.
struct GlanceDigests {
  std::string checksum;       // md5 hex
  std::string os_hash_algo;   // e.g. "sha512"
  std::string os_hash_value;  // hex
  uint64_t size = 0;
  // sha256 hex, only when asked for (the SDK's owner_specified.openstack.sha256).
  std::optional<std::string> sha256;
};

// Hash a whole source the way Glance hashes an upload (md5 + os_hash_algo).
// Reads in MultiHasher::kChunkSize blocks straight into the hasher's chunks;
// holes (ByteSource::next_data/next_hole) are hashed as zeros without reading
// them. A read error or a source that shrinks throws Error(Io) naming the
// offset; nothing partial is returned.
// also_sha256 adds GlanceDigests::sha256 in the same pass (a third digest thread).
GlanceDigests glance_digests(const ByteSource& src, HashAlgo os_hash_algo = HashAlgo::sha512,
                             bool also_sha256 = false);
// Same for a path; "-" reads standard input to EOF (pipes: no size known in
// advance). A missing file, a directory or an unreadable file throws Error(Io).
GlanceDigests glance_digests_of_file(const std::string& path, HashAlgo os_hash_algo = HashAlgo::sha512);
// Same for an already open file descriptor read sequentially to EOF (not
// closed). `name` is used in error messages.
GlanceDigests glance_digests_of_fd(int fd, const std::string& name, HashAlgo os_hash_algo = HashAlgo::sha512);
// Same for a stream read to its end.
class ByteStream;
GlanceDigests glance_digests_of_stream(ByteStream& s, HashAlgo os_hash_algo = HashAlgo::sha512);
// Any source (imgtool/sources.hpp: a file, "-", a URL, compressed, an OVA):
// the digests Glance would show after publishing it, i.e. of the disk image
// inside (or of the bytes as they are with opts.unpack = false); upstream
// digests the options expect are checked in the same pass (Error(Mismatch))
// and returned in `upstream` when not null.
struct SourceOptions;
struct UpstreamCheck;
GlanceDigests glance_digests_of_source(const std::string& spec, const SourceOptions& opts,
                                       HashAlgo os_hash_algo = HashAlgo::sha512,
                                       std::vector<UpstreamCheck>* upstream = nullptr);

// The tee for `convert` (hash what is written) and `publish` (hash what is
// uploaded): a ByteSink that hashes (md5 + os_hash_algo) every byte written
// through it, in order — write_zeros() hashes zeros — then forwards to
// `inner` (not owned; must outlive this sink). finish() finishes `inner`,
// then the digests. It is not seekable: a pwrite() patch would make the
// digests differ from the bytes, so writers that must patch a header cannot
// be hashed this way (hash the finished file instead).
class GlanceHashingSink final : public ByteSink {
 public:
  explicit GlanceHashingSink(ByteSink& inner, HashAlgo os_hash_algo = HashAlgo::sha512, bool threaded = true);
  ~GlanceHashingSink() override;

  const std::string& name() const override;
  void write(std::span<const std::byte> data) override;
  void write_zeros(uint64_t len) override;
  uint64_t position() const override;
  void finish() override;

  // Valid after finish(); throws Error(Usage) before.
  const GlanceDigests& digests() const;

 private:
  ByteSink& inner_;
  HashAlgo algo_;
  MultiHasher hasher_;
  std::optional<GlanceDigests> digests_;
};

// ---- comparing with Glance (checksum --verify) ---------------------------------
// One Glance image record (GET /v2/images/{id}), the one type every command
// uses (checksum --verify, publish, download, copy-image). Fields Glance has
// not set (an image still queued) are nullopt or empty.
struct GlanceImageRecord {
  std::string id;
  std::string name;
  std::string status;
  std::string disk_format;
  std::string container_format;
  std::string visibility;
  std::string owner;
  bool protected_image = false;
  std::optional<std::string> checksum;
  std::optional<std::string> os_hash_algo;
  std::optional<std::string> os_hash_value;
  std::optional<uint64_t> size;
  std::optional<uint64_t> virtual_size;
  std::vector<std::string> tags;
  // Multi-store Glance: the stores holding the data (the record's "stores"
  // field, a comma-separated string); empty on a single-store Glance.
  std::vector<std::string> stores;
  // Extra string properties (os_distro, hw_*, owner_specified.*, and
  // Glance's own os_glance_* import bookkeeping).
  std::map<std::string, std::string> properties;
};
// Finds an image by id or (unique) name; throws Error(Auth/Http/...) itself.
using GlanceImageLookup = std::function<GlanceImageRecord(const std::string& id_or_name)>;

// The lookup `imgtool checksum --verify` uses: glance_find_image()
// (imgtool/glance.hpp) with the default connection. Each call authenticates
// with Keystone like openstackclient (clouds.yaml entry OS_CLOUD, else the
// OS_* variables), then asks Glance for an id (GET /v2/images/{id}) or for a
// name, which must match exactly one image. Throws Error(Usage) for missing
// or contradictory credentials and for a name several images share,
// Error(Auth) when Keystone refuses them, Error(Http) when no image matches
// and for any other HTTP or transport error.
GlanceImageLookup default_glance_image_lookup();

// Pure comparison of local digests with a record: one line per difference
// ("checksum: local X, Glance Y"); empty means identical. A missing Glance
// value is a difference. The os_hash compared is the record's algorithm, so
// `local` must have been computed with it (see verify_against_glance).
std::vector<std::string> compare_with_glance(const GlanceDigests& local, const GlanceImageRecord& remote);

// Looks up `id_or_name`, hashes `path` with the algorithm Glance used
// (default sha512 when Glance reports none) and throws Error(Mismatch)
// listing the differences; returns the local digests when they match. The
// lookup's errors pass through; Error(Usage) when `lookup` is empty,
// Error(Unsupported) when Glance used an algorithm imgtool does not compute.
GlanceDigests verify_against_glance(const std::string& path, const std::string& id_or_name,
                                    const GlanceImageLookup& lookup);
// Same for any source (a URL, "-", compressed: the digests of the disk image
// inside, as glance_digests_of_source computes them).
GlanceDigests verify_against_glance(const std::string& spec, const SourceOptions& source,
                                    const std::string& id_or_name, const GlanceImageLookup& lookup,
                                    std::vector<UpstreamCheck>* upstream = nullptr);
// Same for a source that is already open.
GlanceDigests verify_against_glance(const ByteSource& src, const std::string& id_or_name,
                                    const GlanceImageLookup& lookup);

}  // namespace imgtool
