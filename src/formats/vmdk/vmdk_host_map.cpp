// Host-space overlap detection for vmdk check (see vmdk_host_map.hpp).
#include "formats/vmdk/vmdk_host_map.hpp"

#include <algorithm>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

// Loops over counts taken from the image poll for SIGINT this often.
constexpr uint64_t kPollEvery = 4096;
// Lets a small file with a few shared grains name them all (32 MiB of
// claims: at most 1 MiB of runs).
constexpr uint64_t kSlackSectors = 65536;

}  // namespace

HostMap::HostMap(uint64_t file_size)
    : file_sectors_(io::div_round_up(file_size, kSector)),
      limit_sectors_(2 * file_sectors_ + kSlackSectors) {}

bool HostMap::add(uint32_t sector, uint64_t unit, uint64_t key) {
  if (unit == 0 || unit >= kUnitLimit || key >= kKeyLimit)
    throw Error(ErrorKind::Usage, "",
                "vmdk host map: span of " + std::to_string(unit) + " bytes, key " + std::to_string(key) +
                    " out of range");
  if (saturated_) return false;
  // Each span claims at least one sector, so the runs never outnumber
  // limit_sectors(): memory stays below 16 bytes per claimed sector.
  const uint64_t sectors = io::div_round_up(unit, kSector);
  if (sectors > limit_sectors_ - claimed_sectors_) {
    saturated_ = true;
    return false;
  }
  claimed_sectors_ += sectors;
  if (!runs_.empty()) {
    Run& r = runs_.back();
    if (r.unit() == unit && r.count < UINT32_MAX && r.key() + r.count == key &&
        r.end() == uint64_t{sector} * kSector) {
      ++r.count;
      return true;
    }
  }
  runs_.push_back({sector, 1, key | (unit << 40)});
  return true;
}

void HostMap::sweep(const std::function<void(const Overlap&)>& report) {
  std::sort(runs_.begin(), runs_.end(), [](const Run& a, const Run& b) {
    return a.sector != b.sector ? a.sector < b.sector : a.key() < b.key();
  });
  // `owner` reaches furthest of the runs seen so far: any span starting
  // before `reach` lies inside it (it starts no later and runs are contiguous).
  const Run* owner = nullptr;
  uint64_t reach = 0;
  uint64_t steps = 0;
  for (const Run& r : runs_) {
    if (++steps % kPollEvery == 0) throw_if_interrupted();
    const uint64_t start = r.start(), unit = r.unit();
    if (owner && start < reach) {
      const uint64_t n = std::min<uint64_t>(r.count, io::div_round_up(reach - start, unit));
      for (uint64_t j = 0; j < n; ++j) {
        if (++steps % kPollEvery == 0) throw_if_interrupted();
        const uint64_t at = start + j * unit;
        const uint64_t k = (at - owner->start()) / owner->unit();
        report({r.key() + j, at, owner->key() + k, owner->start() + k * owner->unit()});
      }
    }
    if (r.end() > reach) {
      reach = r.end();
      owner = &r;
    }
  }
}

}  // namespace imgtool::vmdk
