#include "inspect/accelerator.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace imgtool::inspect {
namespace {

bool has_setting(std::string_view settings, std::string_view name) {
  while (!settings.empty()) {
    size_t colon = settings.find(':');
    if (settings.substr(0, colon) == name) return true;
    if (colon == std::string_view::npos) break;
    settings.remove_prefix(colon + 1);
  }
  return false;
}

}  // namespace

AttemptPlan plan_attempts(const char* backend_settings, bool kvm_usable, std::chrono::seconds kvm_deadline) {
  const std::string_view settings = backend_settings != nullptr ? backend_settings : "";
  AttemptPlan plan;
  if (has_setting(settings, "force_tcg")) {
    plan.attempts.push_back({true, std::nullopt});
    plan.tcg_reason = "LIBGUESTFS_BACKEND_SETTINGS has force_tcg";
  } else if (has_setting(settings, "force_kvm")) {
    plan.attempts.push_back({false, std::nullopt});
  } else if (!kvm_usable) {
    plan.attempts.push_back({true, std::nullopt});
    plan.tcg_reason = "/dev/kvm is not usable";
  } else {
    plan.attempts.push_back({false, kvm_deadline});
    plan.attempts.push_back({true, std::nullopt});
  }
  return plan;
}

bool kvm_usable() noexcept {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace imgtool::inspect
