// `imgtool map [-f FMT] [--output=human|json] [-s|--start-offset N]
// [-l|--max-length N] [-U] [--allow-backing] [--allow-external-files] FILE`:
// where the guest data lives, exactly as qemu-img 7.2 `map` prints it. The
// image is assessed first and refused as convert refuses it. Exit: 0, 1 error
// (as qemu-img), 4 unsafe.
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/readside.hpp"

namespace imgtool::cli {

Subcommand setup_map(CLI::App& app) {
  struct Opts {
    std::string file, format, output = "human", start, max_length;
    bool force_share = false;
    GatePolicy gate;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("map", "Show where the guest data lives (as qemu-img map)");
  sub->add_option("-f,--format", o->format, "Format (default: detect from the bytes)");
  sub->add_option("--output", o->output, "Output format: human (default) or json")
      ->check(CLI::IsMember({"human", "json"}));
  sub->add_option("-s,--start-offset", o->start, "Guest offset to start at (default 0; suffixes k, M, G, T)");
  sub->add_option("-l,--max-length", o->max_length, "Map at most this many bytes (suffixes k, M, G, T)");
  sub->add_flag("-U,--force-share", o->force_share,
                "Accepted for qemu-img compatibility (imgtool never locks)");
  add_gate_options(sub, o->gate);
  sub->add_option("file", o->file, "Image file")->required();
  return {sub, [o] {
            MapOptions m;
            m.json = o->output == "json";
            const auto size = [](const std::string& v, const char* what) {
              std::optional<uint64_t> n = parse_qemu_size(v);
              if (!n)
                throw Error(ErrorKind::Usage, "",
                            std::string(what) + " '" + v + "': expected a size such as 4096 or 64k");
              return *n;
            };
            if (!o->start.empty()) m.start_offset = size(o->start, "--start-offset");
            if (!o->max_length.empty()) m.max_length = size(o->max_length, "--max-length");
            auto img = open_assessed(o->file, o->format, o->gate, "map");
            write_map(*img, m, std::cout);
            std::cout.flush();
            return kOk;
          }};
}

}  // namespace imgtool::cli
