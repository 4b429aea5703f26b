// open_source(): from what the user typed to the disk image's bytes.
//
// The chain, outermost first:
//   transport   a file, standard input, or an HTTP(S) body (http_stream)
//   digests     upstream checksums over the bytes as published (digest_stream)
//   layers      up to kMaxLayers of compression (decompress) and tar/OVA
//               (packaged_disk), each found by sniffing the first bytes
//   the image   handed out as a stream, or as a ByteSource: the file itself
//               when nothing had to be peeled off, else a spool
// Nothing is detected from a name: a .qcow2 that holds gzip bytes is gzip.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "imgtool/error.hpp"
#include "imgtool/sources.hpp"
#include "io/spool_source.hpp"
#include "sources/decompress.hpp"
#include "sources/digest_stream.hpp"
#include "sources/http_stream.hpp"
#include "sources/packaged_disk.hpp"
#include "sources/peek_stream.hpp"
#include "sources/sums_file.hpp"

namespace imgtool {
namespace {

// gzip inside a tar inside xz is already unusual; more is a bomb, not an image.
constexpr int kMaxLayers = 4;
// Enough for every compression magic and a tar header.
constexpr size_t kSniffBytes = 512;

std::string file_name_of(const std::string& spec) {
  if (sources::is_http_url(spec)) return sources::url_file_name(spec);
  const size_t slash = spec.find_last_of('/');
  return slash == std::string::npos ? spec : spec.substr(slash + 1);
}

// A stream over a local file (opened as open_file_source() would: FIFOs and
// the like refused at once; "-" is standard input).
std::unique_ptr<ByteStream> local_stream(const std::string& spec) {
  if (spec == "-") return fd_stream(STDIN_FILENO, "-", false);
  // open_file_source() carries the checks and messages for bad paths; its
  // descriptor is dup()ed so the stream owns its own.
  std::unique_ptr<ByteSource> f = open_file_source(spec);
  const int fd = ::fcntl(f->native_handle(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    throw Error(ErrorKind::Io, spec, std::string("cannot duplicate descriptor: ") + std::strerror(errno));
  if (::lseek(fd, 0, SEEK_SET) < 0) {
    ::close(fd);
    throw Error(ErrorKind::Io, spec, std::string("cannot seek: ") + std::strerror(errno));
  }
  return fd_stream(fd, spec, true);
}

// The stream handed to a consumer: reads the chain the Source keeps (so
// finish() can still read its end and its digests), and keeps it alive for
// as long as the consumer needs it.
class Shared final : public ByteStream {
 public:
  explicit Shared(std::shared_ptr<ByteStream> s) : s_(std::move(s)) {}
  const std::string& name() const override { return s_->name(); }
  size_t read(std::span<std::byte> out) override { return s_->read(out); }
  std::optional<uint64_t> size_hint() const override { return s_->size_hint(); }
  uint64_t position() const override { return s_->position(); }

 private:
  std::shared_ptr<ByteStream> s_;
};

class SourceImpl final : public Source {
 public:
  SourceImpl(const std::string& spec, const SourceOptions& opts) : opts_(opts) {
    remote_ = sources::is_http_url(spec);
    name_ = remote_ ? sources::url_for_messages(spec) : spec;

    for (const ExpectedDigest& e : opts.expect) expected_.push_back(e);
    if (!opts.checksums.empty()) {
      sources::SignatureCheck sig;
      ExpectedDigest e =
          sources::expected_from_sums(opts.checksums, file_name_of(spec), opts.keyring, opts.http, &sig);
      signature_ = sig;
      expected_.push_back(std::move(e));
    } else if (!opts.keyring.empty()) {
      throw Error(ErrorKind::Usage, name_, "--keyring verifies a --checksums file; no --checksums was given");
    }

    std::unique_ptr<ByteStream> transport;
    if (remote_) {
      transport = sources::open_http_stream(spec, opts.http);
    } else if (spec != "-") {
      // A plain local file stays a file (holes, allocation, no copy) unless
      // its first bytes show a layer to peel off.
      plain_ = open_file_source(spec);
      if (!opts.unpack || !starts_with_layer(*plain_)) return;
      plain_.reset();
      transport = local_stream(spec);
    } else {
      transport = local_stream(spec);
    }
    inner_ = chain(std::move(transport));
  }

  const std::string& name() const override { return name_; }
  bool remote() const override { return remote_; }
  const std::vector<SourceLayer>& layers() const override { return layers_; }

  std::shared_ptr<const ByteSource> random_access() override {
    take_once();
    if (plain_) {
      plain_used_ = true;
      return std::shared_ptr<const ByteSource>(std::move(plain_));
    }
    spool_ = std::make_shared<SpoolSource>(std::make_unique<Shared>(inner_), opts_.spool_memory_limit);
    return spool_;
  }

  std::shared_ptr<const ByteSource> one_pass_access() override {
    std::shared_ptr<const ByteSource> s = random_access();
    if (spool_) spool_->set_one_pass(true);
    return s;
  }

  void drain() override {
    if (spool_) spool_->drain();
  }

  bool plain_file() const override { return plain_ != nullptr || plain_used_; }

  std::unique_ptr<ByteStream> stream() override {
    take_once();
    if (plain_) {  // read front to back, hashed in the same pass when asked
      plain_.reset();
      inner_ = chain(local_stream(name_));
    }
    return std::make_unique<Shared>(inner_);
  }

  std::vector<UpstreamCheck> finish() override {
    std::vector<UpstreamCheck> out;
    if (expected_.empty()) return out;
    // A local file read at random: its digests take a pass of their own.
    if (plain_used_ && !inner_) inner_ = chain(local_stream(name_));
    // The disk image's own end first, so a truncated compressed stream is
    // reported as what it is; then whatever follows it in the download.
    if (spool_) spool_->drain();
    if (inner_) {
      std::vector<std::byte> buf(1 << 20);
      while (inner_->read(buf) > 0) {
      }
    }
    for (const ExpectedDigest& e : expected_) {
      UpstreamCheck c;
      c.expected = e;
      c.actual = digests_->finish(e.algorithm);
      c.signature_checked = signature_.checked;
      c.signer = signature_.signer;
      if (c.actual != e.hex)
        throw Error(ErrorKind::Mismatch, name_,
                    std::string(sources::to_string(e.algorithm)) + " of the bytes received is " + c.actual +
                        ", but " + e.origin + " says " + e.hex);
      out.push_back(std::move(c));
    }
    return out;
  }

  uint64_t spool_peak_memory() const override { return spool_ ? spool_->peak_memory() : 0; }
  uint64_t spool_peak_file() const override { return spool_ ? spool_->peak_file() : 0; }

 private:
  void take_once() {
    if (taken_) throw Error(ErrorKind::Usage, name_, "internal: a source's bytes were asked for twice");
    taken_ = true;
  }

  static bool starts_with_layer(const ByteSource& f) {
    std::array<std::byte, kSniffBytes> head{};
    const size_t n = f.read_at(0, head);
    const std::span<const std::byte> h(head.data(), n);
    return sources::sniff_compression(h) != sources::Compression::None || sources::looks_like_tar(h);
  }

  // What the consumer reads: the transport, hashed when digests are
  // expected, with the layers peeled off.
  std::unique_ptr<ByteStream> chain(std::unique_ptr<ByteStream> transport) {
    if (!expected_.empty()) {
      std::vector<DigestAlgorithm> algs;
      for (const ExpectedDigest& e : expected_) algs.push_back(e.algorithm);
      auto d = std::make_unique<sources::DigestStream>(std::move(transport), algs);
      digests_ = d.get();
      transport = std::move(d);
    }
    return opts_.unpack ? peel(std::move(transport)) : std::move(transport);
  }

  // Peels compression and tar layers until the bytes are neither.
  std::unique_ptr<ByteStream> peel(std::unique_ptr<ByteStream> s) {
    for (int depth = 0;; ++depth) {
      auto peek = std::make_unique<sources::PeekStream>(std::move(s));
      const std::span<const std::byte> head = peek->peek(kSniffBytes);
      const sources::Compression c = sources::sniff_compression(head);
      const bool tar = c == sources::Compression::None && sources::looks_like_tar(head);
      if (c == sources::Compression::None && !tar) return peek;
      if (depth == kMaxLayers)
        throw Error(ErrorKind::Format, name_,
                    "more than " + std::to_string(kMaxLayers) + " layers of compression and packaging");
      if (tar) {
        sources::PackagedDisk disk = sources::open_packaged_disk(std::move(peek), opts_.member);
        layers_.push_back(std::move(disk.layer));
        s = std::move(disk.stream);
      } else {
        SourceLayer l;
        l.kind = std::string(sources::compression_name(c));
        layers_.push_back(std::move(l));
        s = sources::decompress_stream(c, std::move(peek));
      }
    }
  }

  SourceOptions opts_;
  std::string name_;
  bool remote_ = false;
  bool taken_ = false;
  std::vector<SourceLayer> layers_;
  std::vector<ExpectedDigest> expected_;
  sources::SignatureCheck signature_;
  std::unique_ptr<ByteSource> plain_;
  bool plain_used_ = false;
  std::shared_ptr<ByteStream> inner_;  // the chain; its digest layer is *digests_
  sources::DigestStream* digests_ = nullptr;
  std::shared_ptr<SpoolSource> spool_;
};

}  // namespace

bool is_stream_spec(const std::string& spec) {
  return spec == "-" || sources::is_http_url(spec);
}

SourceOptions declared_source_options(SourceOptions opts, std::optional<Format> declared) {
  if (declared == Format::Raw) opts.unpack = false;
  return opts;
}

std::unique_ptr<Source> open_source(const std::string& spec, const SourceOptions& opts) {
  if (spec.empty()) throw Error(ErrorKind::Usage, spec, "no source given");
  if (opts.member && !opts.unpack)
    throw Error(ErrorKind::Usage, spec,
                "--member picks a disk out of a tar; it cannot go with reading the bytes as they are "
                "(-f raw, --as-is)");
  return std::make_unique<SourceImpl>(spec, opts);
}

}  // namespace imgtool
