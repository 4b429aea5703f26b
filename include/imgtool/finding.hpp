#pragma once
// What a check finds, as data. A finding says how bad it is (severity), what
// it is (kind) and, when the image names another file, which file and in
// which role. Decisions are made on these fields only: the message is for
// people and may embed names taken from the image (escaped for terminals).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imgtool/format.hpp"

namespace imgtool {

// Worst last. The verdict of an image is its worst severity.
enum class Severity : uint8_t {
  Note,        // worth saying, changes nothing (e.g. a rule only Glance applies, when imgtool reads the data)
  Leak,        // allocated but unused space: wasted, harmless (qemu-img check "leaks")
  Corruption,  // inconsistent metadata or data out of bounds (qemu-img check "errors")
  Unreadable,  // imgtool cannot read or check it: malformed header, unsupported version, empty file
  Unsafe,      // reading it would touch other files, or a consumer (Glance, qemu) would misread it
};

enum class FindingKind : uint8_t {
  NamedFile,           // the image names another file (Finding::file says which)
  SeveralFormats,      // the bytes are valid headers of more than one format
  PartitionTable,      // Glance's MBR/GPT safety rules for raw images
  GlanceRule,          // something Glance refuses to store although qemu reads it
  NotADiskImage,       // a compressed stream or an archive, not a disk image
  Malformed,           // the header or descriptor cannot be parsed
  UnsupportedFeature,  // a version or feature imgtool cannot read
  Empty,               // a zero-length file
  Metadata,            // inconsistent metadata: tables, refcounts, flags, markers
  PastEof,             // metadata or guest data that lies past the end of the file
  Overlap,             // two users of the same host cluster or sector
  Leak,                // allocated, never referenced
};

// The role of a file an image names.
enum class FileRole : uint8_t {
  BackingFile,  // qcow2/qed/qcow backing file: unallocated guest data reads from it
  DataFile,     // qcow2 external data file: all guest data lives in it
  Extent,       // vmdk descriptor extent: a piece of the disk in its own file
  Parent,       // differencing parent (vhd, vhdx, vdi, vmdk parentFileNameHint)
};

struct FileRef {
  FileRole role = FileRole::BackingFile;
  std::string name;  // exactly as stored in the image (untrusted bytes: escape before printing)
  bool operator==(const FileRef&) const = default;
};

// What the user can do to get past a refusal, if anything.
enum class Override : uint8_t {
  None,
  AllowBacking,        // --allow-backing: read (flatten) a backing file beside the image
  AllowExternalFiles,  // --allow-external-files: read a data file or an extent of another name beside the image
  ConvertTo,           // publish --convert-to FMT: let imgtool read it and send a self-contained image
};

struct Finding {
  Finding() = default;
  Finding(Severity s, FindingKind k, std::string msg, std::optional<FileRef> f = std::nullopt,
          Override o = Override::None)
      : severity(s), kind(k), message(std::move(msg)), file(std::move(f)), override_with(o) {}

  Severity severity = Severity::Corruption;
  FindingKind kind = FindingKind::Metadata;
  std::string message;          // one line; names offsets, sizes and limits
  std::optional<FileRef> file;  // kind NamedFile: the file named
  Override override_with = Override::None;
};

// The command-line flag of an override ("--allow-backing"); empty for None.
std::string_view override_flag(Override o) noexcept;
std::string_view to_string(Severity s) noexcept;     // "note", "leak", "corruption", "unreadable", "unsafe"
std::string_view to_string(FindingKind k) noexcept;  // "named-file", "several-formats", ...
std::string_view to_string(FileRole r) noexcept;     // "backing-file", "data-file", "extent", "parent"

// A driver's consistency walk (Image::check): findings plus qemu-img check's
// statistics where the format has clusters (qcow2, vmdk).
struct CheckReport {
  std::string filename;
  Format format = Format::Raw;
  std::vector<Finding> findings;
  std::optional<uint64_t> total_clusters;
  std::optional<uint64_t> allocated_clusters;
  std::optional<uint64_t> fragmented_clusters;
  std::optional<uint64_t> compressed_clusters;
  std::optional<uint64_t> image_end_offset;

  size_t count(Severity s) const;
  // No finding worse than a note.
  bool clean() const;
};

}  // namespace imgtool
