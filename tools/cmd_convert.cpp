// PLACEHOLDER: the 'convert' subcommand is being built.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"

namespace imgtool::cli {

Subcommand setup_convert(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("convert", "(not available yet)");
  sub->allow_extras();
  return {sub, [] {
            std::cerr << "imgtool: convert: not available in this build yet\n";
            return kError;
          }};
}

}  // namespace imgtool::cli
