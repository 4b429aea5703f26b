// Shared by download.cpp and download_convert.cpp (see download_parts.hpp).
#include "glance/download_parts.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

class StdoutSink final : public ByteSink {
 public:
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> data) override {
    while (!data.empty()) {
      const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
      if (n < 0 && errno == EINTR) {
        throw_if_interrupted();
        continue;
      }
      if (n <= 0)
        throw Error(ErrorKind::Io, name_,
                    std::string("cannot write to standard output: ") + std::strerror(errno));
      data = data.subspan(static_cast<size_t>(n));
      pos_ += static_cast<uint64_t>(n);
    }
  }
  uint64_t position() const override { return pos_; }
  void finish() override {}

 private:
  std::string name_ = "-";
  uint64_t pos_ = 0;
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::unique_ptr<ByteSink> stdout_sink() {
  return std::make_unique<StdoutSink>();
}

std::vector<std::string> image_stores(const nlohmann::json& image) {
  std::vector<std::string> out;
  auto it = image.find("stores");
  if (it == image.end() || !it->is_string()) return out;
  const std::string s = it->get<std::string>();
  size_t from = 0;
  while (from <= s.size()) {
    const size_t comma = std::min(s.find(',', from), s.size());
    std::string one = trim(s.substr(from, comma - from));
    if (!one.empty()) out.push_back(std::move(one));
    from = comma + 1;
  }
  return out;
}

void require_store(const nlohmann::json& image, const std::string& id, const std::string& store) {
  const std::vector<std::string> stores = image_stores(image);
  if (std::find(stores.begin(), stores.end(), store) != stores.end()) return;
  if (stores.empty())
    throw Error(ErrorKind::Usage, id,
                "--store " + store +
                    ": Glance reports no stores for this image (not a multi-store Glance, or no location "
                    "visible to you); nothing was downloaded");
  std::string list;
  for (const std::string& s : stores) list += (list.empty() ? "" : ", ") + s;
  throw Error(ErrorKind::Usage, id,
              "has no data in store '" + store + "'; it is in: " + list + " (nothing was downloaded)");
}

void verify_received(DownloadResult& r, const std::string& algo_name, const std::string& dst) {
  GlanceImageRecord rec;
  rec.id = r.image.id;
  rec.checksum = r.image.checksum;
  rec.os_hash_algo = algo_name;
  rec.os_hash_value = r.image.os_hash_value;
  rec.size = r.image.size;
  GlanceDigests local = r.received;
  const std::vector<std::string> diffs = compare_with_glance(local, rec);
  if (!diffs.empty()) {
    std::string msg = "the data of Glance image " + r.image.id + " does not match its record: ";
    for (size_t i = 0; i < diffs.size(); ++i) msg += (i ? "; " : "") + diffs[i];
    msg += dst == "-" ? " (the bytes already went to standard output)" : "; " + dst + " was not written";
    throw Error(ErrorKind::Mismatch, dst, msg);
  }
  r.verified_hash_algo = algo_name;
}

}  // namespace imgtool::glance
