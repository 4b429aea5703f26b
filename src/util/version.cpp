// imgtool::version(): the string is compiled into the library (not inlined in
// the header), so a program reports the release it actually links.
#include "imgtool/version.hpp"

namespace imgtool {

std::string_view version() noexcept {
  return IMGTOOL_VERSION_STRING;
}

}  // namespace imgtool
