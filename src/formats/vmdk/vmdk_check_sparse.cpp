// vmdk check() of one hosted sparse extent (see vmdk_check.hpp). Memory
// follows the metadata present: the grain directory's named tables, and the
// host map's runs of grains (vmdk_host_map.hpp), never a bitmap of the file.
#include <algorithm>
#include <utility>
#include <vector>

#include "formats/vmdk/vmdk_check.hpp"
#include "formats/vmdk/vmdk_host_map.hpp"
#include "imgtool/cancel.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

// HostMap keys: grain numbers (below 2^34: 32 Mi GD entries x 512 GTEs) and
// grain table numbers with this bit set.
constexpr uint64_t kTableKey = uint64_t{1} << 36;
static_assert(kTableKey * 2 <= HostMap::kKeyLimit);

std::string num(uint64_t v) {
  return std::to_string(v);
}

// A region the header names (header, descriptor, directories, footer).
struct Region {
  uint64_t off, len;  // inside the file
  std::string what;
};

class SparseCheck {
 public:
  SparseCheck(const SparseExtent& sp, const std::string& label, CheckSink& s)
      : sp_(sp),
        h_(sp.primary_header()),
        eh_(sp.header()),
        g_(sp.geometry()),
        src_(sp.source()),
        fsize_(src_.size()),
        label_(label),
        s_(s),
        map_(fsize_) {}

  uint64_t run() {
    header_findings();
    for (const auto& m : meta_) end_ = std::max(end_, m.off + m.len);
    for (const auto& [i, sector] : named_tables()) walk_table(i, sector);
    map_.sweep([this](const HostMap::Overlap& o) {
      corrupt_lazy(FindingKind::Overlap, [&] {
        return describe(o.key, o.start) + " shares host sectors with " + describe(o.other_key, o.other_start);
      });
    });
    CheckReport& r = s_.report();
    r.total_clusters = r.total_clusters.value_or(0) + sp_.grain_count();
    r.allocated_clusters = r.allocated_clusters.value_or(0) + allocated_;
    r.compressed_clusters = r.compressed_clusters.value_or(0) + compressed_;
    return end_;
  }

 private:
  void corrupt(FindingKind k, const std::string& m) { s_.corrupt(k, label_ + m); }
  // For findings a hostile table can repeat per grain: the message is built
  // only while it would be listed.
  template <class Make>
  void corrupt_lazy(FindingKind k, const Make& make) {
    if (s_.listing())
      corrupt(k, make());
    else
      s_.count();
  }

  // The header's own fields and the regions it names; the footer against it.
  void header_findings() {
    if (eh_.version < kVersionSparse || eh_.version > kMaxVersion)
      corrupt(FindingKind::Metadata, "header version " + num(eh_.version) + " (expected " +
                                         num(kVersionSparse) + ".." + num(kMaxVersion) + ")");
    meta_.push_back({0, kSector, "sparse header"});
    if (h_.desc_offset != 0 || h_.desc_size != 0) {
      // oslo VMDKInspector: the descriptor must start at 0x200.
      if (h_.desc_offset != kDescriptorSector)
        corrupt(FindingKind::Metadata, "descriptor at sector " + num(h_.desc_offset) + ", expected sector " +
                                           num(kDescriptorSector) + " (offset " + io::hex(kQemuDescOffset) +
                                           "; Glance: Wrong descriptor location)");
      if (h_.desc_offset > fsize_ / kSector || h_.desc_size > (fsize_ - h_.desc_offset * kSector) / kSector)
        corrupt(FindingKind::PastEof, "descriptor (" + num(h_.desc_size) + " sectors at sector " +
                                          num(h_.desc_offset) + ") ends past EOF (" + num(fsize_) +
                                          " bytes)");
      else
        meta_.push_back({h_.desc_offset * kSector, h_.desc_size * kSector, "descriptor"});
    }
    const uint64_t gd_bytes = g_.gd_entries * kTableEntryBytes;  // inside the file (validate_sparse_header)
    meta_.push_back({g_.gd_offset_bytes, gd_bytes, "grain directory"});
    if ((eh_.flags & kFlagRgd) && eh_.rgd_offset != 0) {
      if (eh_.rgd_offset > fsize_ / kSector || gd_bytes > fsize_ - eh_.rgd_offset * kSector)
        corrupt(FindingKind::PastEof, "redundant grain directory at sector " + num(eh_.rgd_offset) +
                                          " ends past EOF (" + num(fsize_) + " bytes)");
      else
        meta_.push_back({eh_.rgd_offset * kSector, gd_bytes, "redundant grain directory"});
    }
    if (const auto& ft = sp_.footer()) {
      meta_.push_back({ft->offset, kFooterSectors * kSector, "footer"});
      const SparseHeader& fh = ft->header;
      // oslo VMDKInspector footer checks: the copy must agree with the header.
      if (fh.version != h_.version || fh.desc_offset != h_.desc_offset || fh.desc_size != h_.desc_size)
        corrupt(FindingKind::Metadata, "footer header (version " + num(fh.version) + ", descriptor " +
                                           num(fh.desc_size) + " sectors at " + num(fh.desc_offset) +
                                           ") differs from the primary header (version " + num(h_.version) +
                                           ", descriptor " + num(h_.desc_size) + " sectors at " +
                                           num(h_.desc_offset) + ")");
      if (!ft->footer_marker.pad_zero)
        corrupt(FindingKind::Metadata, "footer marker at " + io::hex(ft->offset) + " has non-zero padding");
      if (!ft->eos.pad_zero)
        corrupt(FindingKind::Metadata, "end-of-stream marker at " +
                                           io::hex(ft->offset + footer::kEosSector * kSector) +
                                           " has non-zero padding");
    }
  }

  // The grain tables the directory names, as (GD index, sector) in GD order,
  // each once: a table several entries name is one finding, and is read for
  // the first of them only.
  std::vector<std::pair<uint32_t, uint32_t>> named_tables() {
    const std::vector<uint32_t>& gd = sp_.directory();  // <= kMaxGdEntries (validate_sparse_header)
    std::vector<std::pair<uint32_t, uint32_t>> t;       // (sector, GD index), then (GD index, sector)
    for (uint64_t i = 0; i < gd.size(); ++i) {
      if (i % kCheckPollEvery == 0) throw_if_interrupted();
      if (gd[i] != 0) t.emplace_back(gd[i], static_cast<uint32_t>(i));
    }
    std::sort(t.begin(), t.end());
    size_t kept = 0;
    for (size_t a = 0, b = 0; a < t.size(); a = b) {
      if (++steps_ % kCheckPollEvery == 0) throw_if_interrupted();
      for (b = a + 1; b < t.size() && t[b].first == t[a].first;) ++b;
      if (b - a > 1)
        corrupt_lazy(FindingKind::Overlap, [&] {
          std::string which;
          for (size_t k = a; k < std::min(b, a + 4); ++k) which += (k == a ? "" : ", ") + num(t[k].second);
          if (b - a > 4) which += ", ...";
          return "grain table at " + io::hex(uint64_t{t[a].first} * kSector) + " is named by " + num(b - a) +
                 " grain directory entries (" + which + "); its grains are checked once, for entry " +
                 num(t[a].second);
        });
      t[kept++] = {t[a].second, t[a].first};
    }
    t.resize(kept);
    std::sort(t.begin(), t.end());
    return t;
  }

  void walk_table(uint64_t i, uint32_t sector) {
    const uint64_t off = uint64_t{sector} * kSector;
    if (off > fsize_ || g_.gt_bytes > fsize_ - off)
      return corrupt_lazy(FindingKind::PastEof, [&] {
        return "grain directory entry " + num(i) + " points at a grain table at " + io::hex(off) +
               " that ends past EOF (" + num(fsize_) + " bytes)";
      });
    over_metadata(off, g_.gt_bytes, [&] { return "grain table " + num(i) + " at " + io::hex(off); });
    record(sector, g_.gt_bytes, kTableKey | i);
    end_ = std::max(end_, off + g_.gt_bytes);
    const std::vector<std::byte> t = src_.read_vector(off, g_.gt_bytes);  // <= 2 KiB
    for (uint64_t k = 0; k < g_.gt_entries; ++k) {
      if (++steps_ % kCheckPollEvery == 0) throw_if_interrupted();
      grain(i, k, io::load_le32(t, k * kTableEntryBytes));
    }
  }

  void grain(uint64_t i, uint64_t k, uint32_t gte) {
    if (gte == 0 || (gte == kGteZeroed && eh_.has_zero_grain())) return;
    const uint64_t gi = i * g_.gt_entries + k;
    if (gi >= sp_.grain_count())
      return corrupt_lazy(FindingKind::Metadata, [&] {
        return "grain table " + num(i) + " entry " + num(k) + " maps grain " + num(gi) +
               " beyond the capacity (" + num(sp_.grain_count()) + " grains)";
      });
    ++allocated_;
    const uint64_t host = uint64_t{gte} * kSector;  // < 2^41: no overflow below
    auto what = [&] { return describe(gi, host); };
    uint64_t len = std::min(g_.grain_bytes, g_.capacity_bytes - gi * g_.grain_bytes);
    if (eh_.compressed()) {
      ++compressed_;
      len = 1;  // without markers qemu lets zlib find the end of the stream
      if (eh_.has_markers()) {
        if (host + marker::kGrainHeaderBytes > fsize_)
          return corrupt_lazy(FindingKind::PastEof, [&] {
            return what() + ": grain marker lies past EOF (" + num(fsize_) + " bytes)";
          });
        const GrainMarker m = parse_grain_marker(src_.read_vector(host, marker::kGrainHeaderBytes));
        if (m.lba != gi * eh_.grain_size)
          corrupt_lazy(FindingKind::Metadata, [&] {
            return what() + ": grain marker lba " + num(m.lba) + ", expected " + num(gi * eh_.grain_size);
          });
        len = marker::kGrainHeaderBytes;
        if (m.size == 0 || m.size > max_compressed_grain_bytes(g_))
          corrupt_lazy(FindingKind::Metadata, [&] {
            return what() + ": grain marker data size " + num(m.size) + " (expected 1.." +
                   num(max_compressed_grain_bytes(g_)) + ")";
          });
        else
          len += m.size;  // a size out of range says nothing about the bytes after the marker
      }
    }
    if (host + len > fsize_)
      return corrupt_lazy(FindingKind::PastEof, [&] {
        return what() + ": " + num(len) + " bytes end past EOF (" + num(fsize_) + " bytes)";
      });
    over_metadata(host, len, what);
    record(gte, len, gi);
    end_ = std::max(end_, host + len);
  }

  // A finding for each header-named region [off, off+len) runs into.
  template <class What>
  void over_metadata(uint64_t off, uint64_t len, const What& what) {
    for (const auto& m : meta_)
      if (off < m.off + m.len && m.off < off + len)
        corrupt_lazy(FindingKind::Overlap, [&] {
          return what() + " overlaps the " + m.what + " (" + io::hex(m.off) + ", " + num(m.len) + " bytes)";
        });
  }

  void record(uint32_t sector, uint64_t len, uint64_t key) {
    if (map_.add(sector, len, key)) {
      ++recorded_;
    } else if (!saturation_reported_) {
      saturation_reported_ = true;
      // Disjoint tables and grains never claim more sectors than the file has.
      corrupt(FindingKind::Overlap,
              "the grain tables and grains claim more than " + num(map_.limit_sectors()) +
                  " sectors of a file of " + num(map_.file_sectors()) +
                  " sectors, so many of them overlap; host overlaps are named among the first " +
                  num(recorded_) + " only");
    }
  }

  std::string describe(uint64_t key, uint64_t host) const {
    if (key & kTableKey) return "grain table " + num(key & ~kTableKey) + " at " + io::hex(host);
    return "grain " + num(key) + " (guest " + io::hex(key * g_.grain_bytes) + ") at " + io::hex(host);
  }

  const SparseExtent& sp_;
  const SparseHeader& h_;   // the primary header
  const SparseHeader& eh_;  // the header in effect (the footer's copy when GD_AT_END)
  const SparseGeometry& g_;
  const ByteSource& src_;
  const uint64_t fsize_;
  const std::string& label_;
  CheckSink& s_;
  std::vector<Region> meta_;
  HostMap map_;
  uint64_t end_ = 0;
  uint64_t allocated_ = 0, compressed_ = 0;
  uint64_t steps_ = 0;
  uint64_t recorded_ = 0;
  bool saturation_reported_ = false;
};

}  // namespace

uint64_t check_sparse_extent(const SparseExtent& sp, const std::string& label, CheckSink& s) {
  return SparseCheck(sp, label, s).run();
}

}  // namespace imgtool::vmdk
