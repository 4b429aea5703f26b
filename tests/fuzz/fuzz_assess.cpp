// libFuzzer harness for the verdict itself: imgtool::assess over arbitrary
// bytes, for both purposes and with every gate flag, then the renderers of its
// result. The bytes live in memory, so the gate can open nothing (a memory
// source has no directory); everything else runs: detection, every driver's
// open and walk, the cross-format rules, the named-file decisions. Findings
// are the expected outcome; an imgtool::Error may only say the bytes cannot be
// read at all. Crashes, sanitizer reports, hangs and other exceptions are bugs.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "imgtool/error.hpp"
#include "imgtool/info.hpp"
#include "imgtool/verdict.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // 1 MiB cap
  std::vector<std::byte> bytes(size);
  if (size) std::memcpy(bytes.data(), data, size);
  std::shared_ptr<const imgtool::ByteSource> src = imgtool::memory_source(std::move(bytes), "fuzz.img");
  for (imgtool::Purpose purpose : {imgtool::Purpose::Read, imgtool::Purpose::HandOver}) {
    imgtool::AssessOptions o;
    o.purpose = purpose;
    o.gate.allow_backing = o.gate.allow_external_files = purpose == imgtool::Purpose::Read;
    try {
      const imgtool::Assessment a = imgtool::assess(src, o);
      // The verdict is the worst finding; a refusal names one.
      if (a.refuses() && a.deciding() == nullptr) __builtin_trap();
      (void)imgtool::render_check_human(a);
      (void)imgtool::render_check_json(a);
      if (a.image) (void)imgtool::render_info_json(a.image->info());
    } catch (const imgtool::Error&) {
    }
  }
  return 0;
}
