// PLACEHOLDER (minimal): `imgtool info FILE` — replaced by the qemu-img-identical renderer.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/image.hpp"

namespace imgtool::cli {

Subcommand setup_info(CLI::App& app) {
  struct Opts {
    std::string file, format;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("info", "Show image format, sizes and format-specific details");
  sub->add_option("-f,--format", o->format, "Format (default: detect from the bytes)");
  sub->add_option("file", o->file, "Image file")->required();
  return {sub, [o] {
            OpenOptions opts;
            opts.format = o->format;
            auto img = open_image(o->file, opts);
            std::cout << "image: " << img->info().filename << "\nfile format: " << img->info().format
                      << "\nvirtual size: " << img->info().virtual_size << "\n";
            return kOk;
          }};
}

}  // namespace imgtool::cli
