// convert_file(): the verdict in front of convert_image(). The source is
// assessed once (assess(): the gate opens the files it names, the driver's walk
// and the cross-format rules run), a refusal is thrown with its finding and
// override, and the very image the verdict checked — its descriptors, not its
// paths — is what gets converted. The output goes through
// create_output_file() (a temporary file renamed into place, written through a
// symlink, or a block device written in place); SRC == DST is refused.
#include <sys/stat.h>

#include <functional>
#include <utility>

#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/verdict.hpp"
#include "io/guarded_sink.hpp"

namespace imgtool {
namespace {

using FileId = std::pair<dev_t, ino_t>;

// The file a path names, through symlinks; a block device by its device
// number, so that two nodes of the same disk are the same file.
std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if (S_ISBLK(st.st_mode)) return FileId{0, static_cast<ino_t>(st.st_rdev)};
  return FileId{st.st_dev, st.st_ino};
}

bool is_block_device(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

}  // namespace

ConvertStats convert_file(const std::string& src, const std::string& dst, const ConvertOptions& opts,
                          const OpenOptions& open) {
  CancelScope cancel_scope(opts.cancel);
  validate_convert_options(opts);
  // Such a target is hashed by reading the finished file back, which for a
  // device would be the whole device.
  if (opts.checksum && convert_needs_seekable_output(opts) && is_block_device(dst))
    throw Error(ErrorKind::Usage, dst,
                "--checksum of a target that is patched after writing (qcow2 -c) needs a regular file, not a "
                "block device");
  // Same inode (also through a symlink or a hard link): the output would
  // replace the input while it is read.
  std::optional<FileId> s = file_id(src), d = file_id(dst);
  if (s && d && *s == *d)
    throw Error(ErrorKind::Usage, dst, "the output is the same file as the input '" + src + "'");

  AssessOptions a;
  a.format = open.format;
  a.gate = opts.gate;
  a.purpose = Purpose::Read;
  std::unique_ptr<Source> source = open_source(src, declared_source_options(opts.source, open.format));
  // A file is read at random, and checked in full before the first byte is
  // written. A stream is read once (the converter reads guest data in order,
  // and the spool lets go of what was converted): its tables are walked at
  // the end, before DST takes its name.
  const bool one_pass = !source->plain_file();
  a.defer_check = one_pass;
  std::shared_ptr<const ByteSource> bytes = one_pass ? source->one_pass_access() : source->random_access();
  Assessment verdict = assess(bytes, a);
  if (verdict.image && verdict.image->info().virtual_size_pending) {
    // raw from a pipe or a decompressor: its virtual size is its end, which
    // the converter needs first. Read it all (the spool keeps it), then open
    // it again with its size.
    (void)bytes->size();
    verdict = assess(bytes, a);
  }
  if (verdict.image) check_ovf_declaration(*source, verdict.image->info());
  verdict.throw_if_refused("convert");
  const Image& img = *verdict.image;
  if (!img.readable())
    throw Error(ErrorKind::Unsupported, src,
                "imgtool detects " + std::string(format_name(img.info().format)) +
                    " images but cannot read their data, so it cannot convert them");

  // A raw image fills exactly its virtual size: a block device smaller than
  // that is refused before a byte is written (other targets' sizes are known
  // only as they are written).
  std::unique_ptr<ByteSink> out = create_output_file(
      dst,
      {.fsync = opts.fsync, .min_size = opts.target_format == Format::Raw ? img.info().virtual_size : 0});
  std::vector<UpstreamCheck> upstream;
  io::GuardedSink guarded(*out, [&] {
    if (verdict.check_deferred) {
      source->drain();
      complete_deferred_check(verdict, bytes, a).throw_if_refused("convert");
    }
    upstream = source->finish();
  });
  ByteSink* file = &guarded;
  auto with_source = [&](ConvertStats st) {
    st.spool_peak_memory = source->spool_peak_memory();
    st.spool_peak_file = source->spool_peak_file();
    st.source_layers = source->layers();
    st.upstream = std::move(upstream);
    return st;
  };
  if (!opts.checksum) return with_source(convert_image(img, *file, opts));

  // A target that patches its output (compressed qcow2, docs/convert.md):
  // hash the finished file instead of the stream.
  ConvertStats st;
  if (convert_needs_seekable_output(opts)) {
    st = convert_image(img, *file, opts);
    GlanceDigests g = glance_digests_of_file(dst);
    st.md5 = g.checksum;
    st.sha512 = g.os_hash_value;
    return with_source(std::move(st));
  }
  GlanceHashingSink tee(*file);
  st = convert_image(img, tee, opts);
  st.md5 = tee.digests().checksum;
  st.sha512 = tee.digests().os_hash_value;
  return with_source(std::move(st));
}

}  // namespace imgtool
