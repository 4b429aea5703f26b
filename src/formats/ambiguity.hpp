#pragma once
// Bytes that more than one format claims. qemu picks the best probe score and
// moves on; Glance's inspector (oslo.utils InspectWrapper.format) refuses the
// upload with "Multiple formats detected" — a header hidden inside another
// format's bytes (Glance test_bad_iso_qcow2: a qcow2 header in an ISO's system
// area) is how a guest-controlled disk gets reinterpreted. assess() reports
// such clashes as Unsafe findings through this function.
#include <vector>

#include "formats/driver.hpp"
#include "imgtool/finding.hpp"

namespace imgtool::formats {

// One Unsafe finding when two or more formats claim the bytes of the probe
// window `w` (whose probe results, best first, are `results`): every non-raw
// result, plus Glance's "gpt" match (an MBR signature outside a FAT boot
// sector) when another format also claims the bytes at their head. Glance's
// single allowed combination, {iso, gpt} (a bootable hybrid ISO), is not
// reported. Empty when the bytes are unambiguous.
std::vector<Finding> ambiguity_findings(const ProbeWindow& w, const std::vector<ProbeResult>& results);

}  // namespace imgtool::formats
