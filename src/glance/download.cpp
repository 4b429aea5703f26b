// imgtool::download: Glance -> a local file (or standard output), verified.
// One pass: every piece of the body is hashed (md5 + the image's
// os_hash_algo) and written; aligned runs of zeros become holes in a file.
// The file takes its name only after the record's size and hashes matched.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "glance/credentials.hpp"
#include "glance/images_api.hpp"
#include "glance/keystone.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/sink.hpp"
#include "io/bytes.hpp"

namespace imgtool {
namespace {

// Standard output: forward only, no holes, nothing to rename.
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

// Cuts the body into aligned blocks so that a whole block of zeros can be a
// hole; HTTP pieces arrive in any size, so a partial block waits here.
class BlockWriter {
 public:
  static constexpr size_t kBlock = 4096;
  BlockWriter(ByteSink& sink, bool sparse) : sink_(sink), sparse_(sparse) { pending_.reserve(kBlock); }

  void add(std::span<const std::byte> data) {
    while (!data.empty()) {
      if (pending_.empty() && data.size() >= kBlock) {
        const size_t whole = data.size() - data.size() % kBlock;
        emit(data.first(whole));
        data = data.subspan(whole);
        continue;
      }
      const size_t take = std::min(kBlock - pending_.size(), data.size());
      pending_.insert(pending_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
      data = data.subspan(take);
      if (pending_.size() == kBlock) {
        emit(pending_);
        pending_.clear();
      }
    }
  }
  void flush() {
    if (!pending_.empty()) sink_.write(pending_);  // a short tail is always data
    pending_.clear();
  }
  uint64_t holes() const { return holes_; }

 private:
  // `blocks` is a whole number of blocks.
  void emit(std::span<const std::byte> blocks) {
    if (!sparse_) {
      sink_.write(blocks);
      return;
    }
    size_t i = 0;
    while (i < blocks.size()) {
      const bool zero = io::all_zero(blocks.subspan(i, kBlock));
      size_t j = i + kBlock;
      while (j < blocks.size() && io::all_zero(blocks.subspan(j, kBlock)) == zero) j += kBlock;
      if (zero) {
        sink_.write_zeros(j - i);
        holes_ += j - i;
      } else {
        sink_.write(blocks.subspan(i, j - i));
      }
      i = j;
    }
  }

  ByteSink& sink_;
  bool sparse_;
  std::vector<std::byte> pending_;
  uint64_t holes_ = 0;
};

std::string str(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
}

}  // namespace

DownloadResult download(const std::string& id_or_name, const std::string& dst, const DownloadOptions& opts) {
  CancelScope cancel_scope(opts.cancel);
  std::vector<std::string> notes;
  glance::Credentials creds = glance::connection_credentials(opts.connection, notes);
  for (const auto& n : notes)
    if (opts.notice) opts.notice(n);
  glance::Session session(creds, opts.connection.debug);
  glance::ImagesApi api(session);
  const nlohmann::json im = api.find(id_or_name);

  DownloadResult r;
  r.image = glance::parse_image_record(im);
  r.disk_format = str(im, "disk_format");
  r.container_format = str(im, "container_format");
  r.destination = dst;
  if (r.image.status != "active")
    throw Error(
        ErrorKind::Http, id_or_name,
        "image " + r.image.id + " is '" + r.image.status + "', not active: it has no data to download");
  const std::string algo_name = r.image.os_hash_algo.value_or("sha512");
  const std::optional<HashAlgo> algo = parse_hash_algo(algo_name);
  if (!algo)
    throw Error(
        ErrorKind::Unsupported, id_or_name,
        "Glance used os_hash_algo '" + algo_name + "'; imgtool computes md5, sha1, sha256, sha384, sha512");

  std::unique_ptr<ByteSink> out;
  if (dst == "-") {
    out = std::make_unique<StdoutSink>();
  } else {
    OutputFileOptions fo;
    fo.fsync = opts.fsync;
    out = create_output_file(dst, fo);
  }
  MultiHasher hasher({HashAlgo::md5, *algo});
  BlockWriter writer(*out, opts.sparse && dst != "-");
  api.download(r.image.id, [&](std::span<const std::byte> piece) {
    hasher.update(piece);
    writer.add(piece);
    r.bytes += piece.size();
    if (opts.progress) opts.progress(r.bytes, r.image.size);
  });
  writer.flush();
  const std::vector<std::string> hex = hasher.finish_hex();
  r.local_md5 = hex[0];
  r.local_hash = hex[1];
  r.holes = writer.holes();

  GlanceImageRecord rec;
  rec.id = r.image.id;
  rec.checksum = r.image.checksum;
  rec.os_hash_algo = algo_name;
  rec.os_hash_value = r.image.os_hash_value;
  rec.size = r.image.size;
  GlanceDigests local{r.local_md5, algo_name, r.local_hash, r.bytes, std::nullopt};
  const std::vector<std::string> diffs = compare_with_glance(local, rec);
  if (!diffs.empty()) {
    std::string msg = "the data of Glance image " + r.image.id + " does not match its record: ";
    for (size_t i = 0; i < diffs.size(); ++i) msg += (i ? "; " : "") + diffs[i];
    msg += dst == "-" ? " (the bytes already went to standard output)" : "; " + dst + " was not written";
    throw Error(ErrorKind::Mismatch, dst, msg);  // `out` is dropped: the temporary file goes
  }
  out->finish();
  r.verified_hash_algo = algo_name;
  return r;
}

}  // namespace imgtool
