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

namespace {

// Messages escape names taken from images where they embed them; this is the
// backstop that keeps every error one line and free of terminal controls.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace

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
    std::cerr << "imgtool: " << one_line(e.what()) << "\n";
    return exit_code_for(e.kind());
  } catch (const std::bad_alloc&) {
    std::cerr << "imgtool: out of memory\n";
    return kError;
  } catch (const std::exception& e) {
    std::cerr << "imgtool: internal error: " << one_line(e.what()) << "\n";
    return kError;
  }
}
