#pragma once
// The one error type of the library. Parsers throw it; tools/main.cpp catches
// it once, prints one line and maps the kind to an exit code.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace imgtool {

enum class ErrorKind {
  Io,           // the host file could not be read/written (ENOENT, EACCES, EIO, ENOSPC...)
  Format,       // the bytes are not a valid image of the claimed/detected format
  Unsupported,  // valid, but a feature imgtool does not implement (unknown qcow2 incompat bit)
  Unsafe,       // refers to other files / would make imgtool follow a path named inside the image
  Auth,         // Keystone refused credentials
  Http,         // Glance/Keystone answered with an error status
  Usage,        // bad command line / option value
  Interrupted,  // SIGINT/SIGTERM arrived
  Mismatch,     // a verification found a difference (hash, size, format)
};

const char* to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  // `path` names the file (or URL) the problem belongs to; may be empty.
  // `offset`, when known, is the byte offset inside that file.
  Error(ErrorKind kind, std::string path, std::string message,
        std::optional<uint64_t> offset = std::nullopt);

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& message() const noexcept { return message_; }
  std::optional<uint64_t> offset() const noexcept { return offset_; }

  // Same error, with the path filled in when it was unknown where it was thrown.
  Error with_path(const std::string& path) const;

 private:
  ErrorKind kind_;
  std::string path_;
  std::string message_;
  std::optional<uint64_t> offset_;
};

// A name read from an image (backing file, extent, snapshot name) made safe
// for a terminal and a one-line message: printable ASCII and well-formed UTF-8
// stay; control bytes (ESC, CR, LF, C1 controls), malformed UTF-8 and
// backslashes become \xNN escapes; at most `max` bytes of input are kept
// ("..." marks a cut).
std::string escape_name(std::string_view raw, size_t max = 512);

// The backstop for a whole line about to be printed (messages, check
// output): control bytes (C0, DEL) and UTF-8 C1 controls become \xNN, the
// rest (backslashes included, so escape_name()'s output is kept as it is)
// stays. One line, no terminal control, whatever a message embedded.
std::string terminal_safe(std::string_view line);

// "path: offset 0x30000: message" (parts that are unknown are left out).
std::string format_error_line(const std::string& path, std::optional<uint64_t> offset,
                              const std::string& message);

}  // namespace imgtool
