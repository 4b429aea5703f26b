// `imgtool check [-f FMT] [--output=human|json] FILE`: metadata consistency and
// safety. Findings go to stderr, one line each ("imgtool: FILE: message"); the
// summary goes to stdout, in qemu-img check's words. Exit code, worst wins:
//   4 unsafe (refers to other files) > 2 corrupt > 3 leaks only > 0 clean;
//   1 when the image cannot be opened or parsed at all (tools/main.cpp).
// raw has no metadata: it is reported clean unless its partition table fails
// Glance's MBR/GPT checks (qemu-img says "This image format does not support
// checks" and exits 63; imgtool deliberately answers). Bytes claimed by more
// than one format are unsafe for every format.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "formats/ambiguity.hpp"
#include "formats/raw/partition_table.hpp"
#include "imgtool/image.hpp"
#include "imgtool/info.hpp"

namespace imgtool::cli {

Subcommand setup_check(CLI::App& app) {
  struct Opts {
    std::string file, format, output = "human";
    bool force_share = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "check",
      "Check metadata consistency and safety. Exit: 0 clean, 1 cannot open/parse, 2 corrupt, 3 leaks only, "
      "4 unsafe (wins over corrupt, which wins over leaks)");
  sub->add_option("-f,--format", o->format, "Format (default: detect from the bytes)");
  sub->add_option("--output", o->output, "Output format: human (default) or json")
      ->check(CLI::IsMember({"human", "json"}));
  sub->add_flag("-U,--force-share", o->force_share,
                "Accepted for qemu-img compatibility (imgtool never locks)");
  sub->add_option("file", o->file, "Image file")->required();
  return {sub, [o] {
            OpenOptions opts;
            opts.format = o->format;
            std::shared_ptr<const ByteSource> src = open_file_source(o->file);
            auto img = open_image(src, opts);
            CheckReport r = img->check();
            // Beyond the driver's own walk: bytes that several formats claim
            // (Glance refuses them), and for raw images Glance's MBR/GPT checks.
            for (auto& f : formats::ambiguity_findings(*src)) r.findings.push_back(std::move(f));
            if (img->info().format == "raw")
              for (auto& f : formats::partition_table_findings(*src)) r.findings.push_back(std::move(f));
            if (r.filename.empty()) r.filename = img->info().filename;
            if (r.format.empty()) r.format = img->info().format;
            for (const auto& f : r.findings)
              std::cerr << "imgtool: " << r.filename << ": " << f.message << "\n";
            std::cerr.flush();
            std::cout << (o->output == "json" ? render_check_json(r) : render_check_human(r));
            std::cout.flush();
            const std::string v = check_verdict(r);
            if (v == "unsafe") return kUnsafe;
            if (v == "corrupt") return kCorrupt;
            if (v == "leaks") return kLeaks;
            return kOk;
          }};
}

}  // namespace imgtool::cli
