// streamOptimized VMDK, written strictly forward (VMware "Virtual Disk Format
// 5.0", stream-optimized compressed sparse extents; open-vmdk vmdk/sparse.c):
//
//   sector 0        header: version 3, flags newline|compressed|markers,
//                   gdOffset = GD_AT_END (the real one is in the footer)
//   sectors 1..20   embedded descriptor
//   ... 127         zero padding: grains start at overHead = 128 (64 KiB)
//   grains          {lba u64, size u32, zlib stream} padded to a sector, in
//                   guest order; all-zero grains are never written
//   per GT          GT marker {val 4, type 1} + 512 u32 GTEs (sector of each
//                   grain marker), written once the guest offset moves past
//                   its 32 MiB; a GT without grains is not written (GDE 0)
//   GD marker       {val = GD sectors, type 2} + GD (sector of each GT)
//   footer          marker {val 1, type 3} + header copy with the real gdOffset
//   EOS             marker {0, 0, 0}
//
// So the whole file goes through any ByteSink (an upload body, a hash tee).
// The descriptor's CID is derived from the data (DescriptorStamp): on a file
// it is patched at the end, on a stream it comes from a plan pass over the
// source (needs_plan()), so a stream reads the source twice.
// When the sink is a seekable file, end() also patches the real gdOffset into
// the first header: the footer stays valid for VMware and qemu, and Glance's
// format inspector before 2024.2 (e.g. Debian 12's glance 25), which refuses
// GD_AT_END headers ("Unsupported VMDK footer"), accepts the file.
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "formats/vmdk/vmdk_writer.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

constexpr uint64_t kStreamOverhead = kGrainSectors;  // first grain at 64 KiB, like VMware's own streams
constexpr uint64_t kGrainMarkerBytes = marker::kGrainHeaderBytes;
// 64 TiB: the GD stays below 8 MiB of memory; VMware's own limit is 62 TB.
constexpr uint64_t kMaxStreamCapacity = (uint64_t{64} << 40) / kSector;

class StreamWriter final : public convert::TargetWriter {
 public:
  StreamWriter(ByteSink& sink, WriterOptions o) : sink_(sink), opts_(std::move(o)) {}

  uint64_t cluster_size() const override { return kGrainBytes; }
  bool compresses() const override { return true; }
  // Every grain is deflated: its size, so the file's, depends on the data.
  std::optional<uint64_t> planned_size(const convert::TargetPlan&) const override { return std::nullopt; }
  // The descriptor (with the CID, derived from the data) comes before the
  // data: on a stream the digest must come from a plan pass. Files get one
  // pass and a patched descriptor.
  bool needs_plan() const override { return !sink_.seekable(); }
  bool wants_content_digest() const override { return true; }
  void set_content_digest(const convert::ContentDigest& d) override { stamp_.set_digest(d); }

  void begin(const convert::TargetPlan& plan) override {
    virtual_size_ = plan.virtual_size;
    capacity_ = capacity_sectors(plan.virtual_size, kMaxStreamCapacity, sink_.name());
    const uint64_t grains = io::div_round_up(capacity_, kGrainSectors);
    gd_.assign(io::div_round_up(grains, kGtesPerGt), 0);
    start_ = sink_.position();

    header_ = writer_header();
    header_.version = kVersionCompressed;  // what qemu and open-vmdk write
    header_.flags =
        kFlagNlDetect | kFlagCompressed | kFlagMarkers | (opts_.zeroed_grain ? kFlagZeroGrain : 0);
    header_.capacity = capacity_;
    header_.gd_offset = kGdAtEnd;
    header_.overhead = kStreamOverhead;
    header_.compress_algorithm = kCompressDeflate;
    write_sector(encode_sparse_header(header_));
    stamp_.write(plan, capacity_);
    sink_.write_zeros((kStreamOverhead - kDescriptorSector - kDescriptorSectors) * kSector);
  }

  // Worker threads: deflate one grain into its framed marker. Pure.
  std::vector<std::byte> prepare(uint64_t guest_offset, std::span<const std::byte> data) const override {
    if (guest_offset % kGrainBytes != 0 || data.empty() || data.size() > kGrainBytes)
      throw Error(ErrorKind::Usage, sink_.name(),
                  "vmdk writer got " + std::to_string(data.size()) + " B at guest offset " +
                      std::to_string(guest_offset) + "; expected one grain (64 KiB, grain-aligned)");
    // A short last grain is padded to the full grain (readers inflate into a
    // grain-sized buffer; the pad lies beyond the capacity).
    std::vector<std::byte> grain;
    std::span<const std::byte> in = data;
    if (data.size() < kGrainBytes) {
      grain.assign(kGrainBytes, std::byte{0});
      std::memcpy(grain.data(), data.data(), data.size());
      in = grain;
    }
    uLongf clen = compressBound(static_cast<uLong>(kGrainBytes));
    std::vector<std::byte> out(kGrainMarkerBytes + clen);
    // RFC 1950 zlib stream, as VMware and qemu's vmdk_write_extent (compress()).
    int rc = compress2(reinterpret_cast<Bytef*>(out.data() + kGrainMarkerBytes), &clen,
                       reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()),
                       Z_DEFAULT_COMPRESSION);
    if (rc != Z_OK)
      throw Error(ErrorKind::Io, sink_.name(), "zlib compress2 failed (" + std::to_string(rc) + ")",
                  guest_offset);
    encode_grain_marker(out, {guest_offset / kSector, static_cast<uint32_t>(clen)});
    out.resize(io::align_up(kGrainMarkerBytes + clen, kSector), std::byte{0});
    return out;
  }

  void write_prepared(uint64_t guest_offset, uint64_t guest_len, std::vector<std::byte> prepared) override {
    if (guest_offset % kGrainBytes != 0 || guest_offset >= virtual_size_ || guest_len == 0 ||
        guest_len > kGrainBytes || guest_len > virtual_size_ - guest_offset ||
        (have_last_ && guest_offset <= last_offset_) || prepared.size() < kSector ||
        prepared.size() % kSector != 0)
      throw Error(ErrorKind::Usage, sink_.name(),
                  "vmdk writer: grain at guest offset " + std::to_string(guest_offset) +
                      " is out of order, unaligned or past the virtual size " +
                      std::to_string(virtual_size_));
    have_last_ = true;
    last_offset_ = guest_offset;
    const uint64_t grain = guest_offset / kGrainBytes;
    const uint64_t gt = grain / kGtesPerGt;
    if (gt_used_ && gt != gt_index_) flush_gt();
    if (!gt_used_) {
      gt_.fill(0);
      gt_index_ = gt;
      gt_used_ = true;
    }
    gt_[grain % kGtesPerGt] = sector_here("grain");
    sink_.write(prepared);
  }

  void end() override {
    if (gt_used_) flush_gt();
    const uint64_t gd_bytes = gd_.size() * kTableEntryBytes;
    const uint64_t gd_sectors = io::div_round_up(gd_bytes, kSector);
    write_sector(encode_marker(gd_sectors, kMarkerGd));
    const uint64_t gd_offset = sector_here("grain directory");
    std::vector<std::byte> gd(gd_sectors * kSector);
    for (size_t i = 0; i < gd_.size(); ++i) io::store_le32(gd, i * kTableEntryBytes, gd_[i]);
    sink_.write(gd);

    SparseHeader footer = header_;
    footer.gd_offset = gd_offset;
    const Sector footer_sector = encode_sparse_header(footer);
    write_sector(encode_marker(1, kMarkerFooter));
    write_sector(footer_sector);
    write_sector(encode_marker(0, kMarkerEos));
    if (sink_.seekable()) sink_.pwrite(start_, footer_sector);
    stamp_.finish();
  }

 private:
  void write_sector(const Sector& s) { sink_.write(s); }

  // Current output position as a u32 sector number (what GTEs/GDEs hold).
  uint32_t sector_here(const char* what) const {
    const uint64_t pos = sink_.position() - start_;
    const uint64_t sector = pos / kSector;
    if (sector > kMaxEntrySector)
      throw Error(ErrorKind::Unsupported, sink_.name(),
                  std::string("vmdk ") + what + " would start at byte " + std::to_string(pos) +
                      ", past the 2 TiB a u32 sector offset can address");
    return static_cast<uint32_t>(sector);
  }

  void flush_gt() {
    write_sector(encode_marker(kGtSectors, kMarkerGt));
    gd_[gt_index_] = sector_here("grain table");
    std::vector<std::byte> buf(kGtSectors * kSector);
    for (size_t i = 0; i < kGtesPerGt; ++i) io::store_le32(buf, i * kTableEntryBytes, gt_[i]);
    sink_.write(buf);
    gt_used_ = false;
  }

  ByteSink& sink_;
  WriterOptions opts_;
  DescriptorStamp stamp_{sink_, opts_};
  SparseHeader header_;
  uint64_t virtual_size_ = 0;
  uint64_t capacity_ = 0;
  uint64_t start_ = 0;
  std::vector<uint32_t> gd_;
  std::array<uint32_t, kGtesPerGt> gt_{};
  uint64_t gt_index_ = 0;
  bool gt_used_ = false;
  bool have_last_ = false;
  uint64_t last_offset_ = 0;
};

}  // namespace

uint64_t stream_file_bytes_max(uint64_t virtual_size, uint64_t data_grains, uint64_t tables,
                               const std::string& target) {
  const uint64_t capacity = capacity_sectors(virtual_size, kMaxStreamCapacity, target);
  const uint64_t gd_sectors = io::div_round_up(
      io::div_round_up(io::div_round_up(capacity, kGrainSectors), kGtesPerGt) * kTableEntryBytes, kSector);
  // prepare(): marker header + deflate output (at most compressBound), padded to a sector.
  const uint64_t grain_max =
      io::align_up(kGrainMarkerBytes + compressBound(static_cast<uLong>(kGrainBytes)), kSector);
  // begin(): header, descriptor, padding to overHead; flush_gt(): marker + GT
  // per table; end(): GD marker + GD, footer marker + footer, EOS.
  return kStreamOverhead * kSector + data_grains * grain_max + tables * (kSector + kGtSectors * kSector) +
         kSector + gd_sectors * kSector + 3 * kSector;
}

std::unique_ptr<convert::TargetWriter> make_stream_writer(ByteSink& sink, const WriterOptions& o) {
  return std::make_unique<StreamWriter>(sink, o);
}

}  // namespace imgtool::vmdk
