#pragma once
// Messages from the inspection child to the parent over their pipe, one line
// each: "launched <accelerator>", then "facts <json>" or "error <text>". The
// parent needs "launched" to tell a KVM attempt that never got the appliance
// up (retry with TCG) from an inspection that failed later (report it).
#include <cstddef>
#include <optional>
#include <string>

namespace imgtool::inspect {

enum class ChildEvent { Launched, Facts, Failed };

struct ChildMessage {
  ChildEvent event;
  std::string payload;  // accelerator, facts JSON, or error text
};

// Child side: writes one message; newlines and other control characters in
// the payload become spaces. Never throws (the parent treats a missing
// message as a failure).
void send_message(int fd, ChildEvent event, const std::string& payload) noexcept;

// Parent side: collects what the child writes and cuts it into messages.
class MessageReader {
 public:
  // Throws Error(Io) past kMaxBytes (a child does not send that much).
  void feed(const char* data, size_t n);
  // The next complete message, if any; unknown lines are skipped.
  std::optional<ChildMessage> next();

  static constexpr size_t kMaxBytes = size_t(1) << 20;

 private:
  std::string buf_;
};

}  // namespace imgtool::inspect
