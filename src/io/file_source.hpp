#pragma once
// Internal: a FileSource over a descriptor someone else opened (the gate opens
// files named inside images with its own flags, then reads them like any file).
#include <memory>
#include <string>

#include "imgtool/source.hpp"
#include "io/unique_fd.hpp"

namespace imgtool::io {

// `fd` must be a regular file or block device opened for reading; `name` is
// used in every error message. Throws Error(Io) when it cannot be stat'ed.
std::unique_ptr<ByteSource> make_file_source(UniqueFd fd, std::string name);

}  // namespace imgtool::io
