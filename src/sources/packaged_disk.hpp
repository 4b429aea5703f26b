#pragma once
// A disk inside a tar: an OVA (a tar whose first member is an .ovf descriptor
// naming its disks) or a plain tar holding one image.
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "imgtool/sources.hpp"
#include "imgtool/stream.hpp"

namespace imgtool::sources {

// ustar/GNU/pax header at the start (magic at offset 257, or a valid header
// checksum). `head` is at least 512 bytes for a certain answer.
bool looks_like_tar(std::span<const std::byte> head) noexcept;

struct PackagedDisk {
  std::unique_ptr<ByteStream> stream;  // the member's bytes, exactly its size
  SourceLayer layer;                   // kind "ova" (an .ovf came first) or "tar"
};

// Reads tar headers front to back (pax and GNU long names, sizes in octal
// and base-256), parses the OVF when the first member is an .ovf (its
// References/File and DiskSection/Disk: capacity with
// capacityAllocationUnits, format URI), and stops at the disk member:
// `member` when given (Error(Usage) naming the members when absent), else the
// one disk the OVF lists (several: Error(Usage) "the OVA holds N disks: a.vmdk,
// b.vmdk; choose one with --member"), else the tar's only regular file.
// A member that is not there, a header with a bad checksum, names with "..",
// sizes past any sane bound: Error(Format). The returned stream ends exactly
// at the member's end.
PackagedDisk open_packaged_disk(std::unique_ptr<ByteStream> tar, const std::optional<std::string>& member);

}  // namespace imgtool::sources
