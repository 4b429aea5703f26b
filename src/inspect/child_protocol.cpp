#include "inspect/child_protocol.hpp"

#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "imgtool/error.hpp"

namespace imgtool::inspect {
namespace {

constexpr std::string_view kLaunched = "launched";
constexpr std::string_view kFacts = "facts";
constexpr std::string_view kFailed = "error";

std::string_view tag(ChildEvent e) {
  switch (e) {
    case ChildEvent::Launched: return kLaunched;
    case ChildEvent::Facts: return kFacts;
    case ChildEvent::Failed: return kFailed;
  }
  return kFailed;
}

}  // namespace

void send_message(int fd, ChildEvent event, const std::string& payload) noexcept {
  try {
    std::string line(tag(event));
    line += ' ';
    for (char c : payload) line += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    line += '\n';
    size_t off = 0;
    while (off < line.size()) {
      ssize_t n = ::write(fd, line.data() + off, line.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  } catch (...) {  // out of memory in the child: the parent reports the missing message
  }
}

void MessageReader::feed(const char* data, size_t n) {
  if (n > kMaxBytes - buf_.size())
    throw Error(ErrorKind::Io, "",
                "guest inspection child sent more than " + std::to_string(kMaxBytes) + " bytes");
  buf_.append(data, n);
}

std::optional<ChildMessage> MessageReader::next() {
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string line = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    size_t sp = line.find(' ');
    std::string_view word = std::string_view(line).substr(0, sp);
    std::string payload = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (word == kLaunched) return ChildMessage{ChildEvent::Launched, std::move(payload)};
    if (word == kFacts) return ChildMessage{ChildEvent::Facts, std::move(payload)};
    if (word == kFailed) return ChildMessage{ChildEvent::Failed, std::move(payload)};
  }
}

}  // namespace imgtool::inspect
