// qcow2 check (qcow2_checker.hpp): the run, then qemu's compare_refcounts and
// check_oflag_copied as a visitor of the merge of references and refcounts,
// then the findings with both users of a cluster named.
#include "formats/qcow2/qcow2_checker.hpp"
#include "io/bytes.hpp"

namespace imgtool::qcow2 {
namespace check {
namespace {

constexpr size_t kMaxNamedClusters = 1000;  // clusters whose users are named

bool overlaps(uint8_t cats, uint64_t refs) {
  const uint8_t users = cats & kUsers;
  // Metadata is never shared; two kinds of user on one cluster never are.
  return ((users & kMeta) && refs > 1) || __builtin_popcount(users) > 1;
}

}  // namespace

Checker::Checker(const Qcow2Image& img)
    : img_(img),
      h_(img.header()),
      src_(img.source()),
      cs_(h_.cluster_size),
      file_clusters_(std::max<uint64_t>(1, io::div_round_up(h_.file_size, cs_))) {}

CheckReport Checker::report() {
  CheckReport rep;
  rep.filename = src_.name();
  rep.format = Format::Qcow2;
  rep.total_clusters = io::div_round_up(h_.size / 512 * 512, cs_);

  rc_ = std::make_unique<Refcounts>(h_, src_, findings_);
  walk(Pass::Count);
  // Only references below the end of the file were recorded (the rest are
  // PastEof findings); refcounts past it are ignored, as qemu does.
  refs_.merge(*rc_, file_clusters_, *this);
  if (!named_.empty()) {
    findings_.muted = true;
    walk(Pass::Describe);
    findings_.muted = false;
  }
  emit_mismatches();

  rep.allocated_clusters = allocated_;
  rep.compressed_clusters = compressed_;
  rep.fragmented_clusters = fragmented_;
  rep.image_end_offset = (highest_ + 1) * cs_;
  rep.findings = findings_.take();
  return rep;
}

void Checker::cluster(const ClusterRefs& c) {
  highest_ = std::max(highest_, c.cluster);
  if (c.refcount != c.refs || overlaps(c.cats, c.refs)) mismatch(c.cluster, c.refcount, c.refs, c.cats);
  // qemu check_refblocks: a refcount block is used by nothing else.
  if ((c.cats & kRefblock) && c.refs != 1)
    findings_.corrupt(FindingKind::Overlap, "ERROR refcount block " +
                                                std::to_string(rc_->index_at(c.cluster)) +
                                                " refcount=" + std::to_string(c.refs));
  // qemu check_oflag_copied: COPIED is set exactly when the refcount is 1.
  if (!c.copied_set && !c.copied_clear) return;
  const std::string at = "ERROR OFLAG_COPIED data cluster: host offset " + io::hex(c.cluster * cs_) + ": ";
  if (c.copied_set && c.refcount != 1)
    findings_.corrupt(FindingKind::Metadata,
                      at + std::to_string(c.copied_set) +
                          " active L2 entries with OFLAG_COPIED, refcount=" + std::to_string(c.refcount));
  if (c.copied_clear && c.refcount == 1)
    findings_.corrupt(FindingKind::Metadata, at + std::to_string(c.copied_clear) +
                                                 " active L2 entries without OFLAG_COPIED, refcount=1");
}

void Checker::run(uint64_t first, uint64_t end, uint64_t refs, uint8_t cats) {
  // Table clusters no refcount block covers (refcount 0): each one is a
  // mismatch; past the cap they are counted without a loop per cluster.
  highest_ = std::max(highest_, end - 1);
  uint64_t c = first;
  for (; c < end && mismatches_.size() < Findings::kMaxListed; ++c) mismatch(c, 0, refs, cats);
  if (c < end) findings_.more(Severity::Corruption, end - c);
}

void Checker::mismatch(uint64_t cluster, uint64_t refcount, uint64_t refs, uint8_t cats) {
  if (mismatches_.size() >= Findings::kMaxListed)
    return findings_.more(refcount > refs ? Severity::Leak : Severity::Corruption, 1);
  const bool overlap = overlaps(cats, refs);
  mismatches_.push_back({cluster, refcount, refs, overlap});
  if ((refcount < refs || overlap) && named_.size() < kMaxNamedClusters) {
    named_[cluster];
    named_data_ |= (cats & (kData | kCompressed)) != 0;
    named_bitmap_data_ |= (cats & kBitmapData) != 0;
  }
}

void Checker::emit_mismatches() {
  for (const auto& m : mismatches_) {
    std::string users;
    auto it = named_.find(m.cluster);
    if (it != named_.end() && !it->second.empty()) {
      for (const auto& u : it->second) users += (users.empty() ? "" : "; ") + u;
      users = " (host offset " + io::hex(m.cluster * cs_) + " used by: " + users + ")";
    }
    const std::string counts = " cluster " + std::to_string(m.cluster) +
                               " refcount=" + std::to_string(m.refcount) +
                               " reference=" + std::to_string(m.reference);
    if (m.refcount < m.reference)
      findings_.corrupt(m.overlap || m.reference > 1 ? FindingKind::Overlap : FindingKind::Metadata,
                        "ERROR" + counts + users);
    else if (m.refcount > m.reference)
      findings_.add(Severity::Leak, FindingKind::Leak, "Leaked" + counts + users);
    else
      findings_.corrupt(FindingKind::Overlap, "ERROR cluster " + std::to_string(m.cluster) +
                                                  " is shared between metadata and other users" + users);
  }
}

}  // namespace check

CheckReport run_check(const Qcow2Image& img) {
  try {
    return check::Checker(img).report();
  } catch (const Error& e) {
    throw e.with_path(img.source().name());
  }
}

}  // namespace imgtool::qcow2
