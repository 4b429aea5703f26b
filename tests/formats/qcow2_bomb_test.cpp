// qcow2 bombs (tests/images/make_bombs.sh): small files whose metadata makes a
// naive checker walk the same tables again and again or size its memory from
// the file size. `imgtool check`, `convert -O raw` and `info` must each finish
// within 5 s and 200 MiB, never crash, and print a bounded number of lines,
// one per finding, each naming the file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

constexpr double kMaxSeconds = 5.0;
constexpr long kMaxRssKiB = 200 * 1024;
constexpr size_t kMaxLines = 20;

struct Measured {
  int exit_code = -1;  // exit status, or 128 + signal
  double seconds = 0;
  long max_rss_kib = 0;
  std::string out, err;
};

// Runs imgtool with `args` in `dir` and measures the child alone (wait4's
// rusage, not the shell's); killed after 60 s so a regression fails fast.
Measured run_imgtool(const std::string& dir, std::vector<std::string> args) {
  const std::string out = dir + "/bomb.out", err = dir + "/bomb.err";
  args.insert(args.begin(), imgtool_bin());
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0) ::_exit(126);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Measured m;
  if (pid < 0) return m;
  int status = 0;
  struct rusage ru {};
  for (;;) {
    const pid_t r = ::wait4(pid, &status, WNOHANG, &ru);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(60)) {
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &ru);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.max_rss_kib = ru.ru_maxrss;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  m.out = read_file(out);
  m.err = read_file(err);
  return m;
}

class Qcow2Bomb : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_tool("qemu-img") || !have_tool("qemu-io")) return;
    dir_ = std::make_unique<TempDir>();
    const RunResult r =
        run("bash " + sh_quote(std::string(IMGTOOL_SOURCE_DIR) + "/tests/images/make_bombs.sh") + " " +
            sh_quote(dir_->path().string()));
    made_ = r.exit_code == 0;
    if (!made_) std::fprintf(stderr, "make_bombs.sh failed: %s\n", r.err.c_str());
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "qemu-img/qemu-io not installed";
    ASSERT_TRUE(made_) << "make_bombs.sh failed";
  }

  // One command on one bomb, within the bounds; returns the measurement.
  static Measured bounded(const std::string& file, std::vector<std::string> args) {
    args.push_back(file);
    if (args[0] == "convert") args.push_back("out.raw");
    Measured m = run_imgtool(dir_->path().string(), args);
    const std::string what = args[0] + " " + file;
    EXPECT_LT(m.exit_code, 128) << what << " crashed or was killed\n" << m.err;
    EXPECT_LT(m.seconds, kMaxSeconds) << what;
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_LT(m.max_rss_kib, kMaxRssKiB) << what;
#endif
    EXPECT_EQ(m.err.find("internal error"), std::string::npos) << what << "\n" << m.err;
    // One line per finding (or the one error line), each naming the file.
    size_t lines = 0;
    for (size_t pos = 0; pos < m.err.size(); ++lines) {
      size_t nl = m.err.find('\n', pos);
      if (nl == std::string::npos) nl = m.err.size();
      EXPECT_EQ(m.err.compare(pos, 11 + file.size(), "imgtool: " + file + ": "), 0) << what << "\n" << m.err;
      pos = nl + 1;
    }
    EXPECT_LE(lines, kMaxLines) << what << "\n" << m.err.substr(0, 4000);
    std::printf("[ bomb     ] %-40s %5.2f s %7ld KiB exit %d, %zu lines\n", what.c_str(), m.seconds,
                m.max_rss_kib, m.exit_code, lines);
    std::remove((dir_->path() / "out.raw").c_str());
    return m;
  }

  static std::unique_ptr<TempDir> dir_;
  static bool made_;
};
std::unique_ptr<TempDir> Qcow2Bomb::dir_;
bool Qcow2Bomb::made_ = false;

bool has(const Measured& m, const std::string& needle) {
  return m.err.find(needle) != std::string::npos;
}

TEST_F(Qcow2Bomb, OneL2TableNamedBy65536L1Entries) {
  const std::string f = "l2-named-65536.qcow2";
  Measured c = bounded(f, {"check"});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_TRUE(has(c, "named by 65536 L1 entries")) << c.err;
  EXPECT_TRUE(has(c, "refcount is 1")) << c.err;
  Measured v = bounded(f, {"convert", "-O", "raw"});
  EXPECT_NE(v.exit_code, 0);
  EXPECT_TRUE(has(v, "refusing to convert")) << v.err;
  EXPECT_EQ(bounded(f, {"info"}).exit_code, 0);
}

TEST_F(Qcow2Bomb, ThousandSnapshotsShareOneL1Table) {
  const std::string f = "snap-shared-l1.qcow2";
  Measured c = bounded(f, {"check"});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_TRUE(has(c, "named by 1000 snapshots")) << c.err;
  EXPECT_NE(bounded(f, {"convert", "-O", "raw"}).exit_code, 0);
  EXPECT_EQ(bounded(f, {"info"}).exit_code, 0);
}

TEST_F(Qcow2Bomb, BitmapTableOverQemuCaps) {
  // qemu-img info refuses to open it ("doesn't satisfy the constraints"): so does imgtool.
  const std::string f = "bitmap-huge-table.qcow2";
  Measured c = bounded(f, {"check"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_TRUE(has(c, "2147483647")) << c.err;
  EXPECT_TRUE(has(c, "134217728")) << c.err;
  EXPECT_EQ(bounded(f, {"convert", "-O", "raw"}).exit_code, 1);
  EXPECT_EQ(bounded(f, {"info"}).exit_code, 1);
}

TEST_F(Qcow2Bomb, InUseBitmapTablePastEndOfFile) {
  const std::string f = "bitmap-inuse-past-eof.qcow2";
  Measured c = bounded(f, {"check"});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_TRUE(has(c, "past end of file")) << c.err;
  EXPECT_NE(bounded(f, {"convert", "-O", "raw"}).exit_code, 0);
  EXPECT_EQ(bounded(f, {"info"}).exit_code, 0);
}

TEST_F(Qcow2Bomb, ValidImagePaddedToFourTebibytes) {
  // qemu-img check gives up ("File too large"); imgtool checks it in a moment.
  const std::string f = "padded-4t.qcow2";
  Measured c = bounded(f, {"check"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(bounded(f, {"convert", "-O", "raw"}).exit_code, 0);
  EXPECT_EQ(bounded(f, {"info"}).exit_code, 0);
}

TEST_F(Qcow2Bomb, EveryRefcountTableEntryNamesOneBlock) {
  const std::string f = "reftable-one-block.qcow2";
  Measured c = bounded(f, {"check"});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_TRUE(has(c, "named by 131072 refcount table entries")) << c.err;
  EXPECT_NE(bounded(f, {"convert", "-O", "raw"}).exit_code, 0);
  EXPECT_EQ(bounded(f, {"info"}).exit_code, 0);
}

}  // namespace
}  // namespace imgtool::test
