// libFuzzer harness for format detection: probe_all over arbitrary bytes,
// then open + check of every detection-only format that claims them (also
// when raw wins, to reach the parsers), the partition-table reader and its
// Glance "mbr" findings, and the ambiguity check. imgtool::Error is an
// expected outcome; crashes, sanitizer reports, hangs and any other exception
// are bugs.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "formats/ambiguity.hpp"
#include "formats/driver.hpp"
#include "formats/raw/partition_table.hpp"
#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

namespace {

// qcow2, vmdk and raw have their own harnesses; the verdict has fuzz_assess.
bool detection_only(imgtool::Format f) {
  return f != imgtool::Format::Qcow2 && f != imgtool::Format::Vmdk && f != imgtool::Format::Raw;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // 1 MiB cap
  std::vector<std::byte> bytes(size);
  if (size) std::memcpy(bytes.data(), data, size);
  std::shared_ptr<const imgtool::ByteSource> src = imgtool::memory_source(std::move(bytes), "fuzz.img");
  std::vector<imgtool::ProbeResult> all;
  imgtool::formats::ProbeWindow window;
  try {
    window = imgtool::formats::read_probe_window(*src);
    all = imgtool::formats::probe_window(window);
  } catch (const imgtool::Error&) {
    return 0;
  }
  for (const auto& r : all) {
    if (!detection_only(r.format)) continue;  // qcow2/vmdk have their own harnesses
    try {
      imgtool::OpenOptions opts;
      opts.format = r.format;
      auto img = imgtool::open_image(src, opts);
      (void)img->info();
      (void)img->check();
    } catch (const imgtool::Error&) {
    }
  }
  try {
    (void)imgtool::formats::read_partition_table(*src);
    (void)imgtool::formats::partition_table_findings(*src);
    (void)imgtool::formats::ambiguity_findings(window, all);
  } catch (const imgtool::Error&) {
  }
  return 0;
}
