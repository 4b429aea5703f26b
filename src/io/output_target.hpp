#pragma once
// Where an output path really leads: DST, or the file at the end of its chain
// of symbolic links, and what is there now.
#include <sys/stat.h>

#include <string>

namespace imgtool::io {

enum class OutputKind {
  NewFile,      // nothing there yet (DST, or the target of a dangling link)
  RegularFile,  // replaced through a temporary file and a rename
  BlockDevice,  // written in place
};

struct OutputTarget {
  OutputKind kind = OutputKind::NewFile;
  // The path written: DST itself, or the final target of its links (relative
  // link targets joined to the link's directory).
  std::string path;
  struct stat st {};  // of `path`, when it exists
};

// Follows DST through symbolic links, as open(2) would, so that the image
// replaces what the links point to instead of the last link. Throws
// Error(Io) naming `dst` for a loop of links, a chain longer than the kernel
// follows (40), and a target that is neither a regular file nor a block
// device (nor missing).
OutputTarget resolve_output(const std::string& dst);

}  // namespace imgtool::io
