#pragma once
// One private directory per guest inspection, under $TMPDIR (else /tmp).
// The child gets it as its TMPDIR, so libguestfs' temporary directory, its
// overlays and imgtool's own files all land in it; removing this one
// directory on every exit path removes them all, including what a killed
// child could not clean up itself.
#include <string>

namespace imgtool::inspect {

class ScratchDir {
 public:
  ScratchDir();   // throws Error(Io) naming the parent directory
  ~ScratchDir();  // removes the directory recursively; never throws
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace imgtool::inspect
