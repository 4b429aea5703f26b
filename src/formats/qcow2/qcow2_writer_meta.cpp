// qcow2 metadata encoding for the writer: the header cluster and refcounts
// (qemu docs/interop/qcow2.txt "Header", "Host cluster management").
#include <climits>

#include "formats/qcow2/qcow2_header.hpp"
#include "formats/qcow2/qcow2_layout.hpp"
#include "formats/qcow2/qcow2_writer.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {

std::vector<std::byte> encode_header(const WriterOptions& o, const HeaderLayout& h) {
  std::vector<std::byte> c(static_cast<size_t>(o.cluster_size()));
  std::span<std::byte> b(c);
  io::store_be32(b, hdr::kMagic, kMagic);
  io::store_be32(b, hdr::kVersion, o.version);
  // No backing file (a converted image is self-contained), no encryption.
  io::store_be32(b, hdr::kClusterBits, o.cluster_bits);
  io::store_be64(b, hdr::kSize, h.virtual_size);
  io::store_be32(b, hdr::kL1Size, h.l1_size);
  io::store_be64(b, hdr::kL1TableOffset, h.l1_offset);
  io::store_be64(b, hdr::kRefcountTableOffset, h.reftable_offset);
  io::store_be32(b, hdr::kRefcountTableClusters, h.reftable_clusters);
  // No snapshots.
  if (o.version >= 3) {
    // The compression type field is used only for zstd.
    io::store_be64(b, hdr::kIncompatibleFeatures, o.zstd ? kIncompatCompression : 0);
    io::store_be64(b, hdr::kCompatibleFeatures, o.lazy_refcounts ? kCompatLazyRefcounts : 0);
    // No autoclear features.
    io::store_be32(b, hdr::kRefcountOrder, o.refcount_order);
    // What qemu writes: the compression type byte, padded to 8.
    io::store_be32(b, hdr::kHeaderLength, static_cast<uint32_t>(hdr::kV3Length));
    c[hdr::kCompressionType] = std::byte{o.zstd ? kCompressionZstd : kCompressionZlib};
  }
  // Header extensions start right after the header: all zeros = end marker.
  return c;
}

void store_refcount(std::span<std::byte> block, uint64_t index, uint64_t value, uint32_t order) {
  const uint32_t bits = uint32_t{1} << order;
  if (bits < 8) {
    const uint64_t per_byte = 8 / bits;
    const size_t byte = static_cast<size_t>(index / per_byte);
    const uint32_t shift = static_cast<uint32_t>((index % per_byte) * bits);
    const uint8_t mask = static_cast<uint8_t>(((1u << bits) - 1) << shift);
    io::need(block, byte, 1);
    uint8_t cur = static_cast<uint8_t>(block[byte]);
    cur = static_cast<uint8_t>((cur & ~mask) | ((value << shift) & mask));
    block[byte] = std::byte{cur};
    return;
  }
  const size_t width = bits / 8;
  const size_t off = static_cast<size_t>(index * width);
  io::need(block, off, width);
  for (size_t i = 0; i < width; ++i) block[off + i] = std::byte(value >> (8 * (width - 1 - i)));
}

RefcountLayout refcount_layout(uint64_t clusters_before, uint64_t cluster_size, uint32_t refcount_order) {
  const uint64_t per_block = cluster_size * CHAR_BIT / (uint64_t{1} << refcount_order);
  const uint64_t per_table_cluster = cluster_size / kReftableEntryBytes;
  RefcountLayout l;
  // Monotone: each round can only grow; converges in a few rounds.
  for (int round = 0; round < 64; ++round) {
    const uint64_t total = clusters_before + l.table_clusters + l.block_clusters;
    RefcountLayout n;
    n.block_clusters = io::div_round_up(total, per_block);
    n.table_clusters = io::div_round_up(n.block_clusters, per_table_cluster);
    if (n.block_clusters == l.block_clusters && n.table_clusters == l.table_clusters) return l;
    l = n;
  }
  throw Error(ErrorKind::Usage, "", "qcow2 refcount layout did not converge");
}

}  // namespace imgtool::qcow2
