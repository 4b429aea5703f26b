// Glance's two digests of a whole file, a ByteSource or a stream. Glance
// hashes the bytes it receives (glance/common/utils.py, glance_store
// backends: hashlib md5 + os_hash_algo over every chunk), so holes count as
// zeros. Data is read in MultiHasher::kChunkSize blocks directly into the
// hasher's page-aligned chunks (no extra copy); holes are fed as the shared
// zero chunk without reading.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/sources.hpp"
#include "imgtool/stream.hpp"
#include "io/unique_fd.hpp"

namespace imgtool {
namespace {

GlanceDigests finish(MultiHasher& h, HashAlgo algo, bool also_sha256 = false) {
  auto hex = h.finish_hex();
  GlanceDigests d;
  d.checksum = std::move(hex[0]);
  d.os_hash_algo = to_string(algo);
  d.os_hash_value = std::move(hex[1]);
  if (also_sha256) d.sha256 = hex.size() > 2 ? hex[2] : d.os_hash_value;  // os_hash_algo may be sha256
  d.size = h.bytes();
  return d;
}

std::vector<HashAlgo> algos_for(HashAlgo os_hash_algo, bool also_sha256) {
  std::vector<HashAlgo> a{HashAlgo::md5, os_hash_algo};
  if (also_sha256 && os_hash_algo != HashAlgo::sha256) a.push_back(HashAlgo::sha256);
  return a;
}

// Reads [off, end) of `src` into the hasher; every read_at() is at most one
// chunk, so data runs are read as whole aligned blocks.
void hash_data_run(const ByteSource& src, MultiHasher& h, uint64_t off, uint64_t end) {
  while (off < end) {
    throw_if_interrupted();
    auto buf = h.prepare(static_cast<size_t>(std::min<uint64_t>(end - off, MultiHasher::kChunkSize)));
    size_t n = src.read_at(off, buf);
    if (n == 0)
      throw Error(ErrorKind::Io, src.name(),
                  "unexpected end of file: the file shrank while it was read (size was " +
                      std::to_string(src.size()) + " bytes)",
                  off);
    h.commit(n);
    off += n;
  }
}

}  // namespace

GlanceDigests glance_digests(const ByteSource& src, HashAlgo os_hash_algo, bool also_sha256) {
  MultiHasher h(algos_for(os_hash_algo, also_sha256));
  const uint64_t size = src.size();
  uint64_t off = 0;
  // Each pass consumes one hole and/or one data run, and both lseek answers
  // are clamped to (off, size], so the loop always advances.
  while (off < size) {
    throw_if_interrupted();
    uint64_t data = std::clamp(src.next_data(off), off, size);
    if (data > off) {
      h.update_zeros(data - off);
      off = data;
      continue;
    }
    uint64_t hole = src.next_hole(off);
    if (hole <= off || hole > size) hole = size;
    hash_data_run(src, h, off, hole);
    off = hole;
  }
  return finish(h, os_hash_algo, also_sha256);
}

GlanceDigests glance_digests_of_fd(int fd, const std::string& name, HashAlgo os_hash_algo) {
  MultiHasher h({HashAlgo::md5, os_hash_algo});
  for (;;) {
    throw_if_interrupted();
    auto buf = h.prepare(MultiHasher::kChunkSize);
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;  // throw_if_interrupted() decides
      if (errno == EISDIR) throw Error(ErrorKind::Io, name, "is a directory, not an image file");
      throw Error(ErrorKind::Io, name, std::string("read failed: ") + std::strerror(errno), h.bytes());
    }
    if (n == 0) break;
    h.commit(static_cast<size_t>(n));
  }
  return finish(h, os_hash_algo);
}

GlanceDigests glance_digests_of_stream(ByteStream& s, HashAlgo os_hash_algo) {
  MultiHasher h({HashAlgo::md5, os_hash_algo});
  for (;;) {
    throw_if_interrupted();
    auto buf = h.prepare(MultiHasher::kChunkSize);
    const size_t n = read_full(s, buf);
    if (n == 0) break;
    h.commit(n);
    if (n < buf.size()) break;
  }
  return finish(h, os_hash_algo);
}

GlanceDigests glance_digests_of_source(const std::string& spec, const SourceOptions& opts,
                                       HashAlgo os_hash_algo, std::vector<UpstreamCheck>* upstream) {
  // A named pipe or character device (`<(...)`, /dev/stdin): read as it
  // is, as checksum always did (open_source() refuses them as images).
  struct stat st {};
  if (!is_stream_spec(spec) && ::stat(spec.c_str(), &st) == 0 &&
      (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) && opts.expect.empty() && opts.checksums.empty()) {
    if (upstream) upstream->clear();
    return glance_digests_of_file(spec, os_hash_algo);
  }
  std::unique_ptr<Source> src = open_source(spec, opts);
  GlanceDigests d;
  // A plain local file with nothing to verify upstream: hole-aware (holes
  // are hashed as zeros without reading them).
  if (!src->remote() && src->layers().empty() && opts.expect.empty() && opts.checksums.empty() &&
      spec != "-") {
    d = glance_digests(*src->random_access(), os_hash_algo);
  } else {
    std::unique_ptr<ByteStream> s = src->stream();
    d = glance_digests_of_stream(*s, os_hash_algo);
  }
  std::vector<UpstreamCheck> checks = src->finish();
  if (upstream) *upstream = std::move(checks);
  return d;
}

GlanceDigests glance_digests_of_file(const std::string& path, HashAlgo os_hash_algo) {
  if (path == "-") return glance_digests_of_fd(STDIN_FILENO, "-", os_hash_algo);
  // Pipes and character devices (`<(...)`, /dev/stdin) have no size: read
  // them as a stream; regular files and block devices go through ByteSource.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
    io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw Error(ErrorKind::Io, path, std::string("cannot open: ") + std::strerror(errno));
    return glance_digests_of_fd(fd.get(), path, os_hash_algo);
  }
  auto src = open_file_source(path);
  return glance_digests(*src, os_hash_algo);
}

}  // namespace imgtool
