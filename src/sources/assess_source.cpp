// The verdict of the disk image a source holds: assess() on its bytes (the
// file itself, or the spool), plus the OVF's word about the disk.
#include "imgtool/image.hpp"
#include "imgtool/sources.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool {

Assessment assess_source(Source& src, const AssessOptions& opts) {
  Assessment a = assess(src.random_access(), opts);
  if (a.image) check_ovf_declaration(src, a.image->info());
  return a;
}

}  // namespace imgtool
