#pragma once
// Bytes that more than one format claims. qemu picks the best probe score and
// moves on; Glance's inspector (oslo.utils InspectWrapper.format) refuses the
// upload with "Multiple formats detected" — a header hidden inside another
// format's bytes (Glance test_bad_iso_qcow2: a qcow2 header in an ISO's system
// area) is how a guest-controlled disk gets reinterpreted. `imgtool check`
// reports such clashes as Unsafe findings through this function.
#include <vector>

#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

namespace imgtool::formats {

// One Unsafe finding when two or more formats claim the bytes of `src`:
// every non-raw probe_all() result, plus Glance's "gpt" match (an MBR
// signature outside a FAT boot sector) when another format also claims the
// bytes. Glance's single allowed combination, {iso, gpt} (a bootable hybrid
// ISO), is not reported. Empty when the bytes are unambiguous.
std::vector<Finding> ambiguity_findings(const ByteSource& src);

}  // namespace imgtool::formats
