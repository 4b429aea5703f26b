// vet(): today's rules for what guest inspection accepts. Kept small on
// purpose: it is meant to become a call to the library-wide verdict.
#include "inspect/vet.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/source.hpp"

namespace imgtool::inspect {

VettedDisk vet(const std::string& path, const InspectOptions& opts) {
  std::shared_ptr<const ByteSource> src = open_file_source(path);
  OpenOptions o;
  o.format = opts.format;
  auto img = open_image(src, o);
  CheckReport report = img->check();
  for (const Finding& f : report.findings) {
    if (f.kind == FindingKind::Unsafe)
      throw Error(ErrorKind::Unsafe, path, "refused before guest inspection: " + f.message);
  }
  if (report.count(FindingKind::Corruption) > 0)
    throw Error(
        ErrorKind::Format, path,
        "refused before guest inspection: image is corrupt (" + report.findings.front().message + ")");
  std::string fmt = img->info().format;
  if (fmt == "iso") fmt = "raw";  // qemu reads an ISO as raw
  if (fmt != "raw" && fmt != "qcow2" && fmt != "vmdk")
    throw Error(ErrorKind::Unsupported, path,
                "guest inspection supports raw, qcow2, vmdk and iso images, not " + fmt);
  // Hand on the descriptor that was checked (above 2, so it never lands on
  // stdin/stdout/stderr of anything).
  int fd = ::fcntl(src->native_handle(), F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    throw Error(ErrorKind::Io, path,
                std::string("cannot duplicate the checked descriptor: ") + std::strerror(errno));
  return {io::UniqueFd(fd), fmt};
}

}  // namespace imgtool::inspect
