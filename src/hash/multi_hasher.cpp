// MultiHasher: one pass, several digests. Threaded mode: one thread per digest
// (RocksDB ParallelCompressionRep): the producer fills page-aligned chunks
// from a bounded pool (kMaxChunks) and hands the same shared_ptr<const Chunk>
// to one std::jthread per digest through per-digest bounded queues
// (kQueueDepth), so memory is at most kMaxChunks × kChunkSize whatever the
// input size, and the slowest digest sets the pace. MD5 and SHA-512 are each
// single-core bound (~0.75 GB/s), so two threads give ~2× over md5sum then
// sha512sum.
//
// Interrupts: every full chunk and every zero chunk polls
// throw_if_interrupted(), so a long update_zeros() (a hole of a sparse file,
// a skipped range of a conversion) stops within one chunk; the destructor
// then drops the queued chunks and joins the threads, each of which finishes
// at most the one chunk it is hashing. finish_hex() does not poll: a sink
// that has committed its output must get its digests.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "hash/chunk.hpp"
#include "hash/evp_digest.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"

namespace imgtool {
namespace {

using hash::Chunk;
using SharedChunk = std::shared_ptr<const Chunk>;

constexpr size_t kMaxChunks = 6;   // 24 MiB of buffers at most
constexpr size_t kQueueDepth = 4;  // chunks waiting per digest thread
// Zero runs shorter than this are copied into the current chunk; longer runs
// are sent as the shared zero chunk (no copy, no read).
constexpr uint64_t kZeroCopyLimit = 64 * 1024;

// One read-only chunk of zeros shared by every hasher (holes, write_zeros).
// Zero-initialised static storage: the kernel maps it to the zero page.
alignas(hash::kChunkAlign) const std::byte kZeros[MultiHasher::kChunkSize] = {};

}  // namespace

struct MultiHasher::Impl {
  std::vector<HashAlgo> algos;
  bool threaded;
  std::vector<hash::EvpDigest> digests;  // digests[i] is used by worker i once started
  uint64_t bytes = 0;
  bool finished = false;
  std::unique_ptr<Chunk> cur;  // chunk being filled by the producer

  // Shared with the workers, guarded by mu.
  std::mutex mu;
  std::condition_variable work_cv;   // workers: a queue got a chunk, or closed
  std::condition_variable space_cv;  // producer: queue space or a free chunk
  std::vector<std::deque<SharedChunk>> queues;
  std::vector<std::unique_ptr<Chunk>> free_chunks;
  size_t allocated = 0;
  bool closed = false;
  bool abort = false;
  std::exception_ptr error;
  std::vector<std::jthread> workers;  // last member: joined before the rest goes

  Impl(std::vector<HashAlgo> a, bool t) : algos(std::move(a)), threaded(t) {
    if (algos.empty()) throw Error(ErrorKind::Usage, "", "MultiHasher needs at least one algorithm");
    digests.reserve(algos.size());
    for (HashAlgo x : algos) digests.emplace_back(x);
  }

  ~Impl() { stop(/*abort_work=*/true); }

  bool started() const { return !workers.empty(); }

  // ---- chunks ---------------------------------------------------------------
  std::unique_ptr<Chunk> acquire() {
    if (!started()) {  // before the threads: one buffer, reused by flush()
      allocated = 1;
      auto c = std::make_unique<Chunk>();
      c->storage = hash::make_aligned_bytes(kChunkSize);
      c->data = c->storage.get();
      return c;
    }
    std::unique_lock lk(mu);
    space_cv.wait(lk, [&] { return !free_chunks.empty() || allocated < kMaxChunks; });
    if (!free_chunks.empty()) {
      auto c = std::move(free_chunks.back());
      free_chunks.pop_back();
      return c;
    }
    ++allocated;
    lk.unlock();
    auto c = std::make_unique<Chunk>();
    c->storage = hash::make_aligned_bytes(kChunkSize);
    c->data = c->storage.get();
    return c;
  }

  // Called by whichever thread drops the last reference; never with mu held.
  void recycle(const Chunk* p) noexcept {
    std::unique_ptr<Chunk> c(const_cast<Chunk*>(p));
    c->size = 0;
    {
      std::lock_guard lk(mu);
      free_chunks.push_back(std::move(c));
    }
    space_cv.notify_one();
  }

  SharedChunk share(std::unique_ptr<Chunk> c) {
    return SharedChunk(c.release(), [this](const Chunk* p) { recycle(p); });
  }

  // ---- threads --------------------------------------------------------------
  void start() {
    queues.resize(algos.size());
    workers.reserve(algos.size());
    const CancelToken token = CancelToken::current();  // the operation's, for the digest threads too
    for (size_t i = 0; i < algos.size(); ++i)
      workers.emplace_back([this, i, token] {
        CancelScope scope(token);
        work(i);
      });
  }

  void work(size_t i) {
    for (;;) {
      SharedChunk c;
      bool skip = false;
      {
        std::unique_lock lk(mu);
        work_cv.wait(lk, [&] { return !queues[i].empty() || closed; });
        if (queues[i].empty()) return;
        c = std::move(queues[i].front());
        queues[i].pop_front();
        skip = abort || error;
      }
      space_cv.notify_one();
      if (skip) continue;  // `c` is dropped outside the lock (its deleter locks mu)
      try {
        digests[i].update({c->data, c->size});
      } catch (...) {
        std::lock_guard lk(mu);
        if (!error) error = std::current_exception();
      }
    }
  }

  void dispatch(SharedChunk c) {
    if (!started()) start();
    {
      std::unique_lock lk(mu);
      space_cv.wait(lk, [&] {
        return std::all_of(queues.begin(), queues.end(),
                           [](const auto& q) { return q.size() < kQueueDepth; });
      });
      for (auto& q : queues) q.push_back(c);
    }
    work_cv.notify_all();
    // `c` is released here, outside the lock (its deleter locks mu).
  }

  // Hashes what is in `cur`: inline before the threads exist (and always when
  // single-threaded), else by sending it to the threads. `final` means no more
  // input, so a small input never starts threads.
  void flush(bool final) {
    if (!cur || cur->size == 0) return;
    if (threaded && (started() || !final)) {
      dispatch(share(std::move(cur)));
      return;
    }
    for (auto& d : digests) d.update({cur->data, cur->size});
    cur->size = 0;
  }

  void stop(bool abort_work) noexcept {
    if (!started()) return;
    std::vector<SharedChunk> dropped;
    {
      std::lock_guard lk(mu);
      if (abort_work) {
        abort = true;
        for (auto& q : queues) {
          for (auto& c : q) dropped.push_back(std::move(c));
          q.clear();
        }
      }
      closed = true;
    }
    work_cv.notify_all();
    dropped.clear();  // deleters lock mu: not held here
    workers.clear();  // jthread: joins
  }

  void check_open() const {
    if (finished) throw Error(ErrorKind::Usage, "", "MultiHasher used after finish_hex()");
  }
};

MultiHasher::MultiHasher(std::vector<HashAlgo> algos, bool threaded)
    : impl_(std::make_unique<Impl>(std::move(algos), threaded)) {}

MultiHasher::~MultiHasher() = default;

std::span<std::byte> MultiHasher::prepare(size_t max) {
  Impl& m = *impl_;
  m.check_open();
  if (max == 0) return {};
  if (m.cur && m.cur->size == kChunkSize) {
    throw_if_interrupted();
    m.flush(false);
  }
  if (!m.cur) m.cur = m.acquire();
  // The chunk's own storage is writable; `data` aliases it.
  std::byte* base = m.cur->storage.get();
  return {base + m.cur->size, std::min(max, kChunkSize - m.cur->size)};
}

void MultiHasher::commit(size_t n) {
  Impl& m = *impl_;
  m.check_open();
  if (!m.cur || n > kChunkSize - m.cur->size)
    throw Error(ErrorKind::Usage, "", "MultiHasher::commit(" + std::to_string(n) + ") exceeds prepare()");
  m.cur->size += n;
  m.bytes += n;
}

void MultiHasher::update(std::span<const std::byte> data) {
  Impl& m = *impl_;
  m.check_open();
  if (!m.threaded) {  // no copy: hash the caller's bytes directly
    m.flush(true);
    for (auto& d : m.digests) d.update(data);
    m.bytes += data.size();
    return;
  }
  while (!data.empty()) {
    auto dst = prepare(data.size());
    std::memcpy(dst.data(), data.data(), dst.size());
    commit(dst.size());
    data = data.subspan(dst.size());
  }
}

void MultiHasher::update_zeros(uint64_t len) {
  Impl& m = *impl_;
  m.check_open();
  if (len < kZeroCopyLimit) {
    while (len > 0) {
      auto dst = prepare(static_cast<size_t>(len));
      std::memset(dst.data(), 0, dst.size());
      commit(dst.size());
      len -= dst.size();
    }
    return;
  }
  m.flush(!m.threaded);
  while (len > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, kChunkSize));
    throw_if_interrupted();
    if (m.threaded) {
      // Not pooled (the static zeros outlive every thread); the queue depth
      // bounds how many are in flight.
      m.dispatch(std::make_shared<const Chunk>(Chunk{nullptr, kZeros, n}));
    } else {
      for (auto& d : m.digests) d.update({kZeros, n});
    }
    m.bytes += n;
    len -= n;
  }
}

std::vector<std::string> MultiHasher::finish_hex() {
  Impl& m = *impl_;
  m.check_open();
  m.finished = true;
  m.flush(true);
  m.stop(/*abort_work=*/false);
  {
    std::lock_guard lk(m.mu);
    if (m.error) std::rethrow_exception(m.error);
  }
  std::vector<std::string> out;
  out.reserve(m.digests.size());
  for (auto& d : m.digests) out.push_back(d.finish_hex());
  return out;
}

uint64_t MultiHasher::bytes() const noexcept {
  return impl_->bytes;
}
const std::vector<HashAlgo>& MultiHasher::algos() const noexcept {
  return impl_->algos;
}

}  // namespace imgtool
