#pragma once
// Reading qcow2 tables (L1, bitmap and refcount tables, L2 tables, refcount
// blocks) whose size comes from the image: in bounded pieces, and without
// reading holes. A hole reads as zeros, and a zero entry means "nothing here"
// in every qcow2 table (qcow2.txt: unallocated L2 table / cluster / refcount
// block, refcount 0), so skipping holes changes no result; it keeps a table
// that is all hole (a sparse file padded to terabytes, a crafted table size)
// from costing a read of its nominal size.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/source.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {

// Largest piece read at once (the buffer the caller's memory is bounded by).
inline constexpr uint64_t kTablePiece = 1u << 20;

// True when [offset, offset+len) is one hole of `src` (len > 0, inside the file).
inline bool is_hole(const ByteSource& src, uint64_t offset, uint64_t len) {
  return src.next_data(offset) - offset >= len;
}

// Calls fn(rel, bytes) for the parts of [offset, offset+len) that hold data,
// in order, in pieces of at most kTablePiece bytes; `rel` is the offset of
// the piece from `offset` and a multiple of 8 (entries are 8 bytes; table
// offsets are multiples of 512, hole boundaries multiples of the file system
// block). The range must lie inside the file. Polls for interrupts per piece.
template <class Fn>
void for_each_present(const ByteSource& src, uint64_t offset, uint64_t len, Fn&& fn) {
  std::vector<std::byte> buf;
  uint64_t rel = 0;
  while (rel < len) {
    throw_if_interrupted();
    uint64_t data = src.next_data(offset + rel) - offset;  // first data byte at or after rel
    if (data >= len) return;
    data -= data % 8;
    uint64_t hole = std::min(len, src.next_hole(offset + data) - offset);
    if (hole <= data) hole = len;  // a source that knows no holes
    uint64_t n = std::min(hole, data + kTablePiece) - data;
    if (n % 8 != 0) n = std::min(len - data, io::align_up(n, 8));  // whole entries
    buf.resize(static_cast<size_t>(n));
    src.read_exact(offset + data, buf);
    fn(data, io::Bytes(buf));
    rel = data + n;
  }
}

}  // namespace imgtool::qcow2
