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
              print_error(e);
              return kOpenFailed;
            }
            CompareOptions c;
            c.strict = o->strict;
            const bool progress = o->progress && !o->quiet;
            if (progress) {
              auto last = std::make_shared<int>(-1);
              c.progress = [last](uint64_t done, uint64_t total) {
                const double pct =
                    total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
                if (static_cast<int>(pct) == *last && done != total) return;
                *last = static_cast<int>(pct);
                std::printf("    (%3.2f/100%%)\r", pct);  // qemu-img -p (util/qemu-progress.c)
                std::fflush(stdout);
              };
            }
            const CompareResult r = compare_images(*a, *b, c);
            if (progress) std::printf("\n");
            std::fflush(stdout);
            if (!o->quiet) std::cout << r.output;
            std::cout.flush();
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
