// download(convert_to): Glance's bytes -> imgtool's reader -> the converter
// -> DST, in one pass and without a local copy of the original.
//
//   GET /file (GlanceBodyStream: md5 + os_hash_algo over every byte, in order)
//     -> SpoolSource in one-pass mode (holds what the reader has not handed
//        on: metadata and bytes that arrived ahead of it)
//     -> assess(defer_check): detection, the format's own open, the gate (a
//        download has no directory: any file named inside is unsafe), and the
//        record's disk_format against the bytes, all before DST exists
//     -> convert_image into DST's temporary file (or standard output)
//     -> at the sink's finish: the stream read to its end, the hashes
//        compared with Glance's record, then the deferred walk of the tables;
//        only then does DST take its name.
#include <algorithm>

#include "convert/writers.hpp"
#include "glance/body_stream.hpp"
#include "glance/download_parts.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/verdict.hpp"
#include "io/guarded_sink.hpp"
#include "io/spool_source.hpp"

namespace imgtool::glance {
namespace {

// A sink that takes nothing: asks a writer what it would need of a stream.
class ProbeSink final : public ByteSink {
 public:
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte>) override {}
  uint64_t position() const override { return 0; }
  void finish() override {}

 private:
  std::string name_ = "-";
};

// Glance's disk_format for bytes of format `detected` ("raw" also stands
// behind ami/aki/ari, as publish accepts them).
bool matches_disk_format(Format detected, const std::string& disk_format) {
  const std::string_view d = glance_disk_format(detected);
  if (d == disk_format) return true;
  return detected == Format::Raw && (disk_format == "ami" || disk_format == "aki" || disk_format == "ari");
}

}  // namespace

ConvertOptions download_convert_options(const DownloadOptions& opts, const std::string& dst) {
  ConvertOptions co;
  co.target_format = *opts.convert_to;
  const std::vector<Format> w = writable_formats();
  if (std::find(w.begin(), w.end(), co.target_format) == w.end())
    throw Error(
        ErrorKind::Usage, "",
        "--convert-to " + std::string(format_name(co.target_format)) + " is not one of " + format_list(w));
  co.options = opts.convert_options;
  co.zero_granularity = opts.sparse ? 4096 : 0;
  validate_convert_options(co);
  if (dst == "-") {
    // A download is read once. Writers that lay out a stream's tables (or
    // stamp an id) from a first pass over the image cannot go to a pipe.
    ProbeSink probe;
    if (convert::make_writer(probe, co)->needs_plan())
      throw Error(
          ErrorKind::Usage, "-",
          "--convert-to " + std::string(format_name(co.target_format)) +
              " cannot go to standard output: on a stream its writer plans the layout from a first pass "
              "over the image, and a download is read once; give a file DST" +
              (co.target_format == Format::Qcow2 ? ", or -o preallocation=metadata (one pass)" : "") +
              ", or --convert-to raw");
  }
  return co;
}

void download_converted(ImagesApi& api, const std::string& dst, const DownloadOptions& opts,
                        const std::string& algo_name, DownloadResult& r) {
  const ConvertOptions co = download_convert_options(opts, dst);
  const std::string& id = r.image.id;
  if (!r.image.size)
    throw Error(ErrorKind::Http, id, "the record of image " + id + " has no size: nothing to verify against");
  const std::string name = "glance image " + id;

  MultiHasher hasher({HashAlgo::md5, *parse_hash_algo(algo_name)});
  auto body =
      std::make_unique<GlanceBodyStream>(api, id, name, *r.image.size, [&](std::span<const std::byte> p) {
        hasher.update(p);
        r.bytes += p.size();
        if (opts.progress) opts.progress(r.bytes, r.image.size);
      });
  auto spool = std::make_shared<SpoolSource>(std::move(body), opts.spool_memory_limit);
  spool->set_one_pass(true);
  // The peaks are reported whichever way this ends.
  struct Peaks {
    const SpoolSource& s;
    DownloadResult& r;
    ~Peaks() {
      r.spool_peak_memory = s.peak_memory();
      r.spool_peak_file = s.peak_file();
    }
  } peaks{*spool, r};

  AssessOptions a;
  a.purpose = Purpose::Read;  // imgtool reads the data; the gate refuses every named file
  a.defer_check = true;
  Assessment verdict = assess(spool, a);
  if (verdict.image && verdict.image->info().virtual_size_pending) {
    (void)spool->size();  // not expected (the record's size is the stream's size), but safe
    verdict = assess(spool, a);
  }
  verdict.throw_if_refused("convert");
  const Image& img = *verdict.image;
  const Format detected = img.info().format;
  r.source_format = detected;
  if (!matches_disk_format(detected, r.disk_format))
    throw Error(ErrorKind::Mismatch, name,
                "Glance's disk_format is '" + r.disk_format + "' but the data is a " +
                    std::string(format_name(detected)) +
                    " image: refusing to convert it; nothing was written");
  if (!img.readable())
    throw Error(ErrorKind::Unsupported, name,
                "imgtool detects " + std::string(format_name(detected)) +
                    " images but cannot read their data, so it cannot convert them");

  std::unique_ptr<ByteSink> out;
  if (dst == "-") {
    out = stdout_sink();
  } else {
    OutputFileOptions fo;
    fo.fsync = opts.fsync;
    fo.min_size = co.target_format == Format::Raw ? img.info().virtual_size : 0;
    out = create_output_file(dst, fo);
  }
  io::GuardedSink verified(*out, [&] {
    spool->drain();  // the rest of the body: hashed, its end checked against the record's size
    const std::vector<std::string> hex = hasher.finish_hex();
    r.received = GlanceDigests{hex[0], algo_name, hex[1], r.bytes, std::nullopt};
    verify_received(r, algo_name, dst);
    if (verdict.check_deferred) {
      const Assessment full = complete_deferred_check(verdict, spool, a);
      if (full.refuses() && dst == "-") {
        try {
          full.throw_if_refused("convert");
        } catch (const Error& e) {
          throw Error(e.kind(), e.path(),
                      e.message() + " (the converted bytes already went to standard output)");
        }
      }
      full.throw_if_refused("convert");
    }
  });
  const ConvertStats st = convert_image(img, verified, co);
  r.converted_to = co.target_format;
  r.virtual_size = st.virtual_size;
  r.bytes_written = st.bytes_written;
}

}  // namespace imgtool::glance
