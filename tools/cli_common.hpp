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
#include "imgtool/sources.hpp"
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
  // `several_targets`: --os-cloud and --os-region-name may be repeated; each
  // cloud × region is one target (publish), in `targets` after
  // finish_glance_options() when there is more than one.
  std::vector<std::string> clouds, regions;
  std::vector<GlanceConnection> targets;
};
void add_glance_options(CLI::App* sub, GlanceCli& g, bool several_targets = false);
// Refuses --os-password, and routes --debug's lines to stderr.
void finish_glance_options(GlanceCli& g);

// Where the image comes from (a file, "-", an http(s) URL) and what to
// expect of it, the same on every command that reads an image: --cacert,
// --insecure (unless the command's Glance options already define it: then
// it covers both), --member, --expect-sha256/-sha512/-md5, --checksums,
// --keyring, and --as-is where `as_is` is offered.
struct SourceCli {
  SourceOptions opts;
  std::vector<std::string> expect_sha256, expect_sha512, expect_md5;
  bool insecure = false;
};
void add_source_options(CLI::App* sub, SourceCli& s, bool add_insecure = true);
// Validates the digests (hex of the right length), routes --insecure's note
// to stderr, and returns the options. `glance_insecure`: the command's
// Glance --insecure, which then covers the source too.
SourceOptions finish_source_options(SourceCli& s, bool glance_insecure = false);

// -f NAME -> a Format; empty -> nullopt (detect). Error(Usage) listing the
// known formats otherwise.
std::optional<Format> parse_format_option(const std::string& name);

// Opens FILE for a command that reads guest data (map, compare, measure):
// assess() with the gate's flags, the refusal convert makes ("refusing to
// ACTION: ..."), and Error(Unsupported) for formats imgtool only detects.
// FILE may be any source (a URL, "-", compressed): read through a spool.
std::shared_ptr<const Image> open_assessed(const std::string& file, const std::string& format,
                                           const GatePolicy& gate, const std::string& action,
                                           const SourceOptions& source = {});

}  // namespace imgtool::cli
