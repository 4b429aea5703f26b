// libFuzzer harness for the VMDK text descriptor: the structured parser, the
// qemu-emulating readers (CID, quoted values, extent lines) and a full open of
// the text as a descriptor file (extent files are never opened). Any
// imgtool::Error is an expected outcome.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "formats/driver.hpp"
#include "formats/vmdk/vmdk_descriptor.hpp"
#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // 1 MiB cap
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    imgtool::vmdk::Descriptor d = imgtool::vmdk::parse_descriptor(text);
    (void)d.find("createType");
  } catch (const imgtool::Error&) {
  }
  bool malformed = false;
  (void)imgtool::vmdk::qemu_read_cid(text, false);
  (void)imgtool::vmdk::qemu_read_cid(text, true);
  (void)imgtool::vmdk::qemu_quoted_value(text, "parentFileNameHint", 4095, &malformed);
  try {
    (void)imgtool::vmdk::qemu_parse_extents(text);
  } catch (const imgtool::Error&) {
  }
  std::vector<std::byte> bytes(size);
  if (size) std::memcpy(bytes.data(), data, size);
  std::shared_ptr<const imgtool::ByteSource> src = imgtool::memory_source(std::move(bytes), "fuzz-desc.vmdk");
  try {
    auto img = imgtool::open_image(src, imgtool::OpenOptions{imgtool::Format::Vmdk});
    (void)img->info();
    (void)img->check();
  } catch (const imgtool::Error&) {
  }
  return 0;
}
