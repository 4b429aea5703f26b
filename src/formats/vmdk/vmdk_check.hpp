#pragma once
// vmdk check() internals, shared by the descriptor rules and the driver entry
// point (vmdk_check.cpp) and the walk of a hosted sparse extent
// (vmdk_check_sparse.cpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "formats/vmdk/vmdk_sparse_extent.hpp"
#include "imgtool/finding.hpp"

namespace imgtool::vmdk {

// Loops over counts taken from the image poll for SIGINT this often.
inline constexpr uint64_t kCheckPollEvery = 4096;

// Collects the findings of one check. Corruption findings past the first
// kMaxListed are only counted (finish() adds "... and N more"): a hostile
// table can make millions, and callers skip building their messages.
class CheckSink {
 public:
  static constexpr uint64_t kMaxListed = 64;

  explicit CheckSink(CheckReport& r) : r_(r) {}
  CheckReport& report() { return r_; }

  void unsafe(std::string m) {
    r_.findings.push_back({Severity::Unsafe, FindingKind::GlanceRule, std::move(m)});
  }
  void glance(std::string m) {
    r_.findings.push_back({Severity::Note, FindingKind::GlanceRule, std::move(m)});
  }
  void corrupt(FindingKind k, std::string m) {
    if (corruptions_++ < kMaxListed) r_.findings.push_back({Severity::Corruption, k, std::move(m)});
  }
  // False once further corruption findings would only be counted.
  bool listing() const { return corruptions_ < kMaxListed; }
  // Counts a corruption finding without its message (only when !listing()).
  void count() { ++corruptions_; }
  void finish();

 private:
  CheckReport& r_;
  uint64_t corruptions_ = 0;
};

// Checks one hosted sparse extent: the regions its header names, the footer
// against the header, the grain directory, each grain table once, and every
// grain (past EOF, over metadata, sharing host sectors with another table or
// grain). Adds to the report's cluster statistics. `label` starts every
// message ("" for the image itself, else "extent '<escaped name>': ").
// Returns the end of the last metadata region, table or grain in the file.
uint64_t check_sparse_extent(const SparseExtent& sp, const std::string& label, CheckSink& s);

}  // namespace imgtool::vmdk
