#include "inspect/scratch_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "imgtool/error.hpp"

namespace imgtool::inspect {

ScratchDir::ScratchDir() {
  const char* env = std::getenv("TMPDIR");
  const std::string base = env != nullptr && *env != '\0' ? env : "/tmp";
  std::string templ = base + "/imgtool-inspect-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)  // mode 0700: nobody else can plant files in it
    throw Error(
        ErrorKind::Io, base,
        std::string("cannot create the guest inspection's temporary directory: ") + std::strerror(errno));
  path_ = buf.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace imgtool::inspect
