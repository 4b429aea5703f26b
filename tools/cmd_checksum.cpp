// `imgtool checksum [--os-hash-algo ALGO] [--output=human|json] [--verify IMAGE] FILE...`:
// per file, the fields Glance shows after `openstack image create`
// (checksum = md5, os_hash_algo, os_hash_value, size), computed in one pass.
// A file that cannot be read gets one error line and no digests; the others
// are still processed and the exit code is non-zero at the end.
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/sources.hpp"
#include "progress_meter.hpp"
#include "sources/digest_stream.hpp"

namespace imgtool::cli {
namespace {

struct Opts {
  std::vector<std::string> files;
  std::string algo = "sha512", output = "human", verify;
  GlanceCli glance;  // for --verify
  SourceCli source;
  bool as_is = false, progress = false;
};

std::string upstream_line(const UpstreamCheck& c) {
  std::string l = std::string(sources::to_string(c.expected.algorithm)) + " " + c.actual + " matches " +
                  c.expected.origin;
  if (c.signature_checked)
    l += " (signature checked: " + c.signer + ")";
  else if (c.expected.origin.rfind("--expect-", 0) != 0)
    l += " (signature not checked)";
  return l;
}

void print_human(const std::string& file, const GlanceDigests& d, bool first) {
  if (!first) std::cout << '\n';
  std::cout << "file: " << file << '\n'
            << "checksum: " << d.checksum << '\n'
            << "os_hash_algo: " << d.os_hash_algo << '\n'
            << "os_hash_value: " << d.os_hash_value << '\n'
            << "size: " << d.size << '\n';
}

int run(Opts& o) {
  finish_glance_options(o.glance);
  SourceOptions src_opts = finish_source_options(o.source, o.glance.conn.insecure);
  src_opts.unpack = !o.as_is;
  // -p: the download of an http(s) source, on stderr (a file is read too fast to need it).
  std::shared_ptr<ProgressMeter> meter;
  if (o.progress) {
    meter = std::make_shared<ProgressMeter>(::isatty(STDERR_FILENO) == 1);
    src_opts.http.progress = [meter](uint64_t done, std::optional<uint64_t> total) {
      meter->update(done, total);
    };
  }
  auto algo = parse_hash_algo(o.algo);
  if (!algo)
    throw Error(ErrorKind::Usage, "",
                "--os-hash-algo '" + o.algo + "' is not one of md5, sha1, sha256, sha384, sha512");
  if (!o.verify.empty() && o.files.size() != 1)
    throw Error(
        ErrorKind::Usage, "",
        "--verify compares one file with one Glance image; got " + std::to_string(o.files.size()) + " files");
  auto json = nlohmann::ordered_json::array();
  int rc = kOk;
  bool first = true;
  for (const auto& f : o.files) {
    GlanceDigests d;
    std::vector<UpstreamCheck> upstream;
    struct EndLine {  // the meter's line ends before the file's output or error
      std::shared_ptr<ProgressMeter> m;
      ~EndLine() {
        if (m) m->finish();
      }
    } end_line{meter};
    try {
      d = o.verify.empty()
              ? glance_digests_of_source(f, src_opts, *algo, &upstream)
              : verify_against_glance(f, src_opts, o.verify, glance_image_lookup(o.glance.conn), &upstream);
    } catch (const Error& e) {
      // After a signal, stop (exit 130) instead of going on with the next
      // file; an error then is likely the signal's doing (EINTR).
      if (e.kind() == ErrorKind::Interrupted || interrupted()) throw;
      std::cout.flush();
      std::cerr << "imgtool: " << e.with_path(f).what() << '\n';
      if (rc == kOk) rc = exit_code_for(e.kind());
      continue;
    }
    if (o.output == "json") {
      nlohmann::ordered_json j = {{"file", f},
                                  {"checksum", d.checksum},
                                  {"os_hash_algo", d.os_hash_algo},
                                  {"os_hash_value", d.os_hash_value},
                                  {"size", d.size}};
      if (!upstream.empty()) {
        auto u = nlohmann::ordered_json::array();
        for (const UpstreamCheck& c : upstream)
          u.push_back(
              {{"algorithm", sources::to_string(c.expected.algorithm)},
               {"value", c.actual},
               {"origin", c.expected.origin},
               {"signature_checked", c.signature_checked},
               {"signer", c.signer.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.signer)}});
        j["upstream"] = u;
      }
      json.push_back(std::move(j));
    } else {
      print_human(f, d, first);
      for (const UpstreamCheck& c : upstream) std::cout << "upstream: " << upstream_line(c) << '\n';
      if (!o.verify.empty()) std::cout << "verified: matches Glance image " << o.verify << '\n';
      std::cout.flush();
    }
    first = false;
  }
  if (o.output == "json") std::cout << json.dump(4) << '\n';
  std::cout.flush();
  return rc;
}

}  // namespace

Subcommand setup_checksum(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "checksum", "Print the checksum, os_hash_algo, os_hash_value and size Glance shows for each file");
  sub->add_option(
      "--os-hash-algo", o->algo,
      "hashlib name of Glance's os_hash_algo: md5, sha1, sha256, sha384, sha512 (default sha512)");
  sub->add_option("--output", o->output, "Output format: human (default) or json (an array)")
      ->check(CLI::IsMember({"human", "json"}));
  sub->add_option("--verify", o->verify,
                  "Compare the file with the Glance image IMAGE_ID_OR_NAME (uses Glance's os_hash_algo)");
  add_glance_options(sub, o->glance);
  add_source_options(sub, o->source, false);
  sub->add_flag("-p,--progress", o->progress, "Show the download of an http(s) source on stderr");
  sub->add_flag(
      "--as-is", o->as_is,
      "Hash the bytes as they are (a .xz as the .xz), not the disk image inside a compressed or OVA source");
  sub->add_option(
         "file", o->files,
         "Sources to hash: files, - (standard input), http(s) URLs; compressed and OVA sources give the "
         "digests of the disk image inside (what Glance shows after publish)")
      ->required();
  return {sub, [o] { return run(*o); }};
}

}  // namespace imgtool::cli
