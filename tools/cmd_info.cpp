// `imgtool info [-f FMT] [--output=human|json] [--imgtool] FILE`: the image's
// metadata exactly as qemu-img 7.2 `info` prints it (byte for byte, human and
// JSON), optionally followed by imgtool-only facts. Never opens a file the
// image names (backing file, data file, extents): drivers only report them.
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/image.hpp"
#include "imgtool/info.hpp"
#include "imgtool/sources.hpp"

namespace imgtool::cli {

Subcommand setup_info(CLI::App& app) {
  struct Opts {
    std::string file, format, output = "human";
    bool extra = false, force_share = false;
    SourceCli source;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub =
      app.add_subcommand("info", "Show image format, sizes and format-specific details (as qemu-img info)");
  sub->add_option("-f,--format", o->format, "Format (default: detect from the bytes)");
  sub->add_option("--output", o->output, "Output format: human (default) or json")
      ->check(CLI::IsMember({"human", "json"}));
  sub->add_flag("--imgtool,--extra", o->extra,
                "Append imgtool-only facts (Glance disk_format, partition table, referenced files) after the "
                "qemu-img identical output");
  sub->add_flag("-U,--force-share", o->force_share,
                "Accepted for qemu-img compatibility (imgtool never locks)");
  add_source_options(sub, o->source);
  sub->add_option("file", o->file,
                  "Image: a file, - (standard input) or an http(s) URL; compressed and OVA too")
      ->required();
  return {sub, [o] {
            OpenOptions opts;
            opts.format = parse_format_option(o->format);
            std::unique_ptr<Source> src =
                open_source(o->file, declared_source_options(finish_source_options(o->source), opts.format));
            auto img = open_image(src->random_access(), opts);
            // Only reads the rest when digests were asked for.
            src->finish();
            ImageInfo info = img->info();
            check_ovf_declaration(*src, info);
            if (!src->layers().empty() || src->remote() || o->file == "-") info.actual_size.reset();
            std::vector<std::pair<std::string, InfoNode>> more;
            if (!src->layers().empty()) more.emplace_back("source-layers", source_layers_node(src->layers()));
            if (o->output == "json") {
              std::cout << render_info_json_with(info, o->extra, more);
            } else {
              std::cout << render_info_human(info);
              std::cout << render_source_layers_human(src->layers());
              if (o->extra) std::cout << render_info_extra_human(info);
            }
            std::cout.flush();
            return kOk;
          }};
}

}  // namespace imgtool::cli
