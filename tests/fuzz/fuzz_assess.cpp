// libFuzzer harness for the verdict itself: imgtool::assess over arbitrary
// bytes, for both purposes and with every gate flag, then the renderers of its
// result. The bytes live in memory, so the gate can open nothing (a memory
// source has no directory); everything else runs: detection, every driver's
// open and walk, the cross-format rules, the named-file decisions. Findings
// are the expected outcome; an imgtool::Error may only say the bytes cannot be
// read at all. Crashes, sanitizer reports, hangs and other exceptions are bugs.
// An image the verdict lets through is also mapped (qemu-img map's merged
// walk over Image::block_status), measured for every target and compared
// with itself, as `imgtool map`, `measure` and `compare` would.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "imgtool/error.hpp"
#include "imgtool/info.hpp"
#include "imgtool/readside.hpp"
#include "imgtool/verdict.hpp"

namespace {

struct EnoughEntries {};

void read_side(const imgtool::Image& img) {
  try {
    size_t n = 0;
    imgtool::walk_map(img, {}, [&n](const imgtool::MapEntry& e) {
      if (e.length == 0 && n > 0) __builtin_trap();  // only an empty range gives an empty entry
      if (++n > 10000) throw EnoughEntries{};
    });
  } catch (const EnoughEntries&) {
  } catch (const imgtool::Error&) {
  }
  for (imgtool::Format target : {imgtool::Format::Raw, imgtool::Format::Qcow2, imgtool::Format::Vmdk}) {
    imgtool::MeasureOptions m;
    m.target = target;
    try {
      const imgtool::Measurement r = imgtool::measure_image(&img, m);
      if (r.required > r.fully_allocated) __builtin_trap();
    } catch (const imgtool::Error&) {
    }
  }
  // Reads every allocated byte: only for images whose size the 1 MiB input bounds.
  if (img.info().virtual_size <= (64u << 20)) {
    const imgtool::CompareResult c = imgtool::compare_images(img, img);
    if (c.outcome == imgtool::CompareOutcome::Different) __builtin_trap();
  }
}

}  // namespace

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
      if (a.image && !a.refuses() && a.image->readable()) read_side(*a.image);
    } catch (const imgtool::Error&) {
    }
  }
  return 0;
}
