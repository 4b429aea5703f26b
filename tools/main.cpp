// imgtool: the CLI is a thin shell over the library. Errors are caught once
// here, printed as one line on stderr, and mapped to an exit code.
#include <cstdio>
#include <iostream>
#include <new>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool_config.hpp"

int main(int argc, char** argv) {
  using namespace imgtool::cli;
  CLI::App app{"imgtool " IMGTOOL_VERSION " - disk images for OpenStack Glance: info, check, convert, checksum, publish"};
  app.set_version_flag("--version", "imgtool " IMGTOOL_VERSION);
  app.require_subcommand(1);
  std::vector<Subcommand> subs{setup_info(app),     setup_check(app),   setup_convert(app),
                               setup_checksum(app), setup_publish(app), setup_inspect(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "imgtool: " << e.what() << " (see imgtool --help)\n";
    return kUsage;
  }
  imgtool::install_interrupt_handlers();
  try {
    for (auto& s : subs)
      if (s.app->parsed()) return s.run();
    return kUsage;
  } catch (const imgtool::Error& e) {
    std::cout.flush();
    std::cerr << "imgtool: " << imgtool::terminal_safe(e.what()) << "\n";
    return exit_code_for(e.kind());
  } catch (const std::bad_alloc&) {
    std::cerr << "imgtool: out of memory\n";
    return kError;
  } catch (const std::exception& e) {
    std::cerr << "imgtool: internal error: " << imgtool::terminal_safe(e.what()) << "\n";
    return kError;
  }
}
