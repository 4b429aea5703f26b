#include "cli_common.hpp"

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
