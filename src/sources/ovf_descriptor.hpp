#pragma once
// The parts of an OVF descriptor (DMTF DSP0243) that say which member of an
// OVA is which disk: References/File and DiskSection/Disk. Read by a small
// scanner, not an XML library: element and attribute names are matched by
// their local part (any namespace prefix), entities are the five predefined
// ones and character references, and a DOCTYPE is refused.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgtool::sources::detail {

struct OvfFile {
  std::string id;    // ovf:id
  std::string href;  // ovf:href, leading "./" removed
  std::optional<uint64_t> size;
};

struct OvfDisk {
  std::string disk_id;   // ovf:diskId
  std::string file_ref;  // ovf:fileRef: an OvfFile's id ("" for an empty disk made at deploy time)
  std::optional<uint64_t>
      capacity;        // bytes: ovf:capacity × ovf:capacityAllocationUnits (nullopt: not a number)
  std::string format;  // ovf:format URI
};

struct OvfDescriptor {
  std::vector<OvfFile> files;
  std::vector<OvfDisk> disks;
  const OvfFile* file(std::string_view id) const;
};

// Throws Error(Format) naming `source` (the OVA) and `member` (the .ovf) for
// XML it cannot read.
OvfDescriptor parse_ovf(std::string_view xml, const std::string& source, const std::string& member);

// "byte", "byte * 2^30", "byte*1024", "" (bytes): the multiplier; nullopt for
// units it does not know.
std::optional<uint64_t> ovf_allocation_units(std::string_view units);

}  // namespace imgtool::sources::detail
