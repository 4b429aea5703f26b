#pragma once
// qcow2 table entries: L1/L2 (standard and extended), compressed cluster
// descriptors and refcount entries (qcow2.txt "Cluster mapping", "Extended L2
// Entries", "Compressed Clusters Descriptor", "Host cluster management";
// qemu block/qcow2.h qcow2_get_cluster_type / qcow2_get_subcluster_type).
#include <cstdint>
#include <vector>

#include "formats/qcow2/qcow2_header.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {

inline constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ull;      // L1E/L2E_OFFSET_MASK
inline constexpr uint64_t kReftOffsetMask = 0xfffffffffffffe00ull;  // REFT_OFFSET_MASK
inline constexpr uint64_t kOflagCopied = 1ull << 63;
inline constexpr uint64_t kOflagCompressed = 1ull << 62;
inline constexpr uint64_t kOflagZero = 1ull;
inline constexpr uint64_t kL1ReservedMask = 0x7f000000000001ffull;
inline constexpr uint64_t kL2StdReservedMask = 0x3f000000000001feull;
inline constexpr uint64_t kSubclusters = 32;  // per cluster with extended L2

enum class ClusterType { Unallocated, ZeroPlain, ZeroAlloc, Normal, Compressed };

// qemu qcow2_get_cluster_type. With an external data file, offset 0 is a
// valid host offset; the COPIED flag tells it from "unallocated".
inline ClusterType cluster_type(const Header& h, uint64_t e) {
  if (e & kOflagCompressed) return ClusterType::Compressed;
  if ((e & kOflagZero) && !h.extended_l2)
    return (e & kOffsetMask) ? ClusterType::ZeroAlloc : ClusterType::ZeroPlain;
  if (!(e & kOffsetMask))
    return (h.has_data_file() && (e & kOflagCopied)) ? ClusterType::Normal : ClusterType::Unallocated;
  return ClusterType::Normal;
}

struct CompressedRef {
  uint64_t host_offset = 0;  // byte offset, not aligned
  uint64_t size = 0;         // bytes to read (512-byte-sector precision)
};

// qcow2.txt: x = 62 - (cluster_bits - 8); bits 0..x-1 host offset, bits
// x..61 additional 512-byte sectors (qemu qcow2_parse_compressed_l2_entry).
inline CompressedRef compressed_ref(const Header& h, uint64_t e) {
  const unsigned shift = 62 - (h.cluster_bits - 8);
  const uint64_t mask = (uint64_t(1) << (h.cluster_bits - 8)) - 1;
  CompressedRef r;
  r.host_offset = e & ((uint64_t(1) << shift) - 1);
  const uint64_t sectors = ((e >> shift) & mask) + 1;
  r.size = sectors * 512 - (r.host_offset & 511);
  return r;
}

// Refcount entry `index` of a refcount block (qcow2.txt: refcount_bits wide,
// big-endian for >= 8 bits; sub-byte widths are packed LSB first).
inline uint64_t refcount_at(io::Bytes block, uint64_t index, uint32_t order) {
  const uint64_t bits = uint64_t(1) << order;
  if (order < 3) {
    const uint64_t bit = index * bits;
    const uint8_t byte = io::load_u8(block, bit / 8);
    return (byte >> (bit % 8)) & ((1u << bits) - 1);
  }
  const size_t at = index * (bits / 8);
  switch (order) {
    case 3: return io::load_u8(block, at);
    case 4: return io::load_be16(block, at);
    case 5: return io::load_be32(block, at);
    default: return io::load_be64(block, at);
  }
}

// One L2 table decoded to host-endian words: for standard L2, one word per
// entry; for extended L2, two (entry, subcluster bitmap).
using L2Table = std::vector<uint64_t>;

}  // namespace imgtool::qcow2
