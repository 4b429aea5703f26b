#pragma once
// How a VMDK image is put together once opened: the descriptor (embedded or a
// file of its own), qemu's view of it (create type, CIDs, parent hint) and the
// guest-ordered list of extents. Shared by the reader (vmdk_reader.cpp) and
// check (vmdk_check.cpp).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/vmdk/vmdk_descriptor.hpp"
#include "formats/vmdk/vmdk_sparse_extent.hpp"
#include "imgtool/error.hpp"
#include "imgtool/image.hpp"

namespace imgtool::formats {
class Gate;
}

namespace imgtool::vmdk {

struct ImageExtent {
  std::string type;            // descriptor type (FLAT, SPARSE, VMFS, ...); "" for a hosted sparse file
  std::string name;            // file name as written in the descriptor ("" for hosted)
  std::string path;            // the path qemu prints (descriptor dir + name, or the image itself)
  bool separate_file = false;  // false: the data lives in the main image file
  size_t line_no = 0;          // descriptor line (separate files)
  uint64_t start = 0;          // guest offset
  uint64_t length = 0;         // guest bytes
  bool flat = false;           // FLAT/VMFS: raw bytes at flat_offset
  uint64_t flat_offset = 0;    // bytes
  bool compressed = false;
  uint64_t cluster_bytes = 0;                  // grain size of sparse extents
  std::shared_ptr<const ByteSource> file;      // opened flat extent file
  std::shared_ptr<const SparseExtent> sparse;  // opened sparse extent (hosted or file)
  // Set when the extent cannot be read: map()/read() throw this.
  std::optional<ErrorKind> refusal_kind;
  std::string refusal;
};

struct Layout {
  std::shared_ptr<const ByteSource> src;
  std::shared_ptr<const SparseExtent> hosted;  // main file is a hosted sparse extent
  std::string descriptor_text;                 // capped at kMaxDescriptorBytes, C-string view
  uint64_t descriptor_offset = 0;              // in the main file
  uint64_t descriptor_bytes_declared = 0;      // descriptorSize*512 (hosted), file size otherwise
  Descriptor descriptor;                       // structured parse (check, Glance rules)
  std::string create_type;                     // as qemu reports it
  uint32_t cid = 0;
  uint32_t parent_cid = 0;
  std::optional<std::string> parent_hint;
  std::vector<ImageExtent> extents;  // guest order, contiguous from 0
  uint64_t virtual_size = 0;
};

// Opens the layout of `src` (KDMV hosted sparse or text descriptor). Extent
// files are asked of `gate`; one it denies is kept with its refusal (reads
// of it throw), so info and check still see the whole descriptor.
Layout open_layout(std::shared_ptr<const ByteSource> src, formats::Gate& gate);

// check(): findings and statistics (vmdk_check.cpp).
CheckReport check_layout(const Layout& layout);

}  // namespace imgtool::vmdk
