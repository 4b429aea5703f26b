#pragma once
// A tests/glance/fault_proxy.py process in front of the real Glance, for the
// failures and observations a real server cannot give on demand. imgtool
// reaches Glance through it via OS_IMAGE_ENDPOINT_OVERRIDE=url().
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {

class FaultProxy {
 public:
  FaultProxy(const TempDir& t, const std::string& args) {
    std::string port_file = t.file("proxy.port");
    std::filesystem::remove(port_file);  // a previous proxy's, in the same directory
    std::string target = env()->get("IMGTOOL_GLANCE_URL").substr(7);  // host:port
    std::string out =
        run_ok("setsid /usr/bin/python3 " +
               sh_quote(std::string(IMGTOOL_SOURCE_DIR) + "/tests/glance/fault_proxy.py") + " --target " +
               target + " --port-file " + sh_quote(port_file) + " " + args + " >/dev/null 2>&1 & echo $!");
    pid_ = std::stoi(out);
    for (int i = 0; i < 100 && !std::filesystem::exists(port_file); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    url_ = "http://127.0.0.1:" + read_file(port_file);
  }
  ~FaultProxy() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  const std::string& url() const { return url_; }

 private:
  int pid_ = -1;
  std::string url_;
};

}  // namespace imgtool::test::glance
