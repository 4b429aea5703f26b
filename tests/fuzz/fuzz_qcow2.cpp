// libFuzzer harness for the qcow2 reader: probe, open, info, check, and
// map + read of the first few MiB. Any imgtool::Error is an expected outcome;
// crashes, sanitizer reports, hangs and other exceptions are bugs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "formats/driver.hpp"
#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // 1 MiB cap
  std::vector<std::byte> bytes(size);
  if (size) std::memcpy(bytes.data(), data, size);
  std::shared_ptr<const imgtool::ByteSource> src = imgtool::memory_source(std::move(bytes), "fuzz.qcow2");
  try {
    // The probe sees the same head window as the registry would give it.
    std::vector<std::byte> head(static_cast<size_t>(std::min<uint64_t>(src->size(), 64 << 10)));
    src->read_exact(0, head);
    (void)imgtool::formats::qcow2_probe({head, {}, src->size()});
    auto img = imgtool::open_image(src, imgtool::OpenOptions{imgtool::Format::Qcow2});
    const imgtool::ImageInfo& info = img->info();
    (void)img->check();
    const uint64_t limit = std::min<uint64_t>(info.virtual_size, uint64_t(4) << 20);
    std::vector<std::byte> buf;
    for (uint64_t off = 0; off < limit;) {
      imgtool::Extent e = img->map(off, limit - off);
      const uint64_t n = std::min<uint64_t>(e.length, 256 << 10);
      buf.resize(n);
      img->read(off, buf);
      off += n;
    }
  } catch (const imgtool::Error&) {
  }
  return 0;
}
