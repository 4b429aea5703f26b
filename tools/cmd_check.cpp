// `imgtool check [-f FMT] [--output=human|json] [--allow-backing]
// [--allow-external-files] FILE`: the safety verdict (imgtool::assess) in
// qemu-img check's words. Findings go to stderr, one line each ("imgtool:
// FILE: message"); the summary goes to stdout. The exit code is the verdict's:
//   0 clean, 3 leaks, 2 corrupt, 1 unreadable (or the file cannot be opened),
//   4 unsafe — the same verdict convert, publish and inspect refuse on.
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/info.hpp"
#include "imgtool/sources.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::cli {

Subcommand setup_check(CLI::App& app) {
  struct Opts {
    std::string file, format, output = "human";
    bool force_share = false;
    GatePolicy gate;
    SourceCli source;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("check",
                                     "Check safety and metadata consistency. Exit: 0 clean, 1 unreadable, 2 "
                                     "corrupt, 3 leaks only, 4 unsafe");
  sub->add_option("-f,--format", o->format, "Format (default: detect from the bytes)");
  sub->add_option("--output", o->output, "Output format: human (default) or json")
      ->check(CLI::IsMember({"human", "json"}));
  sub->add_flag("-U,--force-share", o->force_share,
                "Accepted for qemu-img compatibility (imgtool never locks)");
  add_gate_options(sub, o->gate);
  add_source_options(sub, o->source);
  sub->add_option("file", o->file,
                  "Image: a file, - (standard input) or an http(s) URL; compressed and OVA too")
      ->required();
  return {sub, [o] {
            AssessOptions opts;
            opts.format = parse_format_option(o->format);
            opts.gate = o->gate;
            std::unique_ptr<Source> src =
                open_source(o->file, declared_source_options(finish_source_options(o->source), opts.format));
            const Assessment a = assess_source(*src, opts);
            src->finish();
            const std::string name = escape_name(a.report.filename);
            for (size_t i = 0; i < a.report.findings.size(); ++i) {
              if (i % 1024 == 1023) throw_if_interrupted();  // as many lines as the image makes
              const Finding& f = a.report.findings[i];
              std::cerr << "imgtool: " << name << ": " << (f.severity == Severity::Note ? "note: " : "")
                        << terminal_safe(f.message) << "\n";
            }
            std::cerr.flush();
            std::cout << (o->output == "json" ? render_check_json(a) : render_check_human(a));
            std::cout.flush();
            return exit_code_for(a.verdict);
          }};
}

}  // namespace imgtool::cli
