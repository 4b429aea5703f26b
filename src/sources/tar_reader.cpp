// Tar headers, read front to back. Names are checked even though nothing is
// extracted: a tar naming "../x" or "/etc/x" is not a disk image package.
#include "sources/tar_reader.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool::sources::detail {
namespace {

constexpr size_t kBlock = 512;
constexpr uint64_t kMaxPaxHeader = uint64_t(1) << 20;  // pax records of one member
constexpr uint64_t kMaxLongName = uint64_t(64) << 10;  // GNU 'L' long name

// POSIX ustar layout (offset, length).
constexpr size_t kNameOff = 0, kNameLen = 100, kSizeOff = 124, kSizeLen = 12, kSumOff = 148, kSumLen = 8,
                 kTypeOff = 156, kMagicOff = 257, kPrefixOff = 345, kPrefixLen = 155;
// GNU 'S' (sparse) headers: "isextended" in the header and in each extension block.
constexpr size_t kGnuSparseMore = 482, kGnuSparseExtMore = 504;

std::string_view field(const std::byte* b, size_t off, size_t len) {
  std::string_view s(reinterpret_cast<const char*>(b) + off, len);
  return s.substr(0, std::min(s.find('\0'), s.size()));
}

// Octal (spaces/NULs around it) or, with the top bit of the first byte set,
// base-256 big-endian (GNU/star, for sizes of 8 GiB and more). nullopt:
// malformed, negative or past 2^63.
std::optional<uint64_t> parse_number(const std::byte* b, size_t off, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(b) + off;
  uint64_t v = 0;
  if (p[0] & 0x80) {
    if (p[0] != 0x80) return std::nullopt;  // 0xff: negative
    for (size_t i = 1; i < len; ++i) {
      if (v >> 55) return std::nullopt;
      v = (v << 8) | p[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < len && p[i] == ' ') ++i;
  size_t digits = 0;
  for (; i < len && p[i] >= '0' && p[i] <= '7'; ++i, ++digits) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + (p[i] - '0');
  }
  for (; i < len; ++i)
    if (p[i] != ' ' && p[i] != '\0') return std::nullopt;
  if (digits == 0) return std::nullopt;
  return v;
}

// "./a/./b" -> "a/b"; throws on absolute names and ".." components.
std::string checked_name(std::string raw, const std::string& tar, uint64_t at) {
  if (!raw.empty() && raw[0] == '/')
    throw Error(ErrorKind::Format, tar, "tar member with an absolute name '" + escape_name(raw) + "'", at);
  std::string out;
  size_t i = 0;
  while (i <= raw.size()) {
    size_t j = raw.find('/', i);
    if (j == std::string::npos) j = raw.size();
    const std::string_view part(raw.data() + i, j - i);
    if (part == "..")
      throw Error(ErrorKind::Format, tar, "tar member name with '..' in it: '" + escape_name(raw) + "'", at);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  if (out.empty()) return ".";
  if (raw.back() == '/') out += '/';  // a directory stays one
  return out;
}

struct Pax {
  std::optional<std::string> path;
  std::optional<uint64_t> size;
  bool sparse = false;
};

// "LEN KEY=VALUE\n" records (POSIX pax); LEN counts the whole record.
Pax parse_pax(std::string_view recs, const std::string& tar, uint64_t at) {
  Pax pax;
  const auto bad = [&](const char* why) {
    throw Error(ErrorKind::Format, tar, std::string("bad pax extended header: ") + why, at);
  };
  while (!recs.empty()) {
    if (recs.find_first_not_of('\0') == std::string_view::npos) break;  // NUL padding
    size_t len = 0, i = 0;
    for (; i < recs.size() && recs[i] >= '0' && recs[i] <= '9' && i < 12; ++i)
      len = len * 10 + size_t(recs[i] - '0');
    if (i == 0 || i >= recs.size() || recs[i] != ' ' || len <= i + 1 || len > recs.size())
      bad("record length");
    const std::string_view rec = recs.substr(i + 1, len - i - 1);
    recs.remove_prefix(len);
    if (rec.empty() || rec.back() != '\n') bad("record not ended by a newline");
    const size_t eq = rec.find('=');
    if (eq == std::string_view::npos) bad("record without '='");
    const std::string_view key = rec.substr(0, eq), value = rec.substr(eq + 1, rec.size() - eq - 2);
    if (key == "path") {
      pax.path = std::string(value);
    } else if (key == "size") {
      uint64_t v = 0;
      if (value.empty() || value.size() > 19) bad("size");
      for (char c : value) {
        if (c < '0' || c > '9') bad("size");
        v = v * 10 + uint64_t(c - '0');
      }
      pax.size = v;
    } else if (key.starts_with("GNU.sparse.")) {
      pax.sparse = true;
    }
  }
  return pax;
}

}  // namespace

bool tar_header_checksum_ok(std::span<const std::byte> block) noexcept {
  if (block.size() < kBlock) return false;
  const std::optional<uint64_t> stored = parse_number(block.data(), kSumOff, kSumLen);
  if (!stored) return false;
  uint64_t usum = 0;
  int64_t ssum = 0;
  for (size_t k = 0; k < kBlock; ++k) {
    const bool in_field = k >= kSumOff && k < kSumOff + kSumLen;
    const auto c = static_cast<unsigned char>(in_field ? ' ' : static_cast<unsigned char>(block[k]));
    usum += c;
    ssum += static_cast<signed char>(c);
  }
  return *stored == usum || static_cast<int64_t>(*stored) == ssum;
}

TarReader::TarReader(std::unique_ptr<ByteStream> tar) : tar_(std::move(tar)) {}

void TarReader::discard(uint64_t n) {
  std::array<std::byte, 64 * 1024> scratch;
  while (n > 0) {
    CancelToken::current().throw_if_cancelled();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n, scratch.size()));
    const size_t got = tar_->read(std::span(scratch).first(want));
    if (got == 0)
      throw Error(ErrorKind::Format, name(),
                  "truncated tar: the stream ends inside member '" + escape_name(current_) + "'", offset_);
    offset_ += got;
    n -= got;
  }
}

bool TarReader::read_block(std::byte* block) {
  const size_t got = read_full(*tar_, std::span(block, kBlock));
  if (got == 0) return false;
  if (got < kBlock)
    throw Error(ErrorKind::Format, name(), "truncated tar: the stream ends inside a header", offset_);
  offset_ += kBlock;
  return true;
}

std::string TarReader::read_extension(uint64_t size, uint64_t cap, const char* what, uint64_t at) {
  if (size > cap)
    throw Error(ErrorKind::Format, name(),
                std::string("tar ") + what + " of " + std::to_string(size) +
                    " bytes, more than the limit of " + std::to_string(cap),
                at);
  std::string data(static_cast<size_t>(size), '\0');
  const size_t got = read_full(*tar_, std::as_writable_bytes(std::span(data)));
  offset_ += got;
  if (got < size)
    throw Error(ErrorKind::Format, name(), std::string("truncated tar: the stream ends inside a ") + what,
                offset_);
  discard((kBlock - size % kBlock) % kBlock);
  return data;
}

std::optional<TarEntry> TarReader::next() {
  if (ended_) return std::nullopt;
  discard(remaining_ + padding_);
  remaining_ = padding_ = 0;
  std::optional<std::string> long_name;
  Pax pax;
  std::optional<uint64_t> first_header;
  std::array<std::byte, kBlock> h;
  for (;;) {
    CancelToken::current().throw_if_cancelled();
    const uint64_t at = offset_;
    if (!read_block(h.data())) {
      if (first_header)
        throw Error(ErrorKind::Format, name(), "truncated tar: the stream ends after an extension header",
                    at);
      ended_ = true;  // no end-of-archive blocks: GNU tar accepts that too
      return std::nullopt;
    }
    if (std::all_of(h.begin(), h.end(), [](std::byte b) { return b == std::byte{0}; })) {
      if (first_header) throw Error(ErrorKind::Format, name(), "tar extension header without its member", at);
      ended_ = true;
      return std::nullopt;
    }
    if (!tar_header_checksum_ok(h))
      throw Error(ErrorKind::Format, name(), "tar header with a bad checksum (not a tar, or a corrupt one)",
                  at);
    if (!first_header) first_header = at;
    const std::optional<uint64_t> hsize = parse_number(h.data(), kSizeOff, kSizeLen);
    if (!hsize) throw Error(ErrorKind::Format, name(), "tar header with a malformed size field", at);
    const char type = static_cast<char>(h[kTypeOff]);
    switch (type) {
      case 'x':
        pax = parse_pax(read_extension(*hsize, kMaxPaxHeader, "pax header", at), name(), at);
        continue;
      case 'L': {
        std::string n = read_extension(*hsize, kMaxLongName, "GNU long name", at);
        long_name = n.substr(0, std::min(n.find('\0'), n.size()));
        continue;
      }
      case 'g':  // global pax records: nothing there changes which bytes a member has
      case 'K':  // GNU long link name
        if (*hsize > kMaxPaxHeader)
          throw Error(ErrorKind::Format, name(),
                      "tar extension header of " + std::to_string(*hsize) + " bytes", at);
        discard(*hsize + (kBlock - *hsize % kBlock) % kBlock);
        continue;
      default: break;
    }
    // GNU sparse with more map entries than the header holds: extension
    // blocks (byte 504 says whether another follows) before the data.
    if (type == 'S' && h[kGnuSparseMore] != std::byte{0}) {
      std::array<std::byte, kBlock> ext;
      do {
        if (!read_block(ext.data()))
          throw Error(ErrorKind::Format, name(), "truncated tar: the stream ends inside a sparse map",
                      offset_);
      } while (ext[kGnuSparseExtMore] != std::byte{0});
    }
    TarEntry e;
    e.header_offset = *first_header;
    e.type = (type == '\0' || type == '7') ? '0' : type;
    std::string raw;
    if (long_name) {
      raw = *long_name;
    } else if (pax.path) {
      raw = *pax.path;
    } else {
      raw = std::string(field(h.data(), kNameOff, kNameLen));
      // The prefix field is POSIX ustar's ("ustar\0"); GNU's "ustar  " uses those bytes otherwise.
      const std::string_view prefix = field(h.data(), kPrefixOff, kPrefixLen);
      if (std::memcmp(h.data() + kMagicOff, "ustar\0", 6) == 0 && !prefix.empty())
        raw = std::string(prefix) + "/" + raw;
    }
    if (raw.empty()) throw Error(ErrorKind::Format, name(), "tar member without a name", at);
    e.name = checked_name(std::move(raw), name(), at);
    e.sparse = type == 'S' || pax.sparse;
    // Links, devices, directories and FIFOs carry no data whatever their size field says.
    const bool has_data = !(type >= '1' && type <= '6');
    const uint64_t size = pax.size.value_or(*hsize);
    e.size = has_data ? size : 0;
    const std::optional<uint64_t> hint = tar_->size_hint();
    const uint64_t left = hint && *hint >= offset_ ? *hint - offset_ : TarReader::kMaxMemberSize;
    if (e.size > kMaxMemberSize || e.size > left)
      throw Error(ErrorKind::Format, name(),
                  "tar member '" + escape_name(e.name) + "' claims " + std::to_string(e.size) +
                      " bytes, more than " +
                      (e.size > kMaxMemberSize ? std::string("any sane bound")
                                               : "the " + std::to_string(left) + " bytes left"),
                  at);
    remaining_ = e.size;
    padding_ = (kBlock - e.size % kBlock) % kBlock;
    current_ = e.name;
    return e;
  }
}

size_t TarReader::read(std::span<std::byte> out) {
  if (remaining_ == 0 || out.empty()) return 0;
  CancelToken::current().throw_if_cancelled();
  const size_t want = static_cast<size_t>(std::min<uint64_t>(remaining_, out.size()));
  const size_t got = tar_->read(out.first(want));
  if (got == 0)
    throw Error(ErrorKind::Format, name(),
                "truncated tar: the stream ends " + std::to_string(remaining_) +
                    " bytes before the end of member '" + escape_name(current_) + "'",
                offset_);
  offset_ += got;
  remaining_ -= got;
  return got;
}

std::string TarReader::read_all(uint64_t cap, const std::string& what) {
  if (remaining_ > cap)
    throw Error(
        ErrorKind::Format, name(),
        what + " is " + std::to_string(remaining_) + " bytes, more than the limit of " + std::to_string(cap));
  std::string data(static_cast<size_t>(remaining_), '\0');
  size_t done = 0;
  while (done < data.size()) done += read(std::as_writable_bytes(std::span(data)).subspan(done));
  return data;
}

}  // namespace imgtool::sources::detail
