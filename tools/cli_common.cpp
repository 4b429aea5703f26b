#include "cli_common.hpp"

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

void add_glance_options(CLI::App* sub, GlanceCli& g) {
  sub->add_option("--os-cloud", g.conn.cloud,
                  "Cloud in clouds.yaml (default: OS_CLOUD, else OS_* variables)");
  sub->add_option("--os-cacert", g.conn.cacert, "PEM CA bundle for https (default: OS_CACERT)");
  sub->add_flag("--insecure", g.conn.insecure, "Do not verify TLS certificates");
  sub->add_option("--os-region-name", g.conn.region,
                  "Region of the Glance endpoint (default: OS_REGION_NAME)");
  sub->add_option("--os-interface", g.conn.interface,
                  "Endpoint interface: public, internal or admin (default: OS_INTERFACE, else public)");
  sub->add_flag("--debug", g.debug,
                "Log every HTTP call on stderr: method, URL, status, time (secrets redacted)");
  sub->add_option("--os-password", g.password_flag)->group("");  // refused with an explanation
}

void finish_glance_options(GlanceCli& g) {
  if (!g.password_flag.empty())
    throw Error(ErrorKind::Usage, "",
                "--os-password is refused: a password on the command line shows in /proc/PID/cmdline; "
                "set OS_PASSWORD or use clouds.yaml (--os-cloud)");
  if (g.debug)
    g.conn.debug = [](const std::string& line) { std::cerr << "imgtool: debug: " << line << "\n"; };
}

std::optional<Format> parse_format_option(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (auto f = format_from_name(name)) return f;
  throw Error(ErrorKind::Usage, "",
              "unknown format '" + name + "' (known: " + format_list(known_formats()) + ")");
}

std::shared_ptr<const Image> open_assessed(const std::string& file, const std::string& format,
                                           const GatePolicy& gate, const std::string& action) {
  AssessOptions a;
  a.format = parse_format_option(format);
  a.gate = gate;
  a.purpose = Purpose::Read;
  const Assessment verdict = assess(file, a);
  verdict.throw_if_refused(action);
  if (!verdict.image->readable())
    throw Error(ErrorKind::Unsupported, file,
                "imgtool detects " + std::string(format_name(verdict.image->info().format)) +
                    " images but cannot read their data, so it cannot " + action + " them");
  return verdict.image;
}

}  // namespace imgtool::cli
