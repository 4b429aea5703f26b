// A disk inside a tar or an OVA, found by reading the tar front to back: the
// members before it are read and dropped (never buffered), the OVF (first
// member of an OVA) is read whole within a cap, and the disk member is handed
// on as a stream that ends where the member does. The OVA's .mf manifest is
// not verified: it is read past like any other member.
#include "sources/packaged_disk.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

#include "imgtool/error.hpp"
#include "sources/ovf_descriptor.hpp"
#include "sources/tar_reader.hpp"

namespace imgtool::sources {
namespace {

using detail::TarEntry;
using detail::TarReader;

constexpr uint64_t kMaxOvfSize = uint64_t(4) << 20;
constexpr size_t kMaxNamesListed = 20;

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

// The OVA's descriptor, manifest and certificate: never the disk.
bool ova_metadata(std::string_view name) {
  return ends_with_nocase(name, ".ovf") || ends_with_nocase(name, ".mf") || ends_with_nocase(name, ".cert");
}

std::string normalised(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  return name;
}

// At most kMaxNamesListed names (of `total`), for one line of message.
std::string name_list(const std::vector<std::string>& names, size_t total) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamesListed; ++i) {
    if (i) out += ", ";
    out += escape_name(names[i]);
  }
  if (total > kMaxNamesListed) out += ", ... (" + std::to_string(total) + " in all)";
  return out;
}

// The member's bytes, exactly its size. For a plain tar opened without
// --member, the end of the member also reads the headers after it: a second
// file there means the choice was not the tar's only file.
class MemberStream final : public ByteStream {
 public:
  MemberStream(std::unique_ptr<TarReader> tar, TarEntry entry, bool must_be_alone)
      : tar_(std::move(tar)), entry_(std::move(entry)), must_be_alone_(must_be_alone) {}

  const std::string& name() const override { return tar_->name(); }
  std::optional<uint64_t> size_hint() const override { return entry_.size; }
  uint64_t position() const override { return pos_; }

  size_t read(std::span<std::byte> out) override {
    if (out.empty()) return 0;
    const size_t n = tar_->read(out);
    pos_ += n;
    if (n == 0 && must_be_alone_) {
      must_be_alone_ = false;
      while (const std::optional<TarEntry> e = tar_->next()) {
        if (e->regular() && !ova_metadata(e->name))
          throw Error(ErrorKind::Usage, name(),
                      "the tar holds several files: " + escape_name(entry_.name) + ", " +
                          escape_name(e->name) + "; choose one with --member");
      }
    }
    return n;
  }

 private:
  std::unique_ptr<TarReader> tar_;
  TarEntry entry_;
  bool must_be_alone_;
  uint64_t pos_ = 0;
};

}  // namespace

bool looks_like_tar(std::span<const std::byte> head) noexcept {
  if (head.size() < 512) return false;
  if (std::memcmp(head.data() + 257, "ustar", 5) == 0) return true;
  return detail::tar_header_checksum_ok(head.first(512));
}

PackagedDisk open_packaged_disk(std::unique_ptr<ByteStream> tar, const std::optional<std::string>& member) {
  auto r = std::make_unique<TarReader>(std::move(tar));
  const std::optional<std::string> chosen = member ? std::optional(normalised(*member)) : std::nullopt;
  std::optional<std::string> want = chosen;  // the member to stop at
  std::optional<detail::OvfDescriptor> ovf;
  std::vector<std::string> seen;  // regular files read past, for the message when none matches
  size_t total_seen = 0;
  bool first = true;
  while (std::optional<TarEntry> e = r->next()) {
    if (!e->regular()) continue;
    const bool is_first = std::exchange(first, false);
    if (is_first && ends_with_nocase(e->name, ".ovf") && e->name != chosen) {
      // An OVA (DSP0243 §5.3: the descriptor is the first member).
      ovf = detail::parse_ovf(r->read_all(kMaxOvfSize, "the OVF descriptor '" + escape_name(e->name) + "'"),
                              r->name(), e->name);
      seen.push_back(e->name);
      ++total_seen;
      if (!want) {
        std::vector<std::string> disks;
        for (const detail::OvfDisk& d : ovf->disks) {
          if (d.file_ref.empty()) continue;  // an empty disk, created at deploy time
          const detail::OvfFile* f = ovf->file(d.file_ref);
          if (!f)
            throw Error(ErrorKind::Format, r->name(),
                        "the OVF's disk '" + escape_name(d.disk_id) + "' refers to file '" +
                            escape_name(d.file_ref) + "', which its References do not list");
          disks.push_back(f->href);
        }
        if (disks.empty()) throw Error(ErrorKind::Format, r->name(), "the OVF descriptor lists no disk file");
        if (disks.size() > 1)
          throw Error(ErrorKind::Usage, r->name(),
                      "the OVA holds " + std::to_string(disks.size()) +
                          " disks: " + name_list(disks, disks.size()) + "; choose one with --member");
        want = disks.front();
      }
      continue;
    }
    const bool match = want ? e->name == *want : !ova_metadata(e->name);
    if (!match) {
      if (seen.size() < kMaxNamesListed) seen.push_back(e->name);
      ++total_seen;
      continue;  // next() reads past its data
    }
    if (e->sparse)
      throw Error(ErrorKind::Unsupported, r->name(),
                  "tar member '" + escape_name(e->name) + "' is stored sparse (tar -S): unpack it first");
    PackagedDisk out;
    out.layer.kind = ovf ? "ova" : "tar";
    out.layer.member = e->name;
    if (ovf) {
      for (const detail::OvfDisk& d : ovf->disks) {
        const detail::OvfFile* f = d.file_ref.empty() ? nullptr : ovf->file(d.file_ref);
        if (f && f->href == e->name) {
          out.layer.declared_capacity = d.capacity;
          out.layer.declared_format = d.format;
          break;
        }
      }
    }
    const bool must_be_alone = !want;
    out.stream = std::make_unique<MemberStream>(std::move(r), std::move(*e), must_be_alone);
    return out;
  }
  if (chosen)
    throw Error(ErrorKind::Usage, r->name(),
                "no member '" + escape_name(*chosen) + "' in the tar" +
                    (seen.empty() ? std::string(", which holds no file")
                                  : "; its files: " + name_list(seen, total_seen)));
  if (want)
    throw Error(ErrorKind::Format, r->name(),
                "the OVF names the disk file '" + escape_name(*want) + "', but the OVA has no such member");
  throw Error(ErrorKind::Format, r->name(), "the tar holds no file");
}

}  // namespace imgtool::sources
