// imgtool::download: Glance -> a local file (or standard output), verified.
// One pass: every piece of the body is hashed (md5 + the image's
// os_hash_algo) and written; aligned runs of zeros become holes in a file.
// The file takes its name only after the record's size and hashes matched.
// With convert_to the body goes through imgtool's reader and converter
// instead (download_convert.cpp).
#include <vector>

#include "glance/credentials.hpp"
#include "glance/download_parts.hpp"
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
  if (opts.convert_to)
    (void)glance::download_convert_options(opts, dst);  // before anything is asked of Glance
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
  r.stores = glance::image_stores(im);
  if (!opts.store.empty()) glance::require_store(im, r.image.id, opts.store);
  const std::string algo_name = r.image.os_hash_algo.value_or("sha512");
  const std::optional<HashAlgo> algo = parse_hash_algo(algo_name);
  if (!algo)
    throw Error(
        ErrorKind::Unsupported, id_or_name,
        "Glance used os_hash_algo '" + algo_name + "'; imgtool computes md5, sha1, sha256, sha384, sha512");

  if (opts.convert_to) {
    glance::download_converted(api, dst, opts, algo_name, r);
    return r;
  }

  std::unique_ptr<ByteSink> out;
  if (dst == "-") {
    out = glance::stdout_sink();
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
  r.received = GlanceDigests{hex[0], algo_name, hex[1], r.bytes, std::nullopt};
  r.holes = writer.holes();

  glance::verify_received(r, algo_name, dst);  // throws: `out` is dropped, the temporary file goes
  out->finish();
  r.bytes_written = out->position();
  return r;
}

}  // namespace imgtool
