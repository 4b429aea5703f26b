#pragma once
// Options several subcommands share, spelled once: the gate's flags (the
// refusal of a named file names them, so every command that assesses an image
// must accept them) and -f.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "imgtool/format.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::cli {

// --allow-backing and --allow-external-files.
void add_gate_options(CLI::App* sub, GatePolicy& gate);

// A repeatable option that takes exactly one value per occurrence
// (`--tag a --tag b`, `-o k=v`), so it never swallows the positional
// argument that follows it, as CLI11's vector options do by default.
CLI::Option* add_repeatable(CLI::App* sub, const std::string& name, std::vector<std::string>& values,
                            const std::string& help);

// How to reach Glance, the same on every command that talks to it:
// --os-cloud, --os-cacert, --insecure, --os-region-name, --os-interface and
// --debug (call finish_glance_options() before using `conn`).
struct GlanceCli {
  GlanceConnection conn;
  bool debug = false;
  std::string password_flag;  // --os-password, refused with an explanation
};
void add_glance_options(CLI::App* sub, GlanceCli& g);
// Refuses --os-password, and routes --debug's lines to stderr.
void finish_glance_options(GlanceCli& g);

// -f NAME -> a Format; empty -> nullopt (detect). Error(Usage) listing the
// known formats otherwise.
std::optional<Format> parse_format_option(const std::string& name);

// Opens FILE for a command that reads guest data (map, compare, measure):
// assess() with the gate's flags, the refusal convert makes ("refusing to
// ACTION: ..."), and Error(Unsupported) for formats imgtool only detects.
std::shared_ptr<const Image> open_assessed(const std::string& file, const std::string& format,
                                           const GatePolicy& gate, const std::string& action);

}  // namespace imgtool::cli
