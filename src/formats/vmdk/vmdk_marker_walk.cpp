// The streamOptimized marker walk (vmdk_marker_walk.hpp). A grain marker is
// {u64 lba, u32 size} and `size` bytes of deflate stream, padded to the next
// sector; a special marker is {u64 sectors, u32 0, u32 type} padded to a
// sector and followed by `sectors` sectors of metadata (grain table, grain
// directory, footer). Only the 12 bytes of a grain marker's head are read
// here: its data is the reader's, and a one-pass source frees it once read.
#include "formats/vmdk/vmdk_marker_walk.hpp"

#include <algorithm>
#include <array>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

std::string num(uint64_t v) {
  return std::to_string(v);
}

// More sectors of metadata than a grain directory of kMaxGdEntries takes.
constexpr uint64_t kMaxSpecialSectors = kMaxGdEntries * kTableEntryBytes / kSector + 1;

}  // namespace

MarkerWalk::MarkerWalk(const ByteSource& src, const SparseHeader& h, const SparseGeometry& g)
    : src_(src),
      h_(h),
      geo_(g),
      grains_(io::div_round_up(g.capacity_bytes, g.grain_bytes)),
      pos_(h.overhead * kSector) {}  // overHead <= file size / 512 (validate_sparse_header)

void MarkerWalk::fail(const std::string& msg, uint64_t off) const {
  throw Error(ErrorKind::Format, src_.name(), msg, off);
}

std::optional<uint64_t> MarkerWalk::find(uint64_t g) {
  std::lock_guard<std::mutex> lock(mu_);
  for (;;) {
    if (auto it = sectors_.find(g); it != sectors_.end()) return it->second;
    if (ended_ || (max_seen_ && *max_seen_ > g)) {
      answered_none_ = std::max(answered_none_.value_or(g), g);
      return std::nullopt;
    }
    step();
  }
}

bool MarkerWalk::step() {
  throw_if_interrupted();
  std::array<std::byte, marker::kSpecialHeaderBytes> head{};
  const std::span<std::byte> grain_head = std::span<std::byte>(head).first(marker::kGrainHeaderBytes);
  if (src_.read_at(pos_, grain_head) != grain_head.size())
    fail("the stream ends at " + num(pos_) + " without an end-of-stream marker", pos_);
  const uint64_t val = io::load_le64(io::Bytes(head), marker::kVal);
  const uint32_t size = io::load_le32(io::Bytes(head), marker::kSize);
  if (size != 0) {
    if (size > max_compressed_grain_bytes(geo_))
      fail("grain marker at " + io::hex(pos_) + " has data size " + num(size) + " (expected 1.." +
               num(max_compressed_grain_bytes(geo_)) + ")",
           pos_);
    if (val % h_.grain_size != 0 || val / h_.grain_size >= grains_)
      fail("grain marker at " + io::hex(pos_) + " names LBA " + num(val) + ", not the start of one of the " +
               num(grains_) + " grains of " + num(h_.grain_size) + " sectors",
           pos_);
    const uint64_t g = val / h_.grain_size;
    if (sectors_.count(g))
      fail("grain " + num(g) + " (LBA " + num(val) + ") appears twice in the stream, again at " +
               io::hex(pos_),
           pos_);
    if (answered_none_ && g <= *answered_none_)
      throw Error(ErrorKind::Unsupported, src_.name(),
                  "grain " + num(g) + " (guest offset " + io::hex(g * geo_.grain_bytes) +
                      ") arrives after later grains were read: this streamOptimized image is not in guest "
                      "order, which reading it from a stream needs",
                  pos_);
    sectors_.emplace(g, pos_ / kSector);
    max_seen_ = std::max(max_seen_.value_or(g), g);
    pos_ = io::align_up(pos_ + marker::kGrainHeaderBytes + size, kSector);
    return true;
  }
  const std::span<std::byte> type_bytes = std::span<std::byte>(head).subspan(marker::kType, 4);
  if (src_.read_at(pos_ + marker::kType, type_bytes) != type_bytes.size())
    fail("the stream ends inside the marker at " + io::hex(pos_), pos_);
  const uint32_t type = io::load_le32(io::Bytes(head), marker::kType);
  switch (type) {
    case kMarkerEos: ended_ = true; return false;
    case kMarkerGt:
    case kMarkerGd:
    case kMarkerFooter:
      if (val > kMaxSpecialSectors)
        fail("marker of type " + num(type) + " at " + io::hex(pos_) + " announces " + num(val) +
                 " sectors of metadata (limit " + num(kMaxSpecialSectors) + ")",
             pos_);
      pos_ += (1 + val) * kSector;
      return true;
    default:
      fail("marker at " + io::hex(pos_) + " has unknown type " + num(type) + " (0..3 are defined)", pos_);
  }
}

}  // namespace imgtool::vmdk
