// Compressed streams and archives (gzip, xz, bzip2, zstd, tar/OVA): not disk
// images, but what disk images are downloaded in. Detected from their magic so
// that they are named as what they are — qemu and Glance call them "raw", and
// a compressed image published as raw boots as garbage. Never read here.
#include <string>
#include <string_view>

#include "formats/detect_util.hpp"
#include "formats/detected_image.hpp"
#include "formats/driver.hpp"
#include "io/bytes.hpp"

namespace imgtool::formats {
namespace {

// RFC 1952: ID1 ID2, CM = 8 (deflate), FLG with the reserved bits 5-7 clear.
constexpr std::string_view kGzip("\x1f\x8b\x08", 3);
// xz file format 1.0.4 §2.1.1: magic, then stream flags 0x00 0x0X.
constexpr std::string_view kXz("\xfd" "7zXZ\0", 6);
// bzip2: "BZh" + block size '1'..'9', then a block (pi) or end-of-stream (sqrt pi) magic.
constexpr std::string_view kBzBlock("\x31\x41\x59\x26\x53\x59", 6);
constexpr std::string_view kBzEnd("\x17\x72\x45\x38\x50\x90", 6);
// RFC 8878 §3.1.1: zstd frame magic 0xFD2FB528, little-endian.
constexpr std::string_view kZstd("\x28\xb5\x2f\xfd", 4);
// POSIX ustar header: "ustar\0" "00" (or GNU's "ustar  \0") at 257; checksum at 148.
constexpr size_t kTarMagic = 257, kTarChecksum = 148, kTarBlock = 512;

bool tar_checksum_ok(std::span<const std::byte> h) {
  // Octal digits, NUL/space terminated; the sum counts the field as spaces.
  uint32_t stored = 0;
  size_t i = kTarChecksum;
  while (i < kTarChecksum + 8 && (h[i] == std::byte{' '})) ++i;
  size_t digits = 0;
  for (; i < kTarChecksum + 8 && h[i] >= std::byte{'0'} && h[i] <= std::byte{'7'}; ++i, ++digits)
    stored = stored * 8 + static_cast<uint32_t>(static_cast<unsigned char>(h[i]) - '0');
  if (digits == 0) return false;
  uint32_t sum = 0;
  for (size_t k = 0; k < kTarBlock; ++k)
    sum += (k >= kTarChecksum && k < kTarChecksum + 8) ? ' ' : static_cast<unsigned char>(h[k]);
  return sum == stored;
}

std::string first_tar_member(std::span<const std::byte> h) {
  std::string_view n(reinterpret_cast<const char*>(h.data()), 100);
  return std::string(n.substr(0, n.find('\0')));
}

std::unique_ptr<Image> open_archive(std::shared_ptr<const ByteSource> src, Format f, std::string what) {
  ImageInfo info = detected_info(*src, f, src->size());
  std::string how;
  switch (f) {
    case Format::Gzip: how = "gunzip"; break;
    case Format::Xz: how = "xz -d"; break;
    case Format::Bzip2: how = "bunzip2"; break;
    case Format::Zstd: how = "zstd -d"; break;
    default: how = "tar -x"; break;
  }
  std::vector<Finding> findings;
  findings.push_back({Severity::Unsafe, FindingKind::NotADiskImage,
                      what + ", not a disk image: Glance would store these bytes as they are and instances "
                             "would boot them as a disk; unpack the image first (" +
                          how + ")"});
  return std::make_unique<DetectedImage>(std::move(src), std::move(info), std::move(findings));
}

}  // namespace

int gzip_probe(const ProbeInput& in) noexcept {
  return has_magic(in.head, 0, kGzip) && in.head.size() > 3 && (static_cast<unsigned>(in.head[3]) & 0xe0) == 0
             ? 100
             : 0;
}
int xz_probe(const ProbeInput& in) noexcept {
  return has_magic(in.head, 0, kXz) && in.head.size() > 7 && in.head[6] == std::byte{0} &&
                 (static_cast<unsigned>(in.head[7]) & 0xf0) == 0
             ? 100
             : 0;
}
int bzip2_probe(const ProbeInput& in) noexcept {
  if (!has_magic(in.head, 0, "BZh") || in.head.size() < 10) return 0;
  const auto level = static_cast<unsigned char>(in.head[3]);
  if (level < '1' || level > '9') return 0;
  return has_magic(in.head, 4, kBzBlock) || has_magic(in.head, 4, kBzEnd) ? 100 : 0;
}
int zstd_probe(const ProbeInput& in) noexcept { return has_magic(in.head, 0, kZstd) ? 100 : 0; }
int tar_probe(const ProbeInput& in) noexcept {
  if (in.head.size() < kTarBlock) return 0;
  if (!has_magic(in.head, kTarMagic, std::string_view("ustar\0" "00", 8)) &&
      !has_magic(in.head, kTarMagic, std::string_view("ustar  \0", 8)))
    return 0;
  return tar_checksum_ok(in.head.first(kTarBlock)) ? 100 : 0;
}

std::unique_ptr<Image> gzip_open(std::shared_ptr<const ByteSource> src, Gate&) {
  return open_archive(std::move(src), Format::Gzip, "a gzip-compressed stream");
}
std::unique_ptr<Image> xz_open(std::shared_ptr<const ByteSource> src, Gate&) {
  return open_archive(std::move(src), Format::Xz, "an xz-compressed stream");
}
std::unique_ptr<Image> bzip2_open(std::shared_ptr<const ByteSource> src, Gate&) {
  return open_archive(std::move(src), Format::Bzip2, "a bzip2-compressed stream");
}
std::unique_ptr<Image> zstd_open(std::shared_ptr<const ByteSource> src, Gate&) {
  return open_archive(std::move(src), Format::Zstd, "a zstd-compressed stream");
}
std::unique_ptr<Image> tar_open(std::shared_ptr<const ByteSource> src, Gate&) {
  std::string what = "a tar archive";
  if (src->size() >= kTarBlock) {
    const std::string first = first_tar_member(src->read_vector(0, kTarBlock));
    // An OVA is a tar whose first member is the .ovf descriptor (DMTF DSP0243).
    if (first.size() > 4 && first.compare(first.size() - 4, 4, ".ovf") == 0)
      what = "an OVA (a tar archive whose first member is '" + escape_name(first) + "')";
  }
  return open_archive(std::move(src), Format::Tar, what);
}

}  // namespace imgtool::formats
