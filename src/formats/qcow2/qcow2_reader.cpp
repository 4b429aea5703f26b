// qcow2 reader: probe, open, map and read (qcow2.txt "Cluster mapping";
// qemu block/qcow2-cluster.c qcow2_get_host_offset, block/qcow2.c
// qcow2_co_preadv_part). Guest offsets walk L1 -> L2 -> (sub)cluster.
#include "formats/qcow2/qcow2_reader.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "formats/driver.hpp"
#include "formats/gate.hpp"
#include "formats/qcow2/qcow2_decompress.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {
namespace {

constexpr size_t kCacheBytes = 32u << 20;  // L2 cache budget

[[noreturn]] void fail(const ByteSource& src, std::string msg, uint64_t off) {
  throw Error(ErrorKind::Format, src.name(), std::move(msg), off);
}

}  // namespace

Qcow2Image::Qcow2Image(std::shared_ptr<const ByteSource> src, formats::Gate& gate)
    : src_(std::move(src)), h_(read_header(*src_)) {
  snapshots_ = read_snapshots(*src_, h_, &snapshot_table_bytes_);
  bitmaps_ = read_bitmap_directory(*src_, h_);
  info_ = build_info(*src_, h_, snapshots_, bitmaps_);
  cache_capacity_ = std::max<size_t>(1, kCacheBytes / h_.cluster_size);
  if (h_.has_data_file()) data_src_ = gate.open({FileRole::DataFile, h_.data_file.value_or("")});
}

const std::vector<uint64_t>& Qcow2Image::l1() const {
  std::call_once(l1_once_, [this] {
    // Offset, size cap and file size were validated at open.
    std::vector<std::byte> raw = src_->read_vector(h_.l1_table_offset, uint64_t(h_.l1_size) * 8);
    std::vector<uint64_t> t(h_.l1_size);
    for (size_t i = 0; i < t.size(); ++i) t[i] = io::load_be64(raw, i * 8);
    l1_ = std::move(t);
  });
  return l1_;
}

std::shared_ptr<const L2Table> Qcow2Image::l2_table(uint64_t l2_offset, uint64_t l1_index) const {
  {
    std::lock_guard<std::mutex> lk(cache_mu_);
    auto it = cache_.find(l2_offset);
    if (it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.pos);
      return it->second.table;
    }
  }
  if (l2_offset % h_.cluster_size != 0)
    fail(*src_,
         "L2 table offset " + io::hex(l2_offset) + " (L1 index " + std::to_string(l1_index) +
             ") is not cluster aligned",
         h_.l1_table_offset + l1_index * 8);
  if (l2_offset > h_.file_size || h_.cluster_size > h_.file_size - l2_offset)
    fail(*src_,
         "L2 table at " + io::hex(l2_offset) + " (L1 index " + std::to_string(l1_index) +
             ") ends past end of file (" + std::to_string(h_.file_size) + " B)",
         l2_offset);
  std::vector<std::byte> raw = src_->read_vector(l2_offset, h_.cluster_size);
  auto t = std::make_shared<L2Table>(h_.cluster_size / 8);
  for (size_t i = 0; i < t->size(); ++i) (*t)[i] = io::load_be64(raw, i * 8);
  std::lock_guard<std::mutex> lk(cache_mu_);
  auto it = cache_.find(l2_offset);
  if (it != cache_.end()) return it->second.table;  // another thread was faster
  lru_.push_front(l2_offset);
  cache_.emplace(l2_offset, CacheSlot{t, lru_.begin()});
  while (cache_.size() > cache_capacity_) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
  return t;
}

Run Qcow2Image::resolve(uint64_t offset, uint64_t max_len, bool host_contiguous) const {
  const uint64_t vsize = h_.size;
  if (offset >= vsize || max_len == 0)
    throw Error(ErrorKind::Usage, src_->name(), "map() past the virtual size", offset);
  uint64_t end = offset + std::min(max_len, vsize - offset);
  const uint64_t cs = h_.cluster_size;
  const uint64_t per_l1 = h_.l2_entries * cs;
  // Read once from a stream, the next L2 table usually comes after all the
  // data of this one: looking at it now would hold that data in the spool.
  if (src_->one_pass()) end = std::min(end, (offset / per_l1 + 1) * per_l1);
  const uint64_t sc_size = cs / kSubclusters;
  const std::vector<uint64_t>& l1t = l1();

  Run r;
  std::shared_ptr<const L2Table> table;
  uint64_t table_off = 0;
  for (uint64_t cur = offset; cur < end;) {
    Run u;
    uint64_t unit_end;
    const uint64_t l1_index = cur / per_l1;
    const uint64_t l2_off = l1t.at(l1_index) & kOffsetMask;
    if (l2_off == 0) {
      u.kind = ExtentKind::Unallocated;
      unit_end = std::min(end, (l1_index + 1) * per_l1);
    } else {
      if (!table || table_off != l2_off) {
        table = l2_table(l2_off, l1_index);
        table_off = l2_off;
      }
      const uint64_t idx = (cur / cs) % h_.l2_entries;
      const uint64_t e = (*table)[idx * (h_.l2_entry_bytes / 8)];
      const uint64_t bitmap = h_.extended_l2 ? (*table)[idx * 2 + 1] : 0;
      const uint64_t cluster_start = cur - cur % cs;
      const ClusterType ct = cluster_type(h_, e);
      unit_end = std::min(end, cluster_start + cs);
      uint64_t host = e & kOffsetMask;
      const uint64_t entry_at = l2_off + idx * h_.l2_entry_bytes;
      if ((ct == ClusterType::Normal || ct == ClusterType::ZeroAlloc) && host % cs != 0)
        fail(*src_,
             "data cluster offset " + io::hex(host) + " for guest offset " + io::hex(cluster_start) +
                 " is not cluster aligned",
             entry_at);
      if (ct == ClusterType::Compressed) {
        u.kind = ExtentKind::Data;
        u.compressed = true;
        u.l2_entry = e;
      } else if (!h_.extended_l2) {
        u.kind = ct == ClusterType::Normal        ? ExtentKind::Data
                 : ct == ClusterType::Unallocated ? ExtentKind::Unallocated
                                                  : ExtentKind::Zero;
        u.host_offset = host + (cur - cluster_start);
      } else {
        // qemu qcow2_get_subcluster_type: zero bits 32..63, allocation bits 0..31.
        const uint64_t alloc = bitmap & 0xffffffffu, zero = bitmap >> 32;
        if ((ct == ClusterType::Normal && (alloc & zero)) || (ct == ClusterType::Unallocated && alloc))
          fail(*src_,
               "invalid subcluster bitmap " + io::hex(bitmap) + " for guest offset " + io::hex(cluster_start),
               entry_at + 8);
        const uint64_t sc = (cur - cluster_start) / sc_size;
        unit_end = std::min(end, cluster_start + (sc + 1) * sc_size);
        if (zero & (uint64_t(1) << sc)) {
          u.kind = ExtentKind::Zero;
        } else if (ct == ClusterType::Normal && (alloc & (uint64_t(1) << sc))) {
          u.kind = ExtentKind::Data;
          u.host_offset = host + (cur - cluster_start);
        } else {
          u.kind = ExtentKind::Unallocated;
        }
      }
    }
    u.length = unit_end - cur;
    if (cur == offset) {
      r = u;
    } else {
      if (u.kind != r.kind || u.compressed != r.compressed) break;
      if (host_contiguous && u.kind == ExtentKind::Data &&
          (u.compressed || u.host_offset != r.host_offset + r.length))
        break;
      r.length += u.length;
    }
    cur = unit_end;
  }
  return r;
}

Extent Qcow2Image::map(uint64_t offset, uint64_t max_len) const {
  Run r = resolve(offset, max_len, false);
  return {offset, r.length, r.kind, r.compressed};
}

void Qcow2Image::read_data(uint64_t guest, uint64_t host, std::span<std::byte> out) const {
  const ByteSource& s = data_src_ ? *data_src_ : *src_;
  auto past_eof = [&](uint64_t fsize) {
    throw Error(ErrorKind::Format, s.name(),
                "data for guest offset " + io::hex(guest) + " at host offset " + io::hex(host) +
                    " is past end of file (" + std::to_string(fsize) + " B)",
                host);
  };
  // A stream that has not ended yet is checked after the read (which ends it
  // when the offset is past its end).
  if (std::optional<uint64_t> fsize = s.known_size(); fsize && host >= *fsize) past_eof(*fsize);
  // A cluster that starts inside the file but is cut short reads as zeros past
  // EOF, as in qemu (block/io.c zero-fills reads beyond the file end).
  size_t n = s.read_at(host, out);
  if (n == 0 && !out.empty()) past_eof(s.size());
  std::memset(out.data() + n, 0, out.size() - n);
  s.consumed(host, n);
}

void Qcow2Image::read_compressed(uint64_t guest, uint64_t l2_entry, std::span<std::byte> out) const {
  const CompressedRef c = compressed_ref(h_, l2_entry);
  const uint64_t cs = h_.cluster_size;
  const uint64_t cluster_start = guest - guest % cs;
  if (c.host_offset >= h_.file_size)
    fail(*src_,
         "compressed cluster for guest offset " + io::hex(cluster_start) + " at host offset " +
             io::hex(c.host_offset) + " is past end of file (" + std::to_string(h_.file_size) + " B)",
         c.host_offset);
  // The stored length is rounded up to 512-byte sectors and may reach past EOF.
  // (From a stream of unknown size: as much of it as arrives; the length is
  // bounded by the entry's bit field, at most a cluster and a sector.)
  std::vector<std::byte> in(static_cast<size_t>(std::min(c.size, h_.file_size - c.host_offset)));
  std::optional<Error> cut;  // what stopped the read short of the stored size
  try {
    in.resize(src_->read_at(c.host_offset, in));
  } catch (const Error& e) {
    // Read once from a stream, the last sector of the stored size may hold
    // the start of the next compressed cluster, which another worker may have
    // read and released already: what is needed ends before it.
    if (e.kind() != ErrorKind::Unsupported || !e.offset() || *e.offset() <= c.host_offset ||
        *e.offset() - c.host_offset >= in.size())
      throw;
    cut = e;
    in.resize(static_cast<size_t>(*e.offset() - c.host_offset));
    in.resize(src_->read_at(c.host_offset, in));
  }
  if (in.empty())
    fail(*src_,
         "compressed cluster for guest offset " + io::hex(cluster_start) + " at host offset " +
             io::hex(c.host_offset) + " is past end of file (" + std::to_string(src_->size()) + " B)",
         c.host_offset);
  std::vector<std::byte> cluster(cs);
  size_t used = 0;
  if (!decompress_cluster(h_.compression_type, in, cluster, &used)) {
    if (cut) throw *cut;  // the stream needed the bytes that were passed on
    fail(*src_,
         std::string("compressed cluster for guest offset ") + io::hex(cluster_start) + " at host offset " +
             io::hex(c.host_offset) + " (" + std::to_string(c.size) + " B) does not decompress (" +
             (h_.compression_type == 1 ? "zstd" : "zlib") + ") to " + std::to_string(cs) + " B",
         c.host_offset);
  }
  std::memcpy(out.data(), cluster.data() + (guest - cluster_start), out.size());
  // Exactly the bytes the stream took: the next compressed cluster may start
  // inside this one's last sector. A read of part of a cluster frees nothing
  // (the rest of it is still to come).
  if (out.size() == cs) src_->consumed(c.host_offset, used);
}

void Qcow2Image::read(uint64_t offset, std::span<std::byte> out) const {
  uint64_t end;
  if (io::add_overflows(offset, out.size(), &end) || end > h_.size)
    throw Error(ErrorKind::Usage, src_->name(), "read past the virtual size", offset);
  if (h_.crypt_method != 0)
    throw Error(ErrorKind::Unsupported, src_->name(),
                std::string("reading encrypted qcow2 images (") + (h_.crypt_method == 1 ? "AES" : "LUKS") +
                    ") is not supported");
  if (h_.has_data_file() && !data_src_)
    throw Error(
        ErrorKind::Unsafe, src_->name(),
        "guest data lives in the external data file '" + escape_name(h_.data_file.value_or("")) +
            "', which was not opened (needs --allow-external-files and a plain name beside the image)");
  uint64_t pos = offset;
  while (pos < end) {
    Run r = resolve(pos, end - pos, true);
    std::span<std::byte> part = out.subspan(pos - offset, r.length);
    if (r.kind != ExtentKind::Data)
      std::memset(part.data(), 0, part.size());  // unallocated with a backing file: the caller decides
    else if (r.compressed)
      read_compressed(pos, r.l2_entry, part);
    else
      read_data(pos, r.host_offset, part);
    pos += r.length;
  }
}

CheckReport Qcow2Image::check() const {
  CheckReport r = run_check(*this);
  // Glance's inspector refuses any incompatible feature bit above 3
  // ("unknown_features"); extended L2 entries are bit 4. A valid image that
  // Glance answers with HTTP 415: a note for imgtool's own reading, unsafe to
  // hand over (assess() raises GlanceRule findings then).
  if (h_.extended_l2)
    r.findings.push_back({Severity::Note, FindingKind::GlanceRule,
                          "extended L2 entries (incompatible feature bit 4): Glance refuses the image "
                          "(unknown_features); imgtool convert -O qcow2 writes an image without them"});
  return r;
}

}  // namespace imgtool::qcow2

namespace imgtool::formats {

// qemu qcow2_probe: magic and version >= 2 → 100.
int qcow2_probe(const ProbeInput& in) noexcept {
  if (in.head.size() < 8) return 0;
  try {
    if (io::load_be32(in.head, qcow2::hdr::kMagic) == qcow2::kMagic &&
        io::load_be32(in.head, qcow2::hdr::kVersion) >= 2)
      return 100;
  } catch (...) {
  }
  return 0;
}

std::unique_ptr<Image> qcow2_open(std::shared_ptr<const ByteSource> src, Gate& gate) {
  return std::make_unique<qcow2::Qcow2Image>(std::move(src), gate);
}

}  // namespace imgtool::formats
