// monolithicSparse VMDK (hosted sparse extent, VMware "Virtual Disk Format
// 5.0"), laid out like qemu's vmdk_init_extent:
//
//   sector 0         header: version 1 (2 with zeroed_grain), flags
//                    newline|redundant GT, gdOffset/rgdOffset below
//   sectors 1..20    embedded descriptor
//   21               redundant GD, then its GTs (every GT of the disk)
//   gdOffset         GD, then its GTs
//   overHead         first grain (tables rounded up to a 64 KiB boundary)
//   grains           64 KiB each, uncompressed, in guest order
//
// The GT contents depend only on which grains carry data. On a stream the
// pipeline tells us that up front (needs_plan(): TargetPlan::data_ranges): the
// k-th data grain lives at overHead + k·128, so the tables are computed and
// written before the first grain and the whole file goes out forward. A
// planned grain the pipeline then skips (it was all zeros after all) is
// written as zeros. On a seekable file no plan is needed (one read of the
// source): the tables start as holes and each GT is patched into both copies
// with pwrite() once the guest offset moves past its 32 MiB.
#include <algorithm>
#include <array>
#include <optional>

#include "formats/vmdk/vmdk_writer.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

// 2 TiB: GTEs are u32 sectors of a file that holds all of it (qemu's
// VMDK_EXTENT_MAX_SECTORS); the grain offsets are checked again below.
constexpr uint64_t kMaxSparseCapacity = uint64_t{1} << 32;

// Walks the planned data grains in increasing order.
class PlanCursor {
 public:
  explicit PlanCursor(const std::vector<std::pair<uint64_t, uint64_t>>* ranges) : ranges_(ranges) {
    settle();
  }
  bool done() const { return i_ >= ranges_->size(); }
  uint64_t grain() const { return grain_; }
  void next() {
    ++grain_;
    settle();
  }

 private:
  void settle() {
    while (i_ < ranges_->size()) {
      const auto& [off, len] = (*ranges_)[i_];
      if (!started_) {
        grain_ = off / kGrainBytes;
        started_ = true;
      }
      if (grain_ < io::div_round_up(off + len, kGrainBytes)) return;
      ++i_;
      started_ = false;
    }
  }
  const std::vector<std::pair<uint64_t, uint64_t>>* ranges_;  // owned by SparseWriter::plan_
  size_t i_ = 0;
  uint64_t grain_ = 0;
  bool started_ = false;
};

class SparseWriter final : public convert::TargetWriter {
 public:
  SparseWriter(ByteSink& sink, WriterOptions o) : sink_(sink), opts_(std::move(o)) {}

  uint64_t cluster_size() const override { return kGrainBytes; }
  // Files get one pass over the source (tables patched per GT with pwrite);
  // streams need the plan to write the tables first.
  bool needs_plan() const override { return !sink_.seekable(); }
  bool wants_content_digest() const override { return true; }  // CID
  void set_content_digest(const convert::ContentDigest& d) override { stamp_.set_digest(d); }

  // With a plan (streams) the file is the tables plus one grain per planned
  // grain, whatever the data (a planned grain found all zero is still
  // written): sparse_file_bytes, the layout begin() writes.
  std::optional<uint64_t> planned_size(const convert::TargetPlan& plan) const override {
    if (!plan.data_ranges_known) return std::nullopt;
    const SparseLayout L = sparse_layout(plan.virtual_size, sink_.name());
    return sparse_file_bytes(L, check_plan(plan, L.overhead));
  }

  void begin(const convert::TargetPlan& plan) override {
    const std::string& name = sink_.name();
    virtual_size_ = plan.virtual_size;
    const SparseLayout L = sparse_layout(plan.virtual_size, name);
    capacity_ = L.capacity;
    gt_count_ = L.gt_count;
    gd_sectors_ = L.gd_sectors;
    rgd_offset_ = L.rgd_offset;
    gd_offset_ = L.gd_offset;
    overhead_ = L.overhead;
    with_plan_ = plan.data_ranges_known;
    if (with_plan_) {
      (void)check_plan(plan, overhead_);
      plan_ = plan.data_ranges;
    } else if (!sink_.seekable()) {
      throw Error(ErrorKind::Unsupported, name,
                  "vmdk monolithicSparse on a stream needs the list of data clusters before writing; "
                  "use -o subformat=streamOptimized for streamed output");
    }
    start_ = sink_.position();

    SparseHeader h = writer_header();
    h.version = opts_.zeroed_grain ? kVersionZeroedGrain : kVersionSparse;
    h.flags = kFlagNlDetect | kFlagRgd | (opts_.zeroed_grain ? kFlagZeroGrain : 0);
    h.capacity = capacity_;
    h.rgd_offset = rgd_offset_;
    h.gd_offset = gd_offset_;
    h.overhead = overhead_;
    sink_.write(encode_sparse_header(h));
    stamp_.write(plan, capacity_);
    write_directory_and_tables(rgd_offset_);
    write_directory_and_tables(gd_offset_);
    sink_.write_zeros((overhead_ - (gd_offset_ + gd_sectors_ + gt_count_ * kGtSectors)) * kSector);
    cursor_ = std::make_unique<PlanCursor>(&plan_);
  }

  void write_prepared(uint64_t guest_offset, uint64_t guest_len, std::vector<std::byte> prepared) override {
    if (prepared.size() != guest_len)
      throw Error(ErrorKind::Usage, sink_.name(),
                  "vmdk writer: " + std::to_string(prepared.size()) + " B prepared for " +
                      std::to_string(guest_len) + " B of guest data");
    write_data(guest_offset, prepared);
  }

  // A run of whole grains (the last one of the disk may be short), written
  // with one sink call: consecutive data grains get consecutive slots.
  void write_data(uint64_t guest_offset, std::span<const std::byte> data) override {
    const uint64_t len = data.size();
    if (guest_offset % kGrainBytes != 0 || len == 0 || guest_offset >= virtual_size_ ||
        len > virtual_size_ - guest_offset ||
        (len % kGrainBytes != 0 && guest_offset + len != virtual_size_) ||
        (have_last_ && guest_offset < next_offset_))
      throw Error(ErrorKind::Usage, sink_.name(),
                  "vmdk writer: " + std::to_string(len) + " B at guest offset " +
                      std::to_string(guest_offset) +
                      " are out of order, not whole grains or past the virtual size " +
                      std::to_string(virtual_size_));
    have_last_ = true;
    next_offset_ = guest_offset + len;
    const uint64_t first = guest_offset / kGrainBytes;
    const uint64_t count = io::div_round_up(len, kGrainBytes);
    for (uint64_t grain = first; grain < first + count; ++grain) {
      if (with_plan_) {
        // Planned grains that never came were all zeros: keep their slots.
        // (Only possible before the run's first grain.)
        while (!cursor_->done() && cursor_->grain() < grain) {
          sink_.write_zeros(kGrainBytes);
          cursor_->next();
        }
        if (cursor_->done() || cursor_->grain() != grain)
          throw Error(ErrorKind::Usage, sink_.name(),
                      "vmdk writer: grain at guest offset " + std::to_string(grain * kGrainBytes) +
                          " is not in the conversion plan the tables were written from");
        cursor_->next();
      } else {
        const uint64_t gt = grain / kGtesPerGt;
        if (gt_used_ && gt != gt_index_) flush_gt();
        if (!gt_used_) {
          gt_.fill(0);
          gt_index_ = gt;
          gt_used_ = true;
        }
        gt_[grain % kGtesPerGt] = grain_sector(allocated_++);
      }
    }
    sink_.write(data);
    sink_.write_zeros(count * kGrainBytes - len);  // grains are whole on disk
  }

  void end() override {
    if (with_plan_) {
      while (!cursor_->done()) {
        sink_.write_zeros(kGrainBytes);
        cursor_->next();
      }
    } else if (gt_used_) {
      flush_gt();
    }
    stamp_.finish();
  }

 private:
  // Validates the plan's ranges; returns the number of grains they cover.
  uint64_t check_plan(const convert::TargetPlan& plan, uint64_t overhead) const {
    const uint64_t virtual_size = plan.virtual_size;
    uint64_t prev_end = 0;
    uint64_t count = 0;
    for (const auto& [off, len] : plan.data_ranges) {
      const uint64_t end = io::checked_add(off, len, "vmdk plan range end");
      if (len == 0 || off % kGrainBytes != 0 || off < prev_end || end > virtual_size ||
          (end % kGrainBytes != 0 && end != virtual_size))
        throw Error(ErrorKind::Usage, sink_.name(),
                    "vmdk writer: plan range (" + std::to_string(off) + ", " + std::to_string(len) +
                        ") is empty, unaligned, unsorted or past the virtual size " +
                        std::to_string(virtual_size));
      prev_end = end;
      count += io::div_round_up(len, kGrainBytes);
    }
    if (count > 0) (void)grain_sector(count - 1, overhead);  // the last grain must be addressable
    return count;
  }

  // Sector of the k-th allocated grain; GTEs are u32.
  uint32_t grain_sector(uint64_t k) const { return grain_sector(k, overhead_); }
  uint32_t grain_sector(uint64_t k, uint64_t overhead) const {
    uint64_t s = 0;
    if (io::mul_overflows(k, kGrainSectors, &s) || io::add_overflows(s, overhead, &s) ||
        s + kGrainSectors - 1 > kMaxEntrySector)
      throw Error(ErrorKind::Unsupported, sink_.name(),
                  "vmdk monolithicSparse: data grain " + std::to_string(k) +
                      " would lie past the 2 TiB a u32 sector offset can address");
    return static_cast<uint32_t>(s);
  }

  // One GD (at `gd_sector`) followed by its gt_count_ tables. With a plan the
  // tables carry their final entries; without, they are holes for flush_gt().
  void write_directory_and_tables(uint64_t gd_sector) {
    std::vector<std::byte> gd(gd_sectors_ * kSector);
    const uint64_t first_gt = gd_sector + gd_sectors_;
    for (uint64_t i = 0; i < gt_count_; ++i)
      io::store_le32(gd, i * kTableEntryBytes, static_cast<uint32_t>(first_gt + i * kGtSectors));
    sink_.write(gd);
    if (!with_plan_) {
      sink_.write_zeros(gt_count_ * kGtSectors * kSector);
      return;
    }
    PlanCursor c(&plan_);
    uint64_t k = 0;
    std::vector<std::byte> gt(kGtSectors * kSector);
    for (uint64_t t = 0; t < gt_count_; ++t) {
      std::fill(gt.begin(), gt.end(), std::byte{0});
      for (; !c.done() && c.grain() < (t + 1) * kGtesPerGt; c.next())
        io::store_le32(gt, (c.grain() - t * kGtesPerGt) * kTableEntryBytes, grain_sector(k++));
      sink_.write(gt);
    }
  }

  // No-plan mode: the table of the GT just finished goes to both copies.
  void flush_gt() {
    std::vector<std::byte> buf(kGtSectors * kSector);
    for (size_t i = 0; i < kGtesPerGt; ++i) io::store_le32(buf, i * kTableEntryBytes, gt_[i]);
    for (uint64_t gd : {rgd_offset_, gd_offset_}) {
      const uint64_t gt_sector = gd + gd_sectors_ + gt_index_ * kGtSectors;
      sink_.pwrite(start_ + gt_sector * kSector, buf);
    }
    gt_used_ = false;
  }

  ByteSink& sink_;
  WriterOptions opts_;
  DescriptorStamp stamp_{sink_, opts_};
  uint64_t virtual_size_ = 0;
  uint64_t capacity_ = 0;
  uint64_t gt_count_ = 0;
  uint64_t gd_sectors_ = 0;
  uint64_t rgd_offset_ = 0;
  uint64_t gd_offset_ = 0;
  uint64_t overhead_ = 0;
  uint64_t start_ = 0;
  bool with_plan_ = false;
  std::vector<std::pair<uint64_t, uint64_t>> plan_;
  std::unique_ptr<PlanCursor> cursor_;
  // No-plan mode state.
  std::array<uint32_t, kGtesPerGt> gt_{};
  uint64_t gt_index_ = 0;
  bool gt_used_ = false;
  uint64_t allocated_ = 0;
  bool have_last_ = false;
  uint64_t next_offset_ = 0;
};

}  // namespace

SparseLayout sparse_layout(uint64_t virtual_size, const std::string& target) {
  SparseLayout L;
  L.capacity = capacity_sectors(virtual_size, kMaxSparseCapacity, target);
  L.grains = io::div_round_up(L.capacity, kGrainSectors);
  L.gt_count = io::div_round_up(L.grains, kGtesPerGt);
  L.gd_sectors = io::div_round_up(L.gt_count * kTableEntryBytes, kSector);
  L.rgd_offset = kDescriptorSector + kDescriptorSectors;
  L.gd_offset = L.rgd_offset + L.gd_sectors + L.gt_count * kGtSectors;
  L.overhead = io::align_up(L.gd_offset + L.gd_sectors + L.gt_count * kGtSectors, kGrainSectors);
  return L;
}

uint64_t sparse_file_bytes(const SparseLayout& L, uint64_t data_grains) {
  // Header, descriptor and both table copies up to overHead, then one whole
  // grain per data grain (SparseWriter::write_data, end()).
  return L.overhead * kSector + data_grains * kGrainBytes;
}

std::unique_ptr<convert::TargetWriter> make_sparse_writer(ByteSink& sink, const WriterOptions& o) {
  return std::make_unique<SparseWriter>(sink, o);
}

}  // namespace imgtool::vmdk
