#pragma once
// One file per subcommand (CLI11 examples/subcom_in_files): each setup_*
// adds its subcommand to `app` and returns the function that runs it, which
// returns the exit code. Keep each cmd_*.cpp thin: options -> one library call
// -> output.
#include <CLI/CLI.hpp>
#include <functional>

namespace imgtool::cli {

using Runner = std::function<int()>;

struct Subcommand {
  CLI::App* app;
  Runner run;
};

Subcommand setup_info(CLI::App& app);
Subcommand setup_check(CLI::App& app);
Subcommand setup_convert(CLI::App& app);
Subcommand setup_checksum(CLI::App& app);
Subcommand setup_publish(CLI::App& app);
Subcommand setup_inspect(CLI::App& app);
Subcommand setup_compare(CLI::App& app);
Subcommand setup_map(CLI::App& app);
Subcommand setup_measure(CLI::App& app);
Subcommand setup_download(CLI::App& app);
Subcommand setup_copy_image(CLI::App& app);

}  // namespace imgtool::cli
