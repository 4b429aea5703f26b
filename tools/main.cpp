// imgtool: the CLI is a thin shell over the library. Errors are caught once
// here, printed as one line on stderr, and mapped to an exit code.
// SIGINT/SIGTERM (docs/cli.md "Signals"): the handlers set a flag that the
// library's loops poll; the command unwinds (temporary files are removed,
// publish deletes its half-made image) and exits 130.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <new>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/version.hpp"

namespace {

// Commands that leave nothing behind if the process ends abruptly: no output
// file (convert), no Glance image (publish), no child process to kill
// (inspect, publish --auto-properties).
bool leaves_nothing_behind(const CLI::App& sub) {
  const std::string& n = sub.get_name();
  if (n == "info" || n == "check" || n == "checksum" || n == "compare" || n == "map" || n == "measure")
    return true;
  if (n != "publish") return false;
  const auto given = [&](const char* flag) {
    const CLI::Option* o = sub.get_option(flag);
    return o->count() > 0 && o->as<bool>();
  };
  return given("--dry-run") && !given("--auto-properties");
}

// The backstop of a command that leaves nothing behind: if it has not
// returned kGrace after a signal, it is stuck in a step that does not poll
// (a loop without throw_if_interrupted(), a read that retries after EINTR on a
// hung device), and the process ends here with the same exit code. The polled
// paths end well within kGrace, so this fires only where polling is missing.
class InterruptBackstop {
 public:
  static constexpr auto kGrace = std::chrono::milliseconds(500);  // the message says "0.5 s"

  InterruptBackstop() : thread_([this](std::stop_token st) { watch(st); }) {}
  InterruptBackstop(const InterruptBackstop&) = delete;
  InterruptBackstop& operator=(const InterruptBackstop&) = delete;

  // main() is about to print its last line and return: never fire after this
  // (a second line, or exit 130 after a complete result).
  void disarm() {
    std::lock_guard lk(m_);
    disarmed_ = true;
  }

 private:
  void watch(std::stop_token st) {
    // A signal handler cannot notify a condition variable: poll the flag.
    constexpr auto kPoll = std::chrono::milliseconds(50);
    std::unique_lock lk(m_);
    while (!imgtool::interrupted())
      if (cv_.wait_for(lk, st, kPoll, [this] { return disarmed_; }) || st.stop_requested()) return;
    if (cv_.wait_for(lk, st, kGrace, [this] { return disarmed_; }) || st.stop_requested()) return;
    // m_ stays locked: disarm() blocks, so main() cannot print a line too.
    const std::string line = std::string("imgtool: interrupted by ") + imgtool::interrupt_signal_name() +
                             " (forced exit: the current step did not stop within 0.5 s)\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    ::_exit(imgtool::cli::kInterrupted);  // nothing to clean up, and exit() would run destructors under us
  }

  std::mutex m_;
  std::condition_variable_any cv_;
  bool disarmed_ = false;  // guarded by m_
  std::jthread thread_;    // last: stopped and joined before the rest goes
};

// The error line and exit code for an error that reached main().
int report(const imgtool::Error& e) {
  using imgtool::ErrorKind;
  std::cout.flush();
  if (e.kind() != ErrorKind::Interrupted && imgtool::interrupted()) {
    // The signal is the cause: without SA_RESTART a blocked system call
    // fails with EINTR, and its caller reports an I/O error ("cannot open:
    // Interrupted system call"). Other errors keep their message (publish's
    // says which image it deleted) but still exit as interrupted.
    if (e.kind() == ErrorKind::Io)
      std::cerr << "imgtool: interrupted by " << imgtool::interrupt_signal_name() << "\n";
    else
      std::cerr << "imgtool: " << imgtool::terminal_safe(e.what()) << "\n";
    return imgtool::cli::kInterrupted;
  }
  std::cerr << "imgtool: " << imgtool::terminal_safe(e.what()) << "\n";
  return imgtool::cli::exit_code_for(e.kind());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace imgtool::cli;
  // First: a signal that arrives while the process starts must be seen, not
  // take the inherited action (a background job of a non-interactive shell
  // inherits SIG_IGN for SIGINT).
  imgtool::install_interrupt_handlers();
  const std::string version = "imgtool " + std::string(imgtool::version());
  CLI::App app{version + " - disk images for OpenStack Glance: info, check, convert, checksum, publish"};
  app.set_version_flag("--version", version);
  app.require_subcommand(1);
  std::vector<Subcommand> subs{
      setup_info(app),    setup_check(app),   setup_convert(app), setup_checksum(app), setup_publish(app),
      setup_inspect(app), setup_compare(app), setup_map(app),     setup_measure(app),  setup_download(app), setup_copy_image(app)};
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
  Subcommand* cmd = nullptr;
  for (auto& s : subs)
    if (s.app->parsed()) cmd = &s;
  if (cmd == nullptr) return kUsage;
  std::optional<InterruptBackstop> backstop;
  if (leaves_nothing_behind(*cmd->app)) backstop.emplace();
  const auto disarm = [&] {
    if (backstop) backstop->disarm();
  };
  try {
    const int rc = cmd->run();
    disarm();
    return rc;
  } catch (const imgtool::Error& e) {
    disarm();
    return report(e);
  } catch (const std::bad_alloc&) {
    disarm();
    std::cerr << "imgtool: out of memory\n";
    return imgtool::interrupted() ? kInterrupted : kError;
  } catch (const std::exception& e) {
    disarm();
    std::cerr << "imgtool: internal error: " << imgtool::terminal_safe(e.what()) << "\n";
    return imgtool::interrupted() ? kInterrupted : kError;
  }
}
