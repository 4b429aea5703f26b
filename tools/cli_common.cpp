#include "cli_common.hpp"

#include <cctype>
#include <iostream>

#include "imgtool/error.hpp"

namespace imgtool::cli {

void add_gate_options(CLI::App* sub, GatePolicy& gate) {
  sub->add_flag("--allow-backing", gate.allow_backing,
                "Read a backing file beside the image (plain name only) and flatten the chain");
  sub->add_flag(
      "--allow-external-files", gate.allow_external_files,
      "Read a qcow2 external data file or vmdk extents not named *.vmdk (plain names beside the image "
      "only; *.vmdk extents are read without it)");
}

CLI::Option* add_repeatable(CLI::App* sub, const std::string& name, std::vector<std::string>& values,
                            const std::string& help) {
  return sub->add_option(name, values, help)
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_glance_options(CLI::App* sub, GlanceCli& g, bool several_targets) {
  if (several_targets)
    add_repeatable(sub, "--os-cloud", g.clouds,
                   "Cloud in clouds.yaml (default: OS_CLOUD, else OS_* variables); repeat it to publish to "
                   "several clouds from one read");
  else
    sub->add_option("--os-cloud", g.conn.cloud,
                    "Cloud in clouds.yaml (default: OS_CLOUD, else OS_* variables)");
  sub->add_option("--os-cacert", g.conn.cacert, "PEM CA bundle for https (default: OS_CACERT)");
  sub->add_flag("--insecure", g.conn.insecure, "Do not verify TLS certificates");
  if (several_targets)
    add_repeatable(sub, "--os-region-name", g.regions,
                   "Region of the Glance endpoint (default: OS_REGION_NAME); repeat it for several regions");
  else
    sub->add_option("--os-region-name", g.conn.region,
                    "Region of the Glance endpoint (default: OS_REGION_NAME)");
  sub->add_option("--os-interface", g.conn.interface,
                  "Endpoint interface: public, internal or admin (default: OS_INTERFACE, else public)");
  sub->add_option(
         "--timeout", g.conn.stall_timeout_seconds,
         "Fail a transfer in which no byte moves for this many seconds (default 300; 0: never); the wait "
         "for Glance's answer after an upload does not count")
      ->check(CLI::Range(0L, 86400L));
  sub->add_flag("--debug", g.debug,
                "Log every HTTP call on stderr: method, URL, status, time (secrets redacted)");
  sub->add_option("--os-password", g.password_flag)->group("");  // refused with an explanation
}

void add_source_options(CLI::App* sub, SourceCli& s, bool add_insecure) {
  const std::string g = "Source (file, - for standard input, http(s) URL)";
  sub->add_option("--cacert", s.opts.http.cacert, "PEM CA bundle for an https source (replaces the system's)")
      ->group(g);
  if (add_insecure)
    sub->add_flag("--insecure", s.insecure, "Do not verify the TLS certificate of an https source")->group(g);
  sub->add_option("--member", s.opts.member,
                  "The disk to read from an OVA or tar (default: the OVF's only disk)")
      ->group(g);
  add_repeatable(sub, "--expect-sha256", s.expect_sha256,
                 "The source's bytes (as downloaded) must have this SHA-256")
      ->group(g);
  add_repeatable(sub, "--expect-sha512", s.expect_sha512, "... this SHA-512")->group(g);
  add_repeatable(sub, "--expect-md5", s.expect_md5, "... this MD5")->group(g);
  sub->add_option(
         "--checksums", s.opts.checksums,
         "SHA256SUMS/SHA512SUMS file (URL or path) listing the source's file name; verified in the same "
         "pass")
      ->group(g);
  sub->add_option("--keyring", s.opts.keyring,
                  "OpenPGP keyring for gpgv: the --checksums file must be clear-signed by one of its keys")
      ->group(g);
}

SourceOptions finish_source_options(SourceCli& s, bool glance_insecure) {
  auto add = [&](const std::vector<std::string>& hexes, DigestAlgorithm alg, size_t len, const char* flag) {
    for (std::string h : hexes) {
      for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (h.size() != len || h.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw Error(ErrorKind::Usage, "",
                    std::string(flag) + " '" + h + "': expected " + std::to_string(len) + " hex digits");
      s.opts.expect.push_back(ExpectedDigest{.algorithm = alg, .hex = h, .origin = flag});
    }
  };
  add(s.expect_sha256, DigestAlgorithm::Sha256, 64, "--expect-sha256");
  add(s.expect_sha512, DigestAlgorithm::Sha512, 128, "--expect-sha512");
  add(s.expect_md5, DigestAlgorithm::Md5, 32, "--expect-md5");
  s.opts.http.insecure = s.insecure || glance_insecure;
  if (s.insecure) std::cerr << "imgtool: note: --insecure: the source's TLS certificate is not verified\n";
  return s.opts;
}

void finish_glance_options(GlanceCli& g) {
  if (!g.password_flag.empty())
    throw Error(ErrorKind::Usage, "",
                "--os-password is refused: a password on the command line shows in /proc/PID/cmdline; "
                "set OS_PASSWORD or use clouds.yaml (--os-cloud)");
  if (g.debug)
    g.conn.debug = [](const std::string& line) { std::cerr << "imgtool: debug: " << line << "\n"; };
  // Several targets: every cloud in every region asked for.
  const std::vector<std::string> clouds =
      g.clouds.empty() ? std::vector<std::string>{g.conn.cloud} : g.clouds;
  const std::vector<std::string> regions =
      g.regions.empty() ? std::vector<std::string>{g.conn.region} : g.regions;
  g.conn.cloud = clouds.front();
  g.conn.region = regions.front();
  g.targets.clear();
  if (clouds.size() * regions.size() > 1)
    for (const auto& c : clouds)
      for (const auto& r : regions) {
        GlanceConnection t = g.conn;
        t.cloud = c;
        t.region = r;
        g.targets.push_back(std::move(t));
      }
}

std::optional<Format> parse_format_option(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (auto f = format_from_name(name)) return f;
  throw Error(ErrorKind::Usage, "",
              "unknown format '" + name + "' (known: " + format_list(known_formats()) + ")");
}

std::shared_ptr<const Image> open_assessed(const std::string& file, const std::string& format,
                                           const GatePolicy& gate, const std::string& action,
                                           const SourceOptions& source) {
  AssessOptions a;
  a.format = parse_format_option(format);
  a.gate = gate;
  a.purpose = Purpose::Read;
  std::shared_ptr<Source> src = open_source(file, declared_source_options(source, a.format));
  const Assessment verdict = assess_source(*src, a);
  src->finish();
  verdict.throw_if_refused(action);
  if (!verdict.image->readable())
    throw Error(ErrorKind::Unsupported, file,
                "imgtool detects " + std::string(format_name(verdict.image->info().format)) +
                    " images but cannot read their data, so it cannot " + action + " them");
  return verdict.image;
}

}  // namespace imgtool::cli
