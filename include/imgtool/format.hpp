#pragma once
// Format identity. Every layer names a format by this enum, never by a string:
// names are for people (qemu-img's driver names in `info`, Glance's
// disk_format values in requests) and are derived from it here.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace imgtool {

enum class Format : uint8_t {
  Raw,
  Qcow2,
  Qcow,  // qemu's qcow version 1: detected so that it is never taken for raw
  Vmdk,
  Vpc,  // VHD (qemu calls the driver "vpc")
  Vhdx,
  Vdi,
  Qed,
  Luks,
  Iso,
  // Not disk images: containers and compressed streams that people download
  // disk images in. Detected so that they are named as what they are.
  Gzip,
  Xz,
  Bzip2,
  Zstd,
  Tar,
};

// qemu-img's driver name ("vpc", "qcow2", "raw"), or the common name of a
// container or compression format ("gzip", "tar").
std::string_view format_name(Format f) noexcept;

// Glance's disk_format for the format ("vhd" for vpc); empty when Glance has
// no disk_format for it (qed, luks, the containers).
std::string_view glance_disk_format(Format f) noexcept;

// The format named `name` (qemu's driver names, as `-f` takes them); nullopt
// when imgtool does not know it.
std::optional<Format> format_from_name(std::string_view name) noexcept;

// Every format imgtool knows, in detection order (for messages and `-f`).
std::vector<Format> known_formats();

// "raw, qcow2, vmdk": the names of `formats`, comma-separated.
std::string format_list(const std::vector<Format>& formats);

// The formats imgtool can write (convert -O, publish --convert-to).
std::vector<Format> writable_formats();

// Streams the format's name (for messages and test output).
inline std::ostream& operator<<(std::ostream& o, Format f) { return o << format_name(f); }

}  // namespace imgtool
