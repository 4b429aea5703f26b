// SpoolSource (spool_source.hpp): the stream is pulled forward in pieces of
// 256 KiB under one mutex (the convert pipeline reads from several workers).
// What arrived is held as non-overlapping byte runs, each either a slice of a
// memory buffer or a range of the temporary file at the same offset as in the
// stream (a sparse file: released ranges are punched out). release() cuts the
// runs exactly, so a reader that frees clusters one by one leaves nothing of
// them behind; a short run left over in a large buffer is copied out so the
// buffer can go.
#include "io/spool_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "io/unique_fd.hpp"

namespace imgtool {
namespace {

// Pulled from the stream at once: small enough that what a reader leaves of
// a piece (a table beside released data) keeps little memory alive.
constexpr size_t kPiece = size_t(256) << 10;
constexpr uint64_t kPinnedHead = uint64_t(64) << 10;  // never released: the probe window's head
constexpr size_t kTailKeep = 4096;                    // the last bytes that arrived, always kept

std::string temp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? std::string(t) : std::string("/tmp");
}

}  // namespace

struct SpoolSource::Impl {
  // A memory buffer; its size counts in `mem` for as long as a run uses it.
  struct Buffer {
    Buffer(size_t n, uint64_t& counter) : data(new std::byte[n]), cap(n), held(counter) { held += n; }
    ~Buffer() { held -= cap; }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    std::unique_ptr<std::byte[]> data;
    size_t cap;
    uint64_t& held;
  };
  struct Run {
    uint64_t len = 0;
    std::shared_ptr<Buffer> buf;  // null: in the temporary file at the run's own offset
    size_t buf_off = 0;
  };

  Impl(std::unique_ptr<ByteStream> s, uint64_t limit)
      : stream(std::move(s)), memory_limit(limit), hint(stream->size_hint()) {}

  std::unique_ptr<ByteStream> stream;
  const uint64_t memory_limit;
  const std::optional<uint64_t> hint;

  mutable std::mutex mu;
  // Declared before the runs: a Buffer's destructor counts down `mem`.
  uint64_t mem = 0, peak_mem = 0, in_file = 0, peak_file = 0;
  std::map<uint64_t, Run> runs;  // start -> run; every held byte below `frontier`
  uint64_t frontier = 0;         // bytes pulled from the stream so far
  bool ended = false;            // the stream said it has no more
  bool one_pass = false;
  std::vector<std::byte> scratch;
  std::vector<std::byte> tail;  // the last min(kTailKeep, frontier) bytes pulled
  io::UniqueFd file;
  std::string file_dir;

  const std::string& name() const { return stream->name(); }

  std::optional<uint64_t> known() const {
    if (hint) return hint;
    if (ended) return frontier;
    return std::nullopt;
  }

  void note_peaks() {
    peak_mem = std::max(peak_mem, mem);
    peak_file = std::max(peak_file, in_file);
  }

  [[noreturn]] void file_error(const std::string& what, int e) const {
    throw Error(ErrorKind::Io, name(),
                what + " the spool's temporary file in " + file_dir + ": " + std::strerror(e));
  }

  void open_file() {
    file_dir = temp_dir();
    // O_TMPFILE: the file never has a name, so no exit path can leave it.
    int fd = ::open(file_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      // File systems without O_TMPFILE: a name that lives for one unlink().
      std::string path = file_dir + "/imgtool-spool-XXXXXX";
      fd = ::mkostemp(path.data(), O_CLOEXEC);
      if (fd >= 0 && ::unlink(path.c_str()) != 0) {
        const int e = errno;
        ::close(fd);
        file_error("cannot unlink", e);
      }
    }
    if (fd < 0) file_error("cannot create", errno);
    file = io::UniqueFd(fd);
  }

  void write_file(uint64_t off, const std::byte* p, size_t n) {
    if (!file) open_file();
    while (n > 0) {
      const ssize_t w = ::pwrite(file.get(), p, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        file_error("cannot write", errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
      off += static_cast<uint64_t>(w);
    }
  }

  void read_file(uint64_t off, std::byte* p, size_t n) const {
    while (n > 0) {
      const ssize_t r = ::pread(file.get(), p, n, static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) file_error("cannot read", r < 0 ? errno : EIO);
      p += r;
      n -= static_cast<size_t>(r);
      off += static_cast<uint64_t>(r);
    }
  }

  void keep_tail(const std::byte* p, size_t n) {
    if (n >= kTailKeep) {
      tail.assign(p + n - kTailKeep, p + n);
      return;
    }
    tail.insert(tail.end(), p, p + n);
    if (tail.size() > kTailKeep) tail.erase(tail.begin(), tail.end() - kTailKeep);
  }

  // Stores a piece that just arrived at `frontier`.
  void store(const std::byte* p, size_t n) {
    Run r;
    r.len = n;
    if (mem + n <= memory_limit) {
      r.buf = std::make_shared<Buffer>(n, mem);
      std::memcpy(r.buf->data.get(), p, n);
    } else {
      write_file(frontier, p, n);
      in_file += n;
    }
    runs.emplace(frontier, std::move(r));
    note_peaks();
  }

  // Pulls until `end` arrived or the stream ended. `end` is capped by the
  // hint: a stream never has to give more than it announced.
  void pull_to(uint64_t end) {
    if (hint) end = std::min(end, *hint);
    while (frontier < end && !ended) {
      throw_if_interrupted();
      if (scratch.empty()) scratch.resize(kPiece);
      size_t want = kPiece;
      if (hint) want = static_cast<size_t>(std::min<uint64_t>(want, *hint - frontier));
      const size_t n = read_full(*stream, std::span<std::byte>(scratch.data(), want));
      if (n > 0) {
        store(scratch.data(), n);
        keep_tail(scratch.data(), n);
        frontier += n;
      }
      if (n < want) ended = true;
    }
    if (hint && frontier >= *hint) ended = true;
  }

  // Copies held bytes [off, off+n) (all below the frontier) to `out`.
  void copy_out(uint64_t off, std::byte* out, size_t n) const {
    const uint64_t end = off + n;
    uint64_t pos = off;
    auto it = runs.upper_bound(off);
    if (it != runs.begin()) --it;
    for (; pos < end; ++it) {
      const bool covers = it != runs.end() && it->first <= pos && pos < it->first + it->second.len;
      if (!covers) {
        // Released: the kept tail may still have it.
        const uint64_t tail_start = frontier - tail.size();
        if (pos >= tail_start && end <= frontier) {
          std::memcpy(out + (pos - off), tail.data() + (pos - tail_start), static_cast<size_t>(end - pos));
          return;
        }
        throw Error(ErrorKind::Unsupported, name(),
                    "the bytes at offset " + std::to_string(pos) +
                        " were already passed on: this image is not laid out for reading from a stream",
                    pos);
      }
      const Run& r = it->second;
      const uint64_t stop = std::min(end, it->first + r.len);
      const size_t k = static_cast<size_t>(stop - pos);
      if (r.buf)
        std::memcpy(out + (pos - off), r.buf->data.get() + r.buf_off + (pos - it->first), k);
      else
        read_file(pos, out + (pos - off), k);
      pos = stop;
    }
  }

  // A run cut from `r` at [from, from+len) of its bytes (relative offsets).
  Run piece_of(const Run& r, uint64_t from, uint64_t len) {
    Run p;
    p.len = len;
    if (!r.buf) return p;
    // A short run would keep its whole buffer alive: give it its own (unless
    // that goes over the limit; then the buffer is kept a little longer).
    if (len < r.buf->cap / 8 && mem + len <= memory_limit) {
      p.buf = std::make_shared<Buffer>(static_cast<size_t>(len), mem);
      std::memcpy(p.buf->data.get(), r.buf->data.get() + r.buf_off + from, static_cast<size_t>(len));
      return p;
    }
    p.buf = r.buf;
    p.buf_off = r.buf_off + static_cast<size_t>(from);
    return p;
  }

  void punch(uint64_t off, uint64_t len) {
    in_file -= len;
    // Best effort: without hole punching the bytes stay until the file closes.
    (void)::fallocate(file.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                      static_cast<off_t>(len));
  }

  void release(uint64_t off, uint64_t len) {
    uint64_t end;
    if (__builtin_add_overflow(off, len, &end)) end = UINT64_MAX;
    off = std::max(off, kPinnedHead);
    end = std::min(end, frontier);
    if (off >= end) return;
    auto it = runs.upper_bound(off);
    if (it != runs.begin()) --it;
    while (it != runs.end() && it->first < end) {
      const uint64_t s = it->first, e = s + it->second.len;
      if (e <= off) {
        ++it;
        continue;
      }
      Run r = std::move(it->second);
      it = runs.erase(it);
      const uint64_t cut_s = std::max(s, off), cut_e = std::min(e, end);
      if (!r.buf) punch(cut_s, cut_e - cut_s);
      if (s < cut_s) runs.emplace(s, piece_of(r, 0, cut_s - s));
      if (cut_e < e) it = runs.emplace(cut_e, piece_of(r, cut_e - s, e - cut_e)).first;
      // `r` goes out of scope here: its buffer is freed once no piece uses it.
    }
    note_peaks();  // a copied-out piece may briefly add to the memory held
  }
};

SpoolSource::SpoolSource(std::unique_ptr<ByteStream> stream, uint64_t memory_limit)
    : impl_(std::make_unique<Impl>(std::move(stream), memory_limit)) {}

SpoolSource::~SpoolSource() = default;

const std::string& SpoolSource::name() const {
  return impl_->name();
}

uint64_t SpoolSource::size() const {
  if (impl_->hint) return *impl_->hint;
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->pull_to(UINT64_MAX);
  return impl_->frontier;
}

std::optional<uint64_t> SpoolSource::known_size() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->known();
}

size_t SpoolSource::read_at(uint64_t offset, std::span<std::byte> out) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  uint64_t end;
  if (__builtin_add_overflow(offset, out.size(), &end)) end = UINT64_MAX;
  impl_->pull_to(end);
  if (offset >= impl_->frontier) return 0;
  end = std::min(end, impl_->frontier);
  const size_t n = static_cast<size_t>(end - offset);
  impl_->copy_out(offset, out.data(), n);
  return n;
}

uint64_t SpoolSource::allocated_size() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->known().value_or(impl_->frontier);
}

uint64_t SpoolSource::next_data(uint64_t offset) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  const std::optional<uint64_t> k = impl_->known();
  return k ? std::min(offset, *k) : offset;
}

uint64_t SpoolSource::next_hole(uint64_t offset) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  (void)offset;
  return impl_->known().value_or(UINT64_MAX);
}

void SpoolSource::release(uint64_t offset, uint64_t length) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->release(offset, length);
}

void SpoolSource::drain() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->one_pass = false;  // the reader is done: what follows (a deferred check) reads at random
  impl_->pull_to(UINT64_MAX);
  if (!impl_->hint) return;
  // The hint stopped the pulls at the announced size: the stream must end
  // there (and the digests above it see its end).
  std::byte probe[1];
  if (impl_->stream->read(probe) != 0)
    throw Error(ErrorKind::Io, impl_->name(),
                "the stream goes on past the " + std::to_string(*impl_->hint) + " bytes it announced");
}

void SpoolSource::set_one_pass(bool on) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->one_pass = on;
}

void SpoolSource::consumed(uint64_t offset, uint64_t length) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (impl_->one_pass) impl_->release(offset, length);
}

bool SpoolSource::one_pass() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->one_pass;
}

uint64_t SpoolSource::peak_memory() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->peak_mem;
}

uint64_t SpoolSource::peak_file() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->peak_file;
}

}  // namespace imgtool
