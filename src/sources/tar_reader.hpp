#pragma once
// Tar headers front to back (POSIX ustar and pax, GNU long names, v7),
// without ever seeking: members are reached by reading past the ones before.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "imgtool/stream.hpp"

namespace imgtool::sources::detail {

struct TarEntry {
  std::string name;            // pax path / GNU long name applied, leading "./" removed
  char type = '0';             // typeflag; '0' also for '\0' and '7' (contiguous)
  uint64_t size = 0;           // data bytes after the header (0 for links, dirs, devices)
  uint64_t header_offset = 0;  // where its first header (pax/GNU extension included) starts
  bool sparse = false;         // GNU 'S' or pax GNU.sparse.*: the data is not the file
  bool regular() const { return type == '0'; }
};

class TarReader {
 public:
  // The sane bound of one member: 1 PiB.
  static constexpr uint64_t kMaxMemberSize = uint64_t(1) << 50;

  explicit TarReader(std::unique_ptr<ByteStream> tar);

  const std::string& name() const { return tar_->name(); }

  // Skips the rest of the current member, then reads the next member's
  // headers. nullopt at the end of the archive (a zero block, or the end of
  // the stream on a block boundary). Throws Error(Format): bad checksum,
  // "..", an absolute name, a size past any bound, a truncated header.
  std::optional<TarEntry> next();

  // The current member's data: up to out.size() bytes, 0 at its end. A tar
  // that ends inside the member throws Error(Format).
  size_t read(std::span<std::byte> out);
  // The current member whole, when at most `cap` bytes (else Error(Format)
  // naming `what`).
  std::string read_all(uint64_t cap, const std::string& what);
  uint64_t remaining() const { return remaining_; }

 private:
  void discard(uint64_t n);           // reads and drops n bytes of the tar
  bool read_block(std::byte* block);  // false: the stream ended on a block boundary
  std::string read_extension(uint64_t size, uint64_t cap, const char* what, uint64_t at);

  std::unique_ptr<ByteStream> tar_;
  uint64_t offset_ = 0;     // tar bytes consumed
  uint64_t remaining_ = 0;  // data bytes of the current member not read yet
  uint64_t padding_ = 0;    // padding after it, to the next 512-byte boundary
  std::string current_;     // the current member's name, for messages
  bool ended_ = false;
};

// The checksum of a 512-byte header is right (unsigned or historic signed sum).
bool tar_header_checksum_ok(std::span<const std::byte> block) noexcept;

}  // namespace imgtool::sources::detail
