// `imgtool compare [-f FMT] [-F FMT] [-s] [-q] [-p] [-U] [--allow-backing]
// [--allow-external-files] FILE1 FILE2`: whether two images hold the same
// guest data, with qemu-img 7.2 compare's words and exit codes: 0
// identical, 1 different, 2 an image cannot be opened (or is refused, as
// convert refuses it), 3 an allocation map cannot be read, 4 guest data
// cannot be read.
#include <cstdio>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/error.hpp"
#include "imgtool/readside.hpp"

namespace imgtool::cli {
namespace {

// qemu-img compare's exit codes (qemu-img.c img_compare).
constexpr int kDifferent = 1, kOpenFailed = 2, kStatusFailed = 3, kReadFailed = 4;

void print_error(const Error& e) {
  std::cout.flush();
  std::cerr << "imgtool: " << terminal_safe(e.what()) << "\n";
}

}  // namespace

Subcommand setup_compare(CLI::App& app) {
  struct Opts {
    std::string file1, file2, format1, format2;
    bool strict = false, quiet = false, progress = false, force_share = false;
    GatePolicy gate;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "compare",
      "Compare the guest data of two images (as qemu-img compare). Exit: 0 identical, 1 different, 2 cannot "
      "open or refused, 3 allocation map error, 4 read error");
  sub->add_option("-f", o->format1, "Format of FILE1 (default: detect from the bytes)");
  sub->add_option("-F", o->format2, "Format of FILE2 (default: detect from the bytes)");
  sub->add_flag("-s,--strict", o->strict, "Strict: a size or allocation difference is a difference");
  sub->add_flag("-q,--quiet", o->quiet, "Print nothing on stdout (errors still go to stderr)");
  sub->add_flag("-p,--progress", o->progress, "Show progress like qemu-img -p");
  sub->add_flag("-U,--force-share", o->force_share,
                "Accepted for qemu-img compatibility (imgtool never locks)");
  add_gate_options(sub, o->gate);
  sub->add_option("file1", o->file1, "First image")->required();
  sub->add_option("file2", o->file2, "Second image")->required();
  return {sub, [o] {
            std::shared_ptr<const Image> a, b;
            try {
              a = open_assessed(o->file1, o->format1, o->gate, "compare");
              b = open_assessed(o->file2, o->format2, o->gate, "compare");
            } catch (const Error& e) {
              if (e.kind() == ErrorKind::Interrupted || e.kind() == ErrorKind::Usage) throw;
              if (o->progress && !o->quiet) std::printf("\n");  // qemu_progress_end
              print_error(e);
              return kOpenFailed;
            }
            CompareOptions c;
            c.strict = o->strict;
            // qemu-img -p (util/qemu-progress.c): float percentages, printed
            // when they moved 2 points (qemu_progress_init(progress, 2.0)),
            // at 0 and at 100; one newline when the command ends.
            const bool progress = o->progress && !o->quiet;
            if (progress) {
              struct State {
                float current = 0, last_print = 0;
                uint64_t done = 0;
              };
              auto st = std::make_shared<State>();
              c.progress = [st](uint64_t done, uint64_t total) {
                const float delta =
                    total ? static_cast<float>(done - st->done) / static_cast<float>(total) * 100 : 0;
                st->done = done;
                float current = st->current + delta / 100 * 100;
                if (current > 100) current = 100;
                st->current = current;
                if (current > st->last_print + 2.0f || current < st->last_print - 2.0f || current == 0 ||
                    current == 100) {
                  st->last_print = current;
                  std::printf("    (%3.2f/100%%)\r", static_cast<double>(current));
                  std::fflush(stdout);
                }
              };
            }
            if (!o->quiet)
              c.print = [](const std::string& line) {
                std::fputs(line.c_str(), stdout);
                std::fflush(stdout);
              };
            const CompareResult r = compare_images(*a, *b, c);
            if (progress) std::printf("\n");
            std::fflush(stdout);
            switch (r.outcome) {
              case CompareOutcome::Identical: return kOk;
              case CompareOutcome::Different: return kDifferent;
              case CompareOutcome::StatusError: print_error(*r.error); return kStatusFailed;
              case CompareOutcome::ReadError: print_error(*r.error); return kReadFailed;
            }
            return kError;
          }};
}

}  // namespace imgtool::cli
