#pragma once
// A loop device over a file, for tests of block-device input and output, and
// a private device node for it: a test writes through its own node in its
// temporary directory, so a regression that replaces the node it is given
// (instead of writing the device) can never replace a node in /dev.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

#include "support/test_util.hpp"

namespace imgtool::test {

class LoopDevice {
 public:
  // Attaches `file` to a free loop device; ok() is false when this machine
  // has none (not root, no loop driver).
  explicit LoopDevice(const std::string& file) {
    RunResult r = run("losetup -f --show " + sh_quote(file));
    if (r.exit_code != 0) return;
    dev_ = r.out.substr(0, r.out.find('\n'));
  }
  ~LoopDevice() {
    if (!dev_.empty()) run("losetup -d " + sh_quote(dev_));
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  bool ok() const { return !dev_.empty(); }
  const std::string& dev() const { return dev_; }

  // Makes `node`, a block device node for the same device; false on failure.
  bool make_node(const std::string& node) const {
    struct stat st {};
    if (::stat(dev_.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return false;
    return ::mknod(node.c_str(), S_IFBLK | 0600, st.st_rdev) == 0;
  }

 private:
  std::string dev_;
};

}  // namespace imgtool::test
