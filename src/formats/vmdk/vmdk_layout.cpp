// Opening a VMDK: hosted sparse file or descriptor file (see vmdk_layout.hpp).
// Mirrors qemu 7.2 block/vmdk.c vmdk_open / vmdk_open_vmdk4 /
// vmdk_open_desc_file / vmdk_parse_extents, with caps and without following
// any path unless the caller allowed it.
#include "formats/vmdk/vmdk_layout.hpp"

#include <algorithm>

#include "formats/gate.hpp"
#include "io/bytes.hpp"

namespace imgtool::vmdk {
namespace {

std::string num(uint64_t v) {
  return std::to_string(v);
}

// Reads [off, off+len) clipped to the file, zero-padded to len (qemu's
// bdrv_pread zero-fills past EOF).
std::string read_text(const ByteSource& src, uint64_t off, uint64_t len) {
  std::string s(static_cast<size_t>(len), '\0');
  // read_at is short only at the end: no size() (a stream would be read to its end for it).
  src.read_at(off, std::span<std::byte>(reinterpret_cast<std::byte*>(s.data()), s.size()));
  return s;
}

// CID, parentCID and parentFileNameHint the way qemu reads them: from
// DESC_SIZE bytes at `qemu_off` of the main file.
void read_qemu_ids(Layout& L, uint64_t qemu_off) {
  std::string q = read_text(*L.src, qemu_off, kQemuDescBytes);
  q.back() = '\0';  // desc[DESC_SIZE - 1] = '\0'
  auto cid = qemu_read_cid(q, false);
  auto pcid = qemu_read_cid(q, true);
  if (!cid || !pcid)
    throw Error(ErrorKind::Format, "",
                std::string("descriptor at ") + io::hex(qemu_off) + " has no readable " +
                    (cid ? "parentCID" : "CID") + "= value (qemu refuses to open it)",
                qemu_off);
  L.cid = *cid;
  L.parent_cid = *pcid;
  bool malformed = false;
  L.parent_hint = qemu_quoted_value(q, "parentFileNameHint", 4095, &malformed);
  if (malformed)
    throw Error(ErrorKind::Format, "", "parentFileNameHint has no closing quote or exceeds 4095 bytes",
                qemu_off);
}

// The extent path as qemu 7.2 prints it: absolute names as-is, others
// appended to the descriptor's directory prefix (bdrv_dirname). Display only.
std::string qemu_extent_path(const std::string& descriptor_path, const std::string& name) {
  if (!name.empty() && name.front() == '/') return name;
  const size_t slash = descriptor_path.rfind('/');
  return (slash == std::string::npos ? std::string() : descriptor_path.substr(0, slash + 1)) + name;
}

void open_file_extent(Layout& L, ImageExtent& x, formats::Gate& gate) {
  std::shared_ptr<const ByteSource> f = gate.open({FileRole::Extent, x.name});
  if (!f) {
    x.refusal_kind = ErrorKind::Unsafe;
    x.refusal = "vmdk extent '" + escape_name(x.name) + "' " + gate.decide({FileRole::Extent, x.name}).reason;
    return;
  }
  if (x.flat) {
    x.file = std::move(f);
    return;
  }
  std::vector<std::byte> magic(std::min<uint64_t>(4, f->size()));
  f->read_exact(0, magic);
  if (is_kdmv_magic(magic)) {
    auto sp = std::make_shared<const SparseExtent>(f);
    // qemu vmdk_open_vmdk4 takes the extent size from the extent's header.
    x.length = sp->size();
    x.cluster_bytes = sp->geometry().grain_bytes;
    x.compressed = sp->header().compressed();
    if (x.compressed) L.create_type = "streamOptimized";  // qemu overrides create_type
    x.sparse = std::move(sp);
  } else if (is_cowd_magic(magic) || x.type == "SESPARSE") {
    x.refusal_kind = ErrorKind::Unsupported;
    x.refusal = "vmdk extent '" + escape_name(x.name) + "' (" + x.type +
                ", VMDK3/seSparse layout) is not supported for reading";
  } else {
    throw Error(ErrorKind::Format, f->name(), "vmdk " + x.type + " extent has no KDMV/COWD magic");
  }
}

void open_descriptor(Layout& L, std::string text, formats::Gate& gate) {
  std::string_view c = c_string_view(text);
  L.descriptor_text.assign(c);
  L.descriptor = parse_descriptor(L.descriptor_text);
  bool malformed = false;
  auto ct = qemu_quoted_value(L.descriptor_text, "createType", 127, &malformed);
  if (!ct || malformed)
    throw Error(ErrorKind::Format, "", "invalid VMDK descriptor: no createType=\"...\" value",
                L.descriptor_offset);
  if (!qemu_accepts_descriptor_create_type(*ct))
    throw Error(ErrorKind::Unsupported, "",
                "unsupported VMDK descriptor createType '" + *ct +
                    "' (qemu accepts monolithicFlat, vmfs, vmfsSparse, seSparse, twoGbMaxExtentSparse, "
                    "twoGbMaxExtentFlat in a descriptor file)");
  L.create_type = *ct;
  auto lines = qemu_parse_extents(L.descriptor_text);
  // vmdk_open_desc_file sets desc_offset = 0: ids come from the file start.
  read_qemu_ids(L, 0);
  if (lines.empty())
    throw Error(ErrorKind::Format, "",
                "VMDK descriptor has no usable extent (qemu uses only RW FLAT, SPARSE, VMFS, VMFSSPARSE and "
                "SESPARSE lines with a size > 0)");
  uint64_t guest = 0;
  for (const auto& e : lines) {
    ImageExtent x;
    x.type = e.type;
    x.name = e.filename;
    x.path = qemu_extent_path(L.src->name(), e.filename);
    x.separate_file = true;
    x.line_no = e.line_no;
    x.flat = e.type == "FLAT" || e.type == "VMFS";
    const uint64_t sectors = static_cast<uint64_t>(e.sectors);  // > 0 (qemu_parse_extents)
    if (sectors > (uint64_t{1} << 54))
      throw Error(ErrorKind::Format, "",
                  "extent line " + num(e.line_no) + " has " + num(sectors) + " sectors (limit 2^54, 8 EiB)");
    x.length = sectors * kSector;
    if (x.flat) {
      const uint64_t off = static_cast<uint64_t>(e.offset.value_or(0));
      if (off > (uint64_t{1} << 54))
        throw Error(ErrorKind::Format, "",
                    "extent line " + num(e.line_no) + " has offset " + num(off) + " sectors (limit 2^54)");
      x.flat_offset = off * kSector;
    } else {
      x.cluster_bytes = kDefaultGrainSectors * kSector;  // exact once the extent is opened
    }
    open_file_extent(L, x, gate);
    x.start = guest;
    if (io::add_overflows(guest, x.length, &guest) || guest > (uint64_t{1} << 63))
      throw Error(ErrorKind::Format, "",
                  "extents add up to more than 2^63 bytes (line " + num(e.line_no) + ")");
    L.extents.push_back(std::move(x));
  }
  L.virtual_size = guest;
}

}  // namespace

Layout open_layout(std::shared_ptr<const ByteSource> src, formats::Gate& gate) {
  Layout L;
  L.src = std::move(src);
  // A one-pass source (a stream read once) is not read to its end for the
  // size: a streamOptimized image is then read through its markers.
  const uint64_t size = L.src->one_pass() ? L.src->known_size().value_or(UINT64_MAX) : L.src->size();
  // qemu vmdk_read_desc: "File is too small, not a valid image".
  if (size < 4) throw Error(ErrorKind::Format, "", "file is " + num(size) + " bytes, too small to be a VMDK");
  std::vector<std::byte> head(static_cast<size_t>(std::min<uint64_t>(size, kSector)));
  head.resize(L.src->read_at(0, head));
  if (!is_kdmv_magic(head)) {
    L.descriptor_bytes_declared = size;
    open_descriptor(L, read_text(*L.src, 0, std::min(size, kMaxDescriptorBytes)), gate);
    return L;
  }
  if (size < kSector)
    throw Error(ErrorKind::Format, "",
                "file is " + num(size) + " bytes; a VMDK sparse header needs 512 bytes");
  const SparseHeader h = parse_sparse_header(head);
  if (h.capacity == 0 && h.desc_offset != 0) {
    // qemu: a sparse header with capacity 0 only carries a descriptor file.
    if (h.desc_offset > size / kSector)
      throw Error(
          ErrorKind::Format, "",
          "descriptor offset " + num(h.desc_offset) + " sectors is past EOF (" + num(size) + " bytes)",
          hdr::kDescriptorOffset);
    L.descriptor_offset = h.desc_offset * kSector;
    L.descriptor_bytes_declared = size - L.descriptor_offset;
    open_descriptor(
        L, read_text(*L.src, L.descriptor_offset, std::min(size - L.descriptor_offset, kMaxDescriptorBytes)),
        gate);
    return L;
  }
  auto sp = std::make_shared<const SparseExtent>(L.src);
  const SparseHeader& eh = sp->header();
  // The embedded descriptor, for check() and Glance's rules; capped.
  uint64_t dlen = 0;
  if (h.desc_offset != 0 && h.desc_offset <= size / kSector) {
    L.descriptor_offset = h.desc_offset * kSector;
    L.descriptor_bytes_declared = h.desc_size > ~uint64_t{0} / kSector ? ~uint64_t{0} : h.desc_size * kSector;
    dlen = std::min({L.descriptor_bytes_declared, kMaxDescriptorBytes, size - L.descriptor_offset});
  }
  L.descriptor_text.assign(c_string_view(read_text(*L.src, L.descriptor_offset, dlen)));
  L.descriptor = parse_descriptor(L.descriptor_text);
  // qemu infers the create type (vmdk_open_vmdk4), it does not read it.
  L.create_type = eh.compressed() ? "streamOptimized" : "monolithicSparse";
  read_qemu_ids(L, kQemuDescOffset);
  ImageExtent x;
  x.path = L.src->name();
  x.length = sp->size();
  x.compressed = eh.compressed();
  x.cluster_bytes = sp->geometry().grain_bytes;
  x.sparse = sp;
  L.hosted = std::move(sp);
  L.virtual_size = x.length;
  L.extents.push_back(std::move(x));
  return L;
}

}  // namespace imgtool::vmdk
