// PLACEHOLDER: the 'check' subcommand is being built.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"

namespace imgtool::cli {

Subcommand setup_check(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("check", "(not available yet)");
  sub->allow_extras();
  return {sub, [] {
            std::cerr << "imgtool: check: not available in this build yet\n";
            return kError;
          }};
}

}  // namespace imgtool::cli
