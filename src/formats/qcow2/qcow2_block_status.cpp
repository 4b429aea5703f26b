// Qcow2Image::block_status: what qemu's qcow2 driver answers for a guest
// range (block/qcow2.c qcow2_co_block_status over qcow2_get_host_offset):
// one answer never leaves the L2 table of its first cluster, covers
// (sub)clusters of one type, with contiguous host offsets where the type has
// one, and a compressed cluster is always an answer of its own.
#include <algorithm>

#include "formats/qcow2/qcow2_check_refs.hpp"
#include "formats/qcow2/qcow2_reader.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {
namespace {

// qemu's QCow2SubclusterType.
enum class Sub { UnallocPlain, UnallocAlloc, ZeroPlain, ZeroAlloc, Normal, Compressed };

bool has_host(Sub t) {
  return t == Sub::Normal || t == Sub::ZeroAlloc || t == Sub::UnallocAlloc;
}

}  // namespace

// qemu (block/qcow2-refcount.c qcow2_detect_metadata_preallocation): an image
// that refcounts clearly more clusters than its file has allocated was made
// with preallocation=metadata; its data clusters may be holes in the file,
// and qemu asks the file whether they read as zeros (BDRV_BLOCK_RECURSE).
bool Qcow2Image::metadata_preallocated() const {
  std::call_once(prealloc_once_, [this] {
    const uint64_t cs = h_.cluster_size;
    const uint64_t real_clusters = src_->allocated_size() / cs;
    const uint64_t threshold = std::max(real_clusters * 10 / 9, real_clusters + 2);
    const uint64_t end = io::div_round_up(src_->size(), cs);
    check::Findings ignored;  // check() reports what is wrong with the refcounts
    check::Refcounts refs(h_, *src_, ignored);
    uint64_t count = 0;
    for (uint64_t i = 0; i < end && count < threshold; ++i) count += refs.lookup(i) != 0 ? 1 : 0;
    metadata_prealloc_ = count >= threshold;
  });
  return metadata_prealloc_;
}

BlockStatus Qcow2Image::block_status(uint64_t offset, uint64_t max_len) const {
  const uint64_t vsize = h_.size;
  if (offset >= vsize || max_len == 0)
    throw Error(ErrorKind::Usage, src_->name(), "block_status() past the virtual size", offset);
  const uint64_t cs = h_.cluster_size;
  const uint64_t per_l1 = h_.l2_entries * cs;
  const uint64_t l1_index = offset / per_l1;
  // One answer stays inside one L2 table (qcow2_get_host_offset: bytes_available).
  const uint64_t end = std::min({offset + std::min(max_len, vsize - offset), (l1_index + 1) * per_l1});
  const uint64_t unit = h_.extended_l2 ? cs / kSubclusters : cs;
  const uint64_t l2_off = l1().at(l1_index) & kOffsetMask;
  std::shared_ptr<const L2Table> table;
  if (l2_off != 0) table = l2_table(l2_off, l1_index);

  // The type and host offset of the unit holding guest `pos`.
  const auto classify = [&](uint64_t pos, uint64_t* host) -> Sub {
    *host = 0;
    if (!table) return Sub::UnallocPlain;
    const uint64_t idx = (pos / cs) % h_.l2_entries;
    const uint64_t e = (*table)[idx * (h_.l2_entry_bytes / 8)];
    const uint64_t cluster_start = pos - pos % cs;
    const ClusterType ct = cluster_type(h_, e);
    const uint64_t entry_at = l2_off + idx * h_.l2_entry_bytes;
    if (ct == ClusterType::Compressed) {
      *host = compressed_ref(h_, e).host_offset;
      return Sub::Compressed;
    }
    const uint64_t base = e & kOffsetMask;
    if ((ct == ClusterType::Normal || ct == ClusterType::ZeroAlloc) && base % cs != 0)
      throw Error(ErrorKind::Format, src_->name(),
                  "data cluster offset " + io::hex(base) + " for guest offset " + io::hex(cluster_start) +
                      " is not cluster aligned",
                  entry_at);
    *host = base + (pos - cluster_start);
    if (!h_.extended_l2) {
      switch (ct) {
        case ClusterType::Normal: return Sub::Normal;
        case ClusterType::ZeroAlloc: return Sub::ZeroAlloc;
        case ClusterType::ZeroPlain: return Sub::ZeroPlain;
        default: return Sub::UnallocPlain;
      }
    }
    // qemu qcow2_get_subcluster_type: zero bits 32..63, allocation bits 0..31.
    const uint64_t bitmap = (*table)[idx * 2 + 1];
    const uint64_t alloc = bitmap & 0xffffffffu, zero = bitmap >> 32;
    const uint64_t bit = uint64_t(1) << ((pos - cluster_start) / unit);
    if ((ct == ClusterType::Normal && (alloc & zero)) || (ct != ClusterType::Normal && alloc))
      throw Error(
          ErrorKind::Format, src_->name(),
          "invalid subcluster bitmap " + io::hex(bitmap) + " for guest offset " + io::hex(cluster_start),
          entry_at + 8);
    if (ct == ClusterType::Normal)
      return (zero & bit) ? Sub::ZeroAlloc : (alloc & bit) ? Sub::Normal : Sub::UnallocAlloc;
    return (zero & bit) ? Sub::ZeroPlain : Sub::UnallocPlain;
  };

  uint64_t host0 = 0;
  const Sub t = classify(offset, &host0);
  uint64_t pos = std::min(end, offset - offset % unit + unit);
  if (t == Sub::Compressed) {
    pos = std::min(end, offset - offset % cs + cs);
  } else {
    for (uint64_t guard = 0; pos < end && guard <= h_.l2_entries * kSubclusters; ++guard) {
      uint64_t host = 0;
      if (classify(pos, &host) != t || (has_host(t) && host != host0 + (pos - offset))) break;
      pos = std::min(end, pos + unit);
    }
  }

  BlockStatus s;
  s.offset = offset;
  s.length = pos - offset;
  s.compressed = t == Sub::Compressed;
  s.data = t == Sub::Normal || t == Sub::Compressed;
  s.zero = t == Sub::ZeroPlain || t == Sub::ZeroAlloc;
  s.allocated = s.data || s.zero;
  // Unallocated without a backing file reads as zeros (block/io.c); with one,
  // the flattened image (backed_image.cpp) asks the backing file.
  if (!s.allocated && !h_.backing_file) s.zero = true;
  if (has_host(t) && h_.crypt_method == 0) {
    s.host_offset = host0;
    s.file = data_src_ ? data_src_->name() : src_->name();
    if (s.data && metadata_preallocated()) {
      // block/io.c: the file's own status at the host offset; a hole (or the
      // end of the file) reads as zeros, a data run bounds the answer.
      const ByteSource& f = data_src_ ? *data_src_ : *src_;
      if (host0 >= f.size()) {
        s.zero = true;
      } else if (const uint64_t data = f.next_data(host0); data > host0) {
        s.zero = true;
        if (data < f.size()) s.length = std::min(s.length, data - host0);
      } else {
        s.length = std::min(s.length, std::max(f.next_hole(host0), host0 + 1) - host0);
      }
    }
  }
  return s;
}

}  // namespace imgtool::qcow2
