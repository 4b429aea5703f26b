#pragma once
// One more real Glance API process on the same database and store as the
// main one (tests/glance/glance-dev.sh spare-glance), for tests that kill it
// or need another setting (image_size_cap). Killed with its process group
// when the object goes.
#include <signal.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {

class SpareGlance {
 public:
  explicit SpareGlance(std::optional<uint64_t> image_size_cap = std::nullopt) {
    std::string out =
        run_ok("IMGTOOL_GLANCE_STATE=" + sh_quote(env()->get("IMGTOOL_GLANCE_STATE")) + " bash " +
               sh_quote(std::string(IMGTOOL_SOURCE_DIR) + "/tests/glance/glance-dev.sh") + " spare-glance" +
               (image_size_cap ? " " + std::to_string(*image_size_cap) : "") + " 2>/dev/null");
    std::istringstream in(out);
    in >> pid_ >> port_;
  }
  ~SpareGlance() { kill(); }
  SpareGlance(const SpareGlance&) = delete;
  SpareGlance& operator=(const SpareGlance&) = delete;

  bool ok() const { return pid_ > 0 && port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // SIGKILL to the whole process group (glance-dev.sh starts it with setsid).
  void kill() {
    if (pid_ > 0) ::kill(-pid_, SIGKILL);
    pid_ = -1;
  }

 private:
  int pid_ = -1;
  int port_ = 0;
};

}  // namespace imgtool::test::glance
