// What the vmdk writers put at the head of a hosted sparse file besides the
// tables: the header fields they share and the embedded descriptor (text as
// qemu's vmdk_co_do_create template plus open-vmdk's encoding and
// ddb.longContentID lines). The header bytes themselves are encoded by
// encode_sparse_header() (vmdk_sparse_header.cpp), next to their parser.
//
// qemu and VMware pick the CID at random. imgtool derives it from the digest
// of the guest data, so that converting the same source twice gives the same
// bytes (docs/convert.md, "Deterministic output"); it still changes whenever
// the content does, which is what a content ID is for.
#include <algorithm>
#include <cstdio>

#include "formats/vmdk/vmdk_writer.hpp"
#include "imgtool/error.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

std::string hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

uint32_t be32_at(const convert::ContentDigest& d, size_t at) {
  return (uint32_t{std::to_integer<uint8_t>(d[at])} << 24) |
         (uint32_t{std::to_integer<uint8_t>(d[at + 1])} << 16) |
         (uint32_t{std::to_integer<uint8_t>(d[at + 2])} << 8) | uint32_t{std::to_integer<uint8_t>(d[at + 3])};
}

}  // namespace

ContentIds content_ids(const convert::ContentDigest& d) {
  ContentIds ids;
  ids.cid = be32_at(d, 0);
  // Never kNoParentCid or 0xfffffffe, which VMware reserves (open-vmdk
  // sparse.c avoids both).
  if (ids.cid >= 0xfffffffeu) ids.cid -= 2;
  // longContentID: 128 bits whose last 32 are the CID (open-vmdk).
  ids.long_content_id = hex8(be32_at(d, 4)) + hex8(be32_at(d, 8)) + hex8(be32_at(d, 12)) + hex8(ids.cid);
  return ids;
}

SparseHeader writer_header() {
  SparseHeader h;
  h.grain_size = kGrainSectors;
  h.num_gtes_per_gt = kGtesPerGt;
  h.desc_offset = kDescriptorSector;
  h.desc_size = kDescriptorSectors;
  return h;
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

std::vector<std::byte> make_descriptor(const WriterOptions& o, uint64_t capacity,
                                       const std::string& extent_file, const ContentIds& ids) {
  // Geometry as VMware writes it: 16 heads for IDE, 255 otherwise, 63
  // sectors per track; cylinders capped at 65535 (open-vmdk).
  const uint64_t heads = o.adapter_type == "ide" ? 16 : 255;
  const uint64_t cylinders = std::min<uint64_t>(capacity / (63 * heads), 65535);
  const char* create_type =
      o.subformat == Subformat::StreamOptimized ? "streamOptimized" : "monolithicSparse";

  std::string d;
  d += "# Disk DescriptorFile\n";
  d += "version=1\n";
  d += "encoding=\"UTF-8\"\n";
  d += "CID=" + hex8(ids.cid) + "\n";
  d += "parentCID=" + hex8(kNoParentCid) + "\n";
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
  d += "ddb.longContentID = \"" + ids.long_content_id + "\"\n";

  const size_t size = kDescriptorSectors * kSector;
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

void DescriptorStamp::write(const convert::TargetPlan& plan, uint64_t capacity) {
  capacity_ = capacity;
  at_ = sink_.position();
  if (plan.content_digest) {
    digest_ = plan.content_digest;
    final_ = true;
  } else if (!sink_.seekable()) {
    throw Error(ErrorKind::Usage, sink_.name(),
                "internal: a vmdk written to a stream needs the content digest from a plan pass");
  }
  sink_.write(bytes(digest_.value_or(convert::ContentDigest{})));
}

void DescriptorStamp::finish() {
  if (final_) return;
  if (!digest_) throw Error(ErrorKind::Usage, sink_.name(), "internal: vmdk writer got no content digest");
  sink_.pwrite(at_, bytes(*digest_));
  final_ = true;
}

std::vector<std::byte> DescriptorStamp::bytes(const convert::ContentDigest& d) const {
  return make_descriptor(o_, capacity_, extent_file_name(sink_.name()), content_ids(d));
}

}  // namespace imgtool::vmdk
