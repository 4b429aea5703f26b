#pragma once
// The VMDK text descriptor ("# Disk DescriptorFile"): a standalone descriptor
// file or the one embedded in a hosted sparse extent. Two readings of the same
// text:
//  - parse_descriptor(): a structured, line-based parse (key=value, extent
//    lines, ddb.* keys, lines that are none of these) used by check() and for
//    Glance's rules (oslo format_inspector VMDKInspector).
//  - qemu_*(): what qemu 7.2 block/vmdk.c actually does (strstr/sscanf), so
//    that info matches `qemu-img info` even on odd descriptors.
// Callers cap the text at kMaxDescriptorBytes; every loop is bounded by it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imgtool::vmdk {

// Extent line `ACCESS SECTORS TYPE "file" [offset]`.
struct DescriptorExtent {
  size_t line_no = 0;  // 1-based
  std::string line;    // the raw line (no newline)
  std::string access;  // RW, RDONLY, NOACCESS
  int64_t sectors = 0;
  std::string type;      // FLAT, SPARSE, ZERO, VMFS, VMFSSPARSE, SESPARSE, ...
  std::string filename;  // as written (may be empty for ZERO)
  std::optional<int64_t> offset;
};

struct Descriptor {
  std::vector<std::pair<std::string, std::string>> keys;      // key = value (value unquoted), in order
  std::vector<DescriptorExtent> extents;                      // every extent line, any access/type
  std::vector<std::pair<size_t, std::string>> invalid_lines;  // neither comment, key=value nor extent
  size_t line_count = 0;

  // First value of `key` (case-sensitive), unquoted.
  const std::string* find(std::string_view key) const;
};

Descriptor parse_descriptor(std::string_view text);

// Limits on the descriptor: extents beyond this are refused.
inline constexpr size_t kMaxExtents = 16384;

// ---- qemu 7.2 emulation (block/vmdk.c) -----------------------------------

// The text as a C string: qemu NUL-terminates the buffer, so everything after
// an embedded NUL is invisible to it.
std::string_view c_string_view(std::string_view text);

// vmdk_read_cid: strstr(desc, "CID" | "parentCID"), skip the key and one
// character, sscanf("%x"). nullopt when qemu fails to open (-EINVAL).
std::optional<uint32_t> qemu_read_cid(std::string_view desc, bool parent);

// vmdk_parse_description / vmdk_parent_open: strstr(key), skip `="`, value up
// to the next '"'. nullopt when the key is absent; `malformed` set when qemu
// would fail (no closing quote, or longer than max_len).
std::optional<std::string> qemu_quoted_value(std::string_view desc, std::string_view key, size_t max_len,
                                             bool* malformed);

// vmdk_parse_extents: the extents qemu uses (only RW lines of type FLAT,
// SPARSE, VMFS, VMFSSPARSE, SESPARSE with sectors > 0), in order. Throws
// Error(Format) "invalid extent line: ..." where qemu does.
std::vector<DescriptorExtent> qemu_parse_extents(std::string_view desc);

// createType values qemu accepts in a standalone descriptor file.
bool qemu_accepts_descriptor_create_type(std::string_view ct);

}  // namespace imgtool::vmdk
