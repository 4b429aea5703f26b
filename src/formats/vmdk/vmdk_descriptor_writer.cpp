// The header sector, special markers and the embedded descriptor of a hosted
// sparse VMDK. Layout: VMware "Virtual Disk Format 5.0" / open-vmdk
// vmware_vmdk.h (SparseExtentHeaderOnDisk, packed little-endian); descriptor
// text as qemu's vmdk_co_do_create template plus open-vmdk's encoding and
// ddb.longContentID lines.
#include <algorithm>
#include <cstdio>
#include <random>

#include "formats/vmdk/vmdk_writer.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::convert::vmdk {
namespace {

// SparseExtentHeaderOnDisk field offsets.
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffFlags = 8;
constexpr size_t kOffCapacity = 12;
constexpr size_t kOffGrainSize = 20;
constexpr size_t kOffDescOffset = 28;
constexpr size_t kOffDescSize = 36;
constexpr size_t kOffNumGtes = 44;
constexpr size_t kOffRgdOffset = 48;
constexpr size_t kOffGdOffset = 56;
constexpr size_t kOffOverhead = 64;
constexpr size_t kOffNewlineTest = 73;  // after uncleanShutdown (72, left 0)
constexpr size_t kOffCompress = 77;

// A CID VMware accepts: random, never 0xffffffff (= "no parent") or
// 0xfffffffe (open-vmdk sparse.c avoids both).
uint32_t random_cid(std::mt19937& rng) {
  for (;;) {
    uint32_t cid = static_cast<uint32_t>(rng());
    if (cid != 0xffffffffu && cid != 0xfffffffeu) return cid;
  }
}

std::string hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

}  // namespace

Sector encode_header(const HeaderFields& h) {
  Sector s{};
  std::span<std::byte> b(s);
  const char magic[4] = {'K', 'D', 'M', 'V'};
  for (size_t i = 0; i < 4; ++i) b[kOffMagic + i] = std::byte(magic[i]);
  io::store_le32(b, kOffVersion, h.version);
  io::store_le32(b, kOffFlags, h.flags);
  io::store_le64(b, kOffCapacity, h.capacity);
  io::store_le64(b, kOffGrainSize, kGrainSectors);
  io::store_le64(b, kOffDescOffset, h.desc_offset);
  io::store_le64(b, kOffDescSize, h.desc_size);
  io::store_le32(b, kOffNumGtes, static_cast<uint32_t>(kGtes));
  io::store_le64(b, kOffRgdOffset, h.rgd_offset);
  io::store_le64(b, kOffGdOffset, h.gd_offset);
  io::store_le64(b, kOffOverhead, h.overhead);
  // The newline-detection bytes that flag bit 0 promises: a reader that sees
  // them mangled knows the file went through a text-mode transfer.
  const char nl[4] = {'\n', ' ', '\r', '\n'};
  for (size_t i = 0; i < 4; ++i) b[kOffNewlineTest + i] = std::byte(nl[i]);
  io::store_le16(b, kOffCompress, h.compress_algorithm);
  return s;
}

Sector encode_marker(uint64_t val, uint32_t type) {
  Sector s{};
  std::span<std::byte> b(s);
  io::store_le64(b, 0, val);
  io::store_le32(b, 8, 0);  // size 0 = special (metadata) marker, not a grain
  io::store_le32(b, 12, type);
  return s;
}

uint64_t capacity_sectors(uint64_t virtual_size, uint64_t max_capacity, const std::string& target) {
  if (virtual_size == 0)
    throw Error(ErrorKind::Unsupported, target,
                "vmdk cannot hold a 0-byte disk: a sparse extent with capacity 0 is read as a descriptor "
                "file by qemu and refused by libvmdk");
  uint64_t cap = io::div_round_up(virtual_size, kSector);
  if (cap > max_capacity)
    throw Error(ErrorKind::Unsupported, target,
                "virtual size " + std::to_string(virtual_size) + " B is above the vmdk limit of " +
                    std::to_string(max_capacity * kSector) + " B for this subformat");
  return cap;
}

std::string extent_file_name(const std::string& sink_name) {
  std::string base = sink_name.substr(
      sink_name.find_last_of("/\\") == std::string::npos ? 0 : sink_name.find_last_of("/\\") + 1);
  std::string out;
  for (char c : base) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
              c == '-' || c == '_' || c == '+';
    out += ok ? c : '_';
  }
  // Temporary-file suffixes of the sink are not part of the final name.
  if (auto p = out.find(".imgtool-"); p != std::string::npos) out.resize(p);
  constexpr size_t kMaxName = 200;
  if (out.size() > kMaxName) out.resize(kMaxName);
  if (out.empty() || out == "." || out == "..") out = "disk.vmdk";
  return out;
}

std::vector<std::byte> make_descriptor(const Options& o, uint64_t capacity, const std::string& extent_file) {
  std::random_device rd;
  std::mt19937 rng(rd());
  const uint32_t cid = random_cid(rng);
  // Geometry as VMware writes it: 16 heads for IDE, 255 otherwise, 63
  // sectors per track; cylinders capped at 65535 (open-vmdk).
  const uint64_t heads = o.adapter_type == "ide" ? 16 : 255;
  const uint64_t cylinders = std::min<uint64_t>(capacity / (63 * heads), 65535);
  const char* create_type =
      o.subformat == Subformat::StreamOptimized ? "streamOptimized" : "monolithicSparse";
  // longContentID: 128 random bits whose last 32 are the CID (open-vmdk).
  const std::string long_content_id = hex8(static_cast<uint32_t>(rng())) +
                                      hex8(static_cast<uint32_t>(rng())) +
                                      hex8(static_cast<uint32_t>(rng())) + hex8(cid);

  std::string d;
  d += "# Disk DescriptorFile\n";
  d += "version=1\n";
  d += "encoding=\"UTF-8\"\n";
  d += "CID=" + hex8(cid) + "\n";
  d += "parentCID=ffffffff\n";
  d += std::string("createType=\"") + create_type + "\"\n";
  d += "\n# Extent description\n";
  d += "RW " + std::to_string(capacity) + " SPARSE \"" + extent_file + "\"\n";
  d += "\n# The Disk Data Base\n#DDB\n\n";
  d += "ddb.virtualHWVersion = \"" + o.hwversion + "\"\n";
  d += "ddb.geometry.cylinders = \"" + std::to_string(cylinders) + "\"\n";
  d += "ddb.geometry.heads = \"" + std::to_string(heads) + "\"\n";
  d += "ddb.geometry.sectors = \"63\"\n";
  d += "ddb.adapterType = \"" + o.adapter_type + "\"\n";
  d += "ddb.toolsVersion = \"" + o.toolsversion + "\"\n";
  d += "ddb.longContentID = \"" + long_content_id + "\"\n";

  const size_t size = kDescSectors * kSector;
  // Options and the file name are length-capped, so this holds; keep the
  // check so a future field cannot silently overflow into the tables.
  if (d.size() >= size)
    throw Error(ErrorKind::Usage, extent_file,
                "vmdk descriptor is " + std::to_string(d.size()) + " B, more than the " +
                    std::to_string(size - 1) + " B reserved");
  std::vector<std::byte> out(size);
  std::transform(d.begin(), d.end(), out.begin(), [](char c) { return std::byte(c); });
  return out;
}

}  // namespace imgtool::convert::vmdk
