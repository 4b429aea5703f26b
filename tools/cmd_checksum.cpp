// PLACEHOLDER: the 'checksum' subcommand is being built.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"

namespace imgtool::cli {

Subcommand setup_checksum(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("checksum", "(not available yet)");
  sub->allow_extras();
  return {sub, [] {
            std::cerr << "imgtool: checksum: not available in this build yet\n";
            return kError;
          }};
}

}  // namespace imgtool::cli
