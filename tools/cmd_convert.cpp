// `imgtool convert [-f FMT] -O raw|qcow2|vmdk [-o OPTIONS] [-c] [-p] [-S SIZE]
// [-m THREADS] [-t writeback|unsafe] [--checksum] [--allow-backing] [--allow-external-files]
// SRC DST` — options as in
// qemu-img convert; one call to imgtool::convert_file.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "sources/digest_stream.hpp"

namespace imgtool::cli {
namespace {

struct Opts {
  std::string src, dst, format, out_format, sparse = "4k", cache = "writeback";
  std::vector<std::string> options;
  bool compress = false, progress = false, quiet = false, checksum = false, force_share = false;
  GatePolicy gate;
  unsigned threads = 0;
  SourceCli source;
};

int run(Opts& o) {
  // A file size limit (ulimit -f) must surface as a write error (EFBIG)
  // naming the target, not kill us with SIGXFSZ and leave the temporary file.
  std::signal(SIGXFSZ, SIG_IGN);
  ConvertOptions c;
  const std::optional<Format> target = parse_format_option(o.out_format);
  if (!target)
    throw Error(ErrorKind::Usage, "", "-O needs an output format (" + format_list(writable_formats()) + ")");
  c.target_format = *target;
  c.options = parse_create_options(o.options);
  c.compress = o.compress;
  std::optional<uint64_t> sparse = parse_qemu_size(o.sparse);
  if (!sparse) throw Error(ErrorKind::Usage, "", "-S '" + o.sparse + "': expected a size such as 4096 or 4k");
  c.zero_granularity = *sparse;
  c.threads = o.threads;
  c.gate = o.gate;
  c.checksum = o.checksum;
  if (o.cache != "writeback" && o.cache != "unsafe")
    throw Error(
        ErrorKind::Usage, "",
        "-t '" + o.cache + "': valid cache modes are writeback (fsync the target, the default) and unsafe");
  c.fsync = o.cache == "writeback";
  c.source = finish_source_options(o.source);
  if (o.progress && !o.quiet) {
    auto last = std::make_shared<int>(-1);
    c.progress = [last](uint64_t done, uint64_t total) {
      const double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
      if (static_cast<int>(pct) == *last && done != total) return;
      *last = static_cast<int>(pct);
      std::printf("    (%3.2f/100%%)\r", pct);  // qemu-img -p (util/qemu-progress.c)
      std::fflush(stdout);
    };
  }
  OpenOptions open;
  open.format = parse_format_option(o.format);
  ConvertStats st = convert_file(o.src, o.dst, c, open);
  if (o.progress && !o.quiet) {
    std::printf("\n");
    if (st.spool_peak_memory || st.spool_peak_file)
      std::fprintf(stderr, "imgtool: note: spool peak: %llu bytes in memory, %llu in a temporary file\n",
                   static_cast<unsigned long long>(st.spool_peak_memory),
                   static_cast<unsigned long long>(st.spool_peak_file));
  }
  for (const UpstreamCheck& u : st.upstream)
    std::fprintf(stderr, "imgtool: note: upstream %s matches %s%s\n",
                 std::string(sources::to_string(u.expected.algorithm)).c_str(), u.expected.origin.c_str(),
                 u.signature_checked                            ? " (signature checked)"
                 : u.expected.origin.rfind("--expect-", 0) == 0 ? ""
                                                                : " (signature not checked)");
  if (st.md5 && st.sha512)
    std::cout << "checksum: " << *st.md5 << "\nos_hash_algo: sha512\nos_hash_value: " << *st.sha512 << "\n";
  return kOk;
}

}  // namespace

Subcommand setup_convert(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub =
      app.add_subcommand("convert", "Convert an image to raw, qcow2 or vmdk (like qemu-img convert)");
  sub->add_option("-f,--format", o->format, "Source format (default: detect from the bytes)");
  sub->add_option("-O,--output-format", o->out_format, "Target format: raw, qcow2 or vmdk")->required();
  add_repeatable(sub, "-o,--options", o->options, "Target options key=value[,key=value...] (qemu-img names)");
  sub->add_flag("-U,--force-share", o->force_share,
                "Accepted for qemu-img compatibility (imgtool never locks)");
  sub->add_flag("-c,--compress", o->compress,
                "Compress the target (qcow2; vmdk streamOptimized compresses anyway)");
  sub->add_flag("-p,--progress", o->progress, "Show progress like qemu-img -p");
  sub->add_flag("-q,--quiet", o->quiet, "No progress output");
  sub->add_option("-S,--sparse-size", o->sparse,
                  "Zero runs this long are not written (default 4k; 0 = fully allocate)");
  sub->add_option("-m,--threads", o->threads, "Worker threads (default: number of cores)")
      ->check(CLI::Range(1u, 64u));
  sub->add_option("-t,--cache", o->cache,
                  "writeback (default: fsync DST before it takes its name) or unsafe (no flush, qemu-img's "
                  "default; a block device is always flushed)");
  sub->add_flag("--checksum", o->checksum, "Print Glance's checksum (md5) and os_hash_value (sha512) of DST");
  add_gate_options(sub, o->gate);
  add_source_options(sub, o->source);
  sub->add_option("src", o->src,
                  "Source image: a file, - (standard input) or an http(s) URL; compressed and OVA too")
      ->required();
  sub->add_option("dst", o->dst,
                  "Target: a file (written atomically, through a symlink) or a block device (in place)")
      ->required();
  return {sub, [o] { return run(*o); }};
}

}  // namespace imgtool::cli
