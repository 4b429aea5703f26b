#pragma once
// Options several subcommands share, spelled once: the gate's flags (the
// refusal of a named file names them, so every command that assesses an image
// must accept them) and -f.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "imgtool/format.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::cli {

// --allow-backing and --allow-external-files.
void add_gate_options(CLI::App* sub, GatePolicy& gate);

// -f NAME -> a Format; empty -> nullopt (detect). Error(Usage) listing the
// known formats otherwise.
std::optional<Format> parse_format_option(const std::string& name);

}  // namespace imgtool::cli
