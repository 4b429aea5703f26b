#pragma once
// Publishing to OpenStack Glance (v2 images API) with Keystone v3 auth.
//
// publish() reads the image once and, without a temporary file:
//   prepare (every option validated, then open + detect + the safety verdict:
//   an unsafe image is refused and nothing is sent) -> body (the bytes as
//   they are or converted, hashed md5 + sha512 by one tee) -> each target
//   (one per cloud or region, in parallel from the same bytes): create with
//   an id chosen by imgtool, upload (PUT /file, or stage + import to stores)
//   -> verify Glance's record against what was sent -> report.
// Any failure after an image exists (HTTP error, cut connection, mismatch, a
// store that failed, SIGINT/SIGTERM) deletes every image this publish
// created, in every target, unless keep_on_error or allow_failure: no
// orphans. Credentials come from clouds.yaml (cloud) or the OS_* environment,
// like openstackclient; secrets never appear in errors.
//
// Hash algorithm: Glance hashes with its [DEFAULT] hashing_algorithm (sha512
// unless the operator changed it) and reports it as os_hash_algo. publish
// computes md5 + sha512 during the upload. When the server reports another
// algorithm, a plain file is hashed a second time with that algorithm; a
// converted stream (convert_to) cannot be re-read, so it is then verified by
// size and md5 only and the result says so (verified_hash_algo empty).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/format.hpp"
#include "imgtool/source.hpp"
#include "imgtool/sources.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool {

// How to reach the cloud. The secrets themselves are never options.
// Where a value is not given here, the OS_* variable is used, else the
// clouds.yaml entry (a set OS_* variable overrides clouds.yaml, as in
// openstackclient).
struct GlanceConnection {
  std::string cloud;      // clouds.yaml entry (--os-cloud); empty = OS_CLOUD or the OS_* variables
  std::string cacert;     // PEM bundle (--os-cacert); overrides OS_CACERT / clouds.yaml cacert
  bool insecure = false;  // --insecure: no TLS verification
  std::string region;     // --os-region-name; overrides OS_REGION_NAME / region_name
  std::string interface;  // --os-interface: public, internal or admin; overrides OS_INTERFACE / interface
  // --timeout: a transfer in which no byte moves for this long fails
  // (connection set-up and the wait for Glance's answer after the last byte
  // of an upload are not counted). 0: never.
  long stall_timeout_seconds = 300;
  // --debug: called once per HTTP request with one line: method, URL, status,
  // time and the size of the answer. Tokens, passwords and secrets never
  // appear (request bodies and auth headers are not logged; a URL's userinfo
  // is replaced by "***").
  std::function<void(const std::string&)> debug;
};

struct PublishOptions {
  std::string name;                  // empty = file name without directory and extension
  std::string disk_format = "auto";  // auto = detected; explicit ones must match the bytes
  std::string container_format = "bare";
  std::string visibility;  // public|private|shared|community; empty = server default
  std::vector<std::pair<std::string, std::string>> properties;  // extra image properties
  std::vector<std::string> tags;
  std::optional<uint64_t> min_disk;  // GiB
  std::optional<uint64_t> min_ram;   // MiB
  bool protected_image = false;
  std::optional<Format> convert_to;                    // convert while uploading (one of writable_formats())
  std::map<std::string, std::string> convert_options;  // -o key=value for convert_to (parse_create_options)
  // Files named inside the image that may be read with convert_to (without
  // it nothing named inside the image is ever acceptable: Glance's consumers
  // would follow it).
  GatePolicy gate;
  // Interoperable import (docs/publish.md, "Import and stores") instead of
  // PUT /file. Implied by stores, all_stores and web_download_uri.
  bool use_import = false;
  std::vector<std::string> stores;  // --store (repeatable): where the data must land
  bool all_stores = false;          // --all-stores: every store the target offers
  // --web-download URL: Glance fetches the image itself (import method
  // web-download); imgtool reads the same URL once (verdict and digests,
  // nothing uploaded) and verifies Glance's record against it afterwards.
  std::string web_download_uri;
  // All-or-nothing by default: a store or a target that fails deletes every
  // image this publish created and the publish fails. true: what landed
  // stays, and the result names the stores and targets that failed (the
  // publish fails only when nothing landed). openstackclient's default is the
  // opposite.
  bool allow_failure = false;
  // With an import: return as soon as Glance accepted it (not verified).
  bool no_wait = false;
  unsigned wait_timeout_seconds = 3600;  // --wait-timeout for an import
  bool dry_run = false;                  // hash and show what would be sent; send nothing
  bool keep_on_error = false;            // leave a failed image for inspection
  bool reuse_existing = false;  // an active image with the same size + os_hash_value is returned instead
  // Inspect the guest (libguestfs, after the safety check) and set the Glance
  // OS properties it maps to (docs/inspect.md); a property in `properties`
  // given by the user wins. Fails when the build has no guest inspection.
  bool auto_properties = false;
  unsigned inspect_timeout_seconds = 300;
  GlanceConnection connection;
  // Several clouds or regions from one read (--os-cloud A --os-cloud B): one
  // connection per target; the image is read, converted and hashed once and
  // uploaded to every target in parallel through bounded buffers. Empty:
  // `connection` is the only target.
  std::vector<GlanceConnection> targets;
  // Progress of the upload: bytes sent, total when known. Called often.
  std::function<void(uint64_t done, std::optional<uint64_t> total)> progress;
  // One-line notes for stderr (ignored variables, --insecure, fallbacks).
  std::function<void(const std::string&)> notice;
  // Stops the publish (Error(Interrupted); the half-made image is deleted).
  // `progress` may cancel it. Empty: the calling thread's token
  // (imgtool/cancel.hpp), which in the CLI is the signal handlers' one.
  CancelToken cancel;
  // publish(spec): how the source is read (imgtool/sources.hpp: URLs, "-",
  // compression, OVA members, upstream digests). The disk image inside is
  // what is published.
  SourceOptions source;
  // The source is read once, front to back (a stream: publish(spec) sets it
  // for any source that is not a plain file, unless the body needs two passes):
  // the image is assessed with AssessOptions::defer_check and the driver's
  // walk runs once the body was sent; a refusal then deletes the image.
  bool defer_consistency_check = false;
  // Called once the whole body was produced and sent (before Glance's record
  // is verified); an exception from it fails the publish and deletes the
  // image. publish(spec) uses it for the checks that need the whole source
  // (upstream digests, the consistency walk of a streamed image).
  std::function<void()> after_body;
};

// One target's outcome.
struct PublishTargetResult {
  std::string cloud;     // clouds.yaml entry; empty = the OS_* variables
  std::string region;    // as asked for (--os-region-name / region_name); empty = the catalog's first
  std::string endpoint;  // the Glance base URL used
  // Glance's record once published and verified (a dry run: what would be
  // created, status empty).
  GlanceImageRecord image;
  std::vector<std::string> stores_failed;  // import with allow_failure: requested stores that failed
  bool verified = false;                   // the record was compared with what was sent
  std::string verified_hash_algo;          // the os_hash_algo compared; empty = not compared
  // What the verification compared, in words ("size, checksum, sha512";
  // "converted by Glance: size and virtual_size only"; "not verified: …").
  std::string verification;
  bool reused = false;  // reuse_existing found this image; nothing uploaded
  // allow_failure: why this target failed (its image was deleted); empty = it succeeded.
  std::string error;
};

struct PublishResult {
  // One entry per target, in the order given (a single one without targets).
  std::vector<PublishTargetResult> targets;
  // What imgtool computed over the bytes it sent (size = bytes sent,
  // os_hash_algo sha512; a web-download: over the bytes it read).
  GlanceDigests sent;
  bool dry_run = false;
  std::string request_json;  // the POST body
  // publish(spec): the layers peeled off the source, the upstream digests
  // that were verified, and the spool's peaks (0: no spool).
  std::vector<SourceLayer> source_layers;
  std::vector<UpstreamCheck> upstream;
  uint64_t spool_peak_memory = 0;
  uint64_t spool_peak_file = 0;

  // The first target (the only one without PublishOptions::targets).
  const PublishTargetResult& first() const { return targets.at(0); }
};

// Publishes the image at `path`. Its verdict (assess(): Purpose::HandOver,
// or Purpose::Read with convert_to) must not refuse. Throws imgtool::Error:
// Usage (bad options, missing credentials), Unsafe (backing/data file,
// extents, several formats, Glance's rules: never uploaded), Format (corrupt
// or unreadable), Mismatch (explicit disk_format contradicts the bytes, or Glance
// stored something else), Auth (401), Http (other HTTP/transport errors),
// Interrupted. Errors after the image was created name the image id and say
// whether it was deleted.
// `path` may be any source (imgtool/sources.hpp): a file, "-", an http(s)
// URL, compressed or an OVA; opts.source says how to read it.
PublishResult publish(const std::string& path, const PublishOptions& opts);
// Same for a source that is already open (a file, a block device, bytes in
// memory). Files named inside the image are reachable only for a source
// backed by a file (ByteSource::native_handle()), as for assess(); the
// default image name is the source's name without directory and extension.
PublishResult publish(std::shared_ptr<const ByteSource> source, const PublishOptions& opts);

// Looks up one image by id (or unique name) for `checksum --verify`.
GlanceImageRecord glance_find_image(const std::string& id_or_name, const GlanceConnection& conn = {});

// ---- imgtool copy-image ------------------------------------------------------

// Copies an active image into more stores of a multi-store Glance (import
// method copy-image). Admin only under Glance's default policy: a member
// gets one line saying so. The image's data is not read by imgtool; the
// copy is verified by Glance's record (status active, the stores, the
// checksum and os_hash_value unchanged).
struct CopyImageOptions {
  std::vector<std::string> stores;  // --store (repeatable)
  bool all_stores = false;          // every store the server offers
  // All or nothing by default: a store that fails fails the command (the
  // image itself is never deleted: it existed before). true: the stores
  // that worked are kept and the failed ones named.
  bool allow_failure = false;
  bool no_wait = false;
  unsigned wait_timeout_seconds = 3600;
  GlanceConnection connection;
  std::function<void(const std::string&)> notice;
  CancelToken cancel;  // empty: the calling thread's token
};

struct CopyImageResult {
  GlanceImageRecord image;                 // the record after the copy
  std::vector<std::string> stores_before;  // where the data was
  std::vector<std::string> stores_failed;  // with allow_failure
  bool verified = false;                   // waited for, hashes unchanged
};

// Throws Error(Usage) (unknown store, nothing to copy, options), Error(Auth)
// or Error(Http) (refused: the admin role; a failed store without
// allow_failure), Error(Mismatch) (Glance's hashes changed), Error(Interrupted).
CopyImageResult copy_image(const std::string& id_or_name, const CopyImageOptions& opts);

// ---- imgtool download -------------------------------------------------------

struct DownloadOptions {
  GlanceConnection connection;
  // fsync DST before it takes its name (like convert's -t writeback); false =
  // -t unsafe. Standard output is never synced.
  bool fsync = true;
  // An aligned 4 KiB run of zeros is left as a hole in a regular file DST (as
  // convert -S 4k). false writes every byte.
  bool sparse = true;
  // Bytes received out of the record's size. With convert_to it is called
  // from whichever thread of the converter pulls the body (one at a time).
  std::function<void(uint64_t done, std::optional<uint64_t> total)> progress;
  std::function<void(const std::string&)> notice;
  CancelToken cancel;  // empty: the calling thread's token
  // Convert while downloading (one of writable_formats()), in the same pass:
  // the bytes from Glance are hashed and read by imgtool's reader through a
  // one-pass spool (no local copy of the original). The image is assessed
  // first (Purpose::Read, AssessOptions::defer_check): a backing file, an
  // extent or data file named inside, a refused verdict, or data whose format
  // contradicts the record's disk_format is refused before DST exists; the
  // deferred walk and the hashes are checked before DST takes its name.
  // DST "-" takes raw, and the targets whose writer needs no first pass on a
  // stream (qcow2 with preallocation=metadata); the others are Error(Usage).
  std::optional<Format> convert_to;
  std::map<std::string, std::string> convert_options;  // -o key=value for convert_to (parse_create_options)
  // Memory the spool may hold before it moves to an unlinked temporary file.
  uint64_t spool_memory_limit = uint64_t(64) << 20;
  // Download only an image that has data in this store (the record's
  // "stores", multi-store Glance); Error(Usage) listing its stores otherwise.
  // Glance's GET /file has no per-request store: when the image is in several
  // stores, Glance's location_strategy still picks the location served.
  std::string store;
};

struct DownloadResult {
  GlanceImageRecord image;  // Glance's record
  std::string disk_format, container_format;
  std::string destination;          // DST, or "-" for standard output
  uint64_t bytes = 0;               // received
  uint64_t holes = 0;               // bytes left as holes in DST
  GlanceDigests received;           // computed over the received bytes (md5 + Glance's os_hash_algo, size)
  std::string verified_hash_algo;   // the os_hash_algo compared
  std::vector<std::string> stores;  // the record's "stores" (empty: not a multi-store Glance)
  uint64_t bytes_written = 0;       // size of what was written to DST
  // convert_to: the format detected in the body, the format written, the
  // image's virtual size and the spool's peaks (memory, temporary file).
  std::optional<Format> source_format;
  std::optional<Format> converted_to;
  uint64_t virtual_size = 0;
  uint64_t spool_peak_memory = 0;
  uint64_t spool_peak_file = 0;
};

// Downloads the data of the active image `id_or_name` (an id, or a name one
// image has) into `dst` ("-" = standard output), hashing it on the way, and
// compares size, checksum (md5) and os_hash_value (Glance's os_hash_algo)
// with Glance's record. A file DST is written to a temporary name beside it
// and renamed only when everything matched (an existing DST keeps its mode;
// a symlink is written through, as for convert); on any failure, interrupt
// included, DST is left as it was. Standard output cannot be taken back: a
// mismatch there is reported after the bytes went out, and the exit is
// non-zero. Throws Error(Usage) (options, credentials), Error(Http) (no such
// image, not active, transport), Error(Auth), Error(Mismatch), Error(Io),
// Error(Interrupted).
DownloadResult download(const std::string& id_or_name, const std::string& dst, const DownloadOptions& opts);

// verify_against_glance()'s lookup (imgtool/checksum.hpp) through `conn`:
// default_glance_image_lookup() with the command line's --os-* options.
GlanceImageLookup glance_image_lookup(const GlanceConnection& conn);

}  // namespace imgtool
