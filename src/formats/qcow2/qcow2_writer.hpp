#pragma once
// qcow2 target writer internals (qemu docs/interop/qcow2.txt; qemu's own
// choices from block/qcow2.c qcow2_co_create and block/qcow2-threads.c). The
// on-disk constants are the reader's: qcow2_layout.hpp (header offsets,
// magic, compression types), qcow2_header.hpp (feature bits, caps) and
// qcow2_tables.hpp (L1/L2 entry flags).
//   qcow2_writer_options.cpp  -o parsing with qemu-img's names and rules
//   qcow2_writer_meta.cpp     header, refcount encoding, refcount layout
//   qcow2_compress.cpp        zlib (raw deflate) / zstd cluster compression
//   qcow2_writer.cpp          the writer: layouts and the data stream
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/target_writer.hpp"

namespace imgtool::qcow2 {

struct WriterOptions {
  uint32_t version = 3;         // compat=1.1 (qemu's default) -> 3, compat=0.10 -> 2
  uint32_t cluster_bits = 16;   // cluster_size=65536
  uint32_t refcount_order = 4;  // refcount_bits=16
  bool lazy_refcounts = false;
  bool zstd = false;               // compression_type=zstd
  bool prealloc_metadata = false;  // preallocation=metadata
  bool compress = false;           // -c
  uint64_t cluster_size() const { return uint64_t{1} << cluster_bits; }
};

WriterOptions parse_writer_options(const convert::TargetOptions& opts, const std::string& target);

// The header cluster (cluster 0) contents: header fields, then the end of the
// extension list (zeros).
struct HeaderLayout {
  uint64_t virtual_size = 0;
  uint64_t l1_offset = 0;
  uint32_t l1_size = 0;
  uint64_t reftable_offset = 0;
  uint32_t reftable_clusters = 0;
};
std::vector<std::byte> encode_header(const WriterOptions& o, const HeaderLayout& h);

// Stores refcount `value` for entry `index` of a refcount block: sub-byte
// widths are packed LSB first, >= 8 bits big-endian (qcow2.txt; qemu
// qcow2-refcount.c set_refcount_ro*).
void store_refcount(std::span<std::byte> block, uint64_t index, uint64_t value, uint32_t order);

// The self-describing refcount structure for `clusters_before` clusters plus
// the reftable and refblocks themselves (a fixed point: more blocks -> more
// clusters to count).
struct RefcountLayout {
  uint64_t table_clusters = 0;
  uint64_t block_clusters = 0;
};
RefcountLayout refcount_layout(uint64_t clusters_before, uint64_t cluster_size, uint32_t refcount_order);

// Compresses one full cluster; returns an empty vector when the result would
// not be smaller than the cluster (qemu stores such clusters uncompressed:
// qcow2_co_pwritev_compressed_task accepts at most cluster_size - 1 bytes).
std::vector<std::byte> compress_cluster(bool zstd, std::span<const std::byte> cluster);

}  // namespace imgtool::qcow2
