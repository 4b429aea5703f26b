// `imgtool measure [--output=human|json] [-O FMT] [-o OPTIONS] [--size N |
// [-f FMT] FILE]`: the size a raw, qcow2 or vmdk file needs, with qemu-img
// 7.2's numbers and output for raw and qcow2 and imgtool's own writer's for
// vmdk (which qemu-img cannot measure). A FILE is assessed first and refused
// as convert refuses it. Exit: 0, 1 error (as qemu-img), 4 unsafe.
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/readside.hpp"

namespace imgtool::cli {

Subcommand setup_measure(CLI::App& app) {
  struct Opts {
    std::string file, format, out_format = "raw", output = "human", size;
    std::vector<std::string> options;
    bool force_share = false;
    GatePolicy gate;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "measure", "Size a raw, qcow2 or vmdk file needs for FILE or --size (as qemu-img measure; vmdk too)");
  sub->add_option("--output", o->output, "Output format: human (default) or json")
      ->check(CLI::IsMember({"human", "json"}));
  sub->add_option("-O,--output-format", o->out_format, "Target format: raw (default), qcow2 or vmdk");
  add_repeatable(sub, "-o,--options", o->options, "Target options key=value[,key=value...] (qemu-img names)");
  sub->add_option("--size", o->size,
                  "Virtual size of a new empty image (suffixes k, M, G, T), instead of FILE");
  sub->add_option("-f,--format", o->format, "Format of FILE (default: detect from the bytes)");
  sub->add_flag("-U,--force-share", o->force_share,
                "Accepted for qemu-img compatibility (imgtool never locks)");
  add_gate_options(sub, o->gate);
  sub->add_option("file", o->file, "Source image (or use --size)");
  return {sub, [o] {
            MeasureOptions m;
            const std::optional<Format> target = parse_format_option(o->out_format);
            if (!target) throw Error(ErrorKind::Usage, "", "-O needs a format (raw, qcow2 or vmdk)");
            m.target = *target;
            m.options = parse_create_options(o->options);
            if (!o->size.empty()) {
              m.size = parse_qemu_size(o->size);
              if (!m.size)
                throw Error(ErrorKind::Usage, "",
                            "--size '" + o->size + "': expected a size such as 1G or 10737418240");
            }
            std::shared_ptr<const Image> img;
            if (!o->file.empty() && !m.size) img = open_assessed(o->file, o->format, o->gate, "measure");
            if (!o->file.empty() && m.size)
              throw Error(ErrorKind::Usage, "", "--size N cannot be used together with a filename.");
            const Measurement r = measure_image(img.get(), m);
            std::cout << (o->output == "json" ? render_measure_json(r) : render_measure_human(r));
            std::cout.flush();
            return kOk;
          }};
}

}  // namespace imgtool::cli
