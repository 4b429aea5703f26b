// luks: detection and metadata only. LUKS1 on-disk format (cryptsetup
// "LUKS On-Disk Format Specification" 1.2.3, big-endian): 0 magic
// "LUKS\xba\xbe", 6 version u16, 8 cipher name[32], 40 cipher mode[32],
// 104 payload offset (sectors). qemu (crypto/block-luks.c) sizes the disk as
// file size − payload offset. LUKS2 (spec 1.1.x): 8 header size u64, a JSON
// area from 4096 whose "segments" give the payload offset; qemu 7.2 cannot open
// it and Glance's inspector refuses any version but 1.
#include <algorithm>
#include <optional>
#include <string>

#include "formats/detect_util.hpp"
#include "formats/detected_image.hpp"
#include "formats/driver.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

constexpr std::string_view kMagic("LUKS\xba\xbe", 6);
constexpr size_t kV1HeaderSize = 208;  // up to the key slots
constexpr size_t kVersion = 6, kCipherName = 8, kCipherMode = 40, kPayloadOffset = 104;
constexpr size_t kV2HeaderSize = 8, kV2JsonStart = 4096;
constexpr uint64_t kV2MaxJson = 4 * 1024 * 1024;  // LUKS2 spec: header (binary + JSON) ≤ 4 MiB

std::string c_string(io::Bytes b, size_t off, size_t len) {
  std::string_view v = io::load_chars(b, off, len);
  return printable(v.substr(0, v.find('\0')), len);
}

// Payload offset from the LUKS2 JSON: the first "offset":"<digits>" after
// "segments". A bounded text scan, not a JSON parser: enough to size the disk
// for a report, and nothing here decides safety (LUKS2 is refused anyway).
std::optional<uint64_t> luks2_payload_offset(std::string_view json) {
  size_t p = json.find("\"segments\"");
  if (p == std::string_view::npos) return std::nullopt;
  p = json.find("\"offset\"", p);
  if (p == std::string_view::npos) return std::nullopt;
  p += 8;
  while (p < json.size() && (json[p] == ' ' || json[p] == ':' || json[p] == '"')) ++p;
  uint64_t v = 0;
  size_t digits = 0;
  for (; p < json.size() && json[p] >= '0' && json[p] <= '9' && digits < 19; ++p, ++digits)
    v = v * 10 + uint64_t(json[p] - '0');
  if (digits == 0) return std::nullopt;
  return v;
}

}  // namespace

int luks_probe(const ProbeInput& in) noexcept {
  return has_magic(in.head, 0, kMagic) ? 100 : 0;
}

std::unique_ptr<Image> luks_open(std::shared_ptr<const ByteSource> src, Gate&) {
  const uint64_t fsize = src->size();
  std::vector<std::byte> h = src->read_vector(0, kV1HeaderSize);
  if (!has_magic(h, 0, kMagic))
    throw Error(ErrorKind::Format, src->name(), "not a LUKS image: expected 'LUKS\\xba\\xbe' at offset 0", 0);
  const uint16_t version = io::load_be16(h, kVersion);
  std::vector<Finding> findings;
  uint64_t payload = 0;
  bool payload_known = false;
  if (version == 1) {
    payload = uint64_t(io::load_be32(h, kPayloadOffset)) * 512;
    payload_known = true;
  } else {
    findings.push_back({Severity::Unsafe, FindingKind::GlanceRule, "LUKS version " + std::to_string(version) +
                                                 " is refused by Glance (only version 1 is accepted)"});
    if (version == 2) {
      const uint64_t hdr = io::load_be64(h, kV2HeaderSize);
      if (hdr > kV2JsonStart) {
        const uint64_t len = std::min(hdr - kV2JsonStart,
                                      std::min(kV2MaxJson, fsize > kV2JsonStart ? fsize - kV2JsonStart : 0));
        std::vector<std::byte> j = src->read_vector(kV2JsonStart, len);
        if (auto off = luks2_payload_offset({reinterpret_cast<const char*>(j.data()), j.size()})) {
          payload = *off;
          payload_known = true;
        }
      }
    }
  }
  if (payload_known && payload > fsize)
    throw Error(ErrorKind::Format, src->name(),
                "LUKS payload offset " + std::to_string(payload) + " is past the end of the file (" +
                    std::to_string(fsize) + " bytes)",
                version == 1 ? std::optional<uint64_t>(kPayloadOffset) : std::nullopt);
  ImageInfo info = detected_info(*src, Format::Luks, payload_known ? fsize - payload : 0);
  info.encrypted = true;
  info.extra.set("luks-version", InfoNode::integer(version));
  if (version == 1) {
    info.extra.set("luks-cipher",
                   InfoNode::string(c_string(h, kCipherName, 32) + "-" + c_string(h, kCipherMode, 32)));
    info.extra.set("luks-payload-offset", InfoNode::integer(int64_t(payload)));
  }
  return std::make_unique<DetectedImage>(std::move(src), std::move(info), std::move(findings));
}

}  // namespace imgtool::formats
