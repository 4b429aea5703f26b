// vet(): the verdict for handing an image to libguestfs. qemu under
// libguestfs reads the bytes itself and follows whatever they name, so this
// is Purpose::HandOver: any file named inside the image, anything Glance
// refuses, any corruption or unreadable header is refused here, before a
// child exists. The descriptor assess() read is what the child gets.
#include "inspect/vet.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "imgtool/error.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::inspect {

VettedDisk vet(std::shared_ptr<const ByteSource> src, const InspectOptions& opts) {
  const std::string path = src->name();
  if (src->native_handle() < 0)
    throw Error(ErrorKind::Unsupported, path, "guest inspection needs a file (libguestfs reads its descriptor)");
  AssessOptions a;
  a.format = opts.format;
  a.purpose = Purpose::HandOver;
  const Assessment v = assess(src, a);
  v.throw_if_refused("inspect the guest (refused before guest inspection)");
  Format fmt = v.image->info().format;
  if (fmt == Format::Iso) fmt = Format::Raw;  // qemu reads an ISO as raw
  if (fmt != Format::Raw && fmt != Format::Qcow2 && fmt != Format::Vmdk)
    throw Error(ErrorKind::Unsupported, path,
                "guest inspection supports raw, qcow2, vmdk and iso images, not " +
                    std::string(format_name(v.image->info().format)));
  // Hand on the descriptor that was checked (above 2, so it never lands on
  // stdin/stdout/stderr of anything).
  int fd = ::fcntl(src->native_handle(), F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    throw Error(ErrorKind::Io, path,
                std::string("cannot duplicate the checked descriptor: ") + std::strerror(errno));
  return {io::UniqueFd(fd), std::string(format_name(fmt))};
}

}  // namespace imgtool::inspect
