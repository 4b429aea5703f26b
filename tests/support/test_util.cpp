#include "support/test_util.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace imgtool::test {
namespace fs = std::filesystem;

RunResult run(const std::string& cmd) {
  TempDir tmp;
  std::string out = tmp.file("out"), err = tmp.file("err");
  std::string full = "( " + cmd + " ) >" + sh_quote(out) + " 2>" + sh_quote(err) + " </dev/null";
  int st = std::system(full.c_str());
  RunResult r;
  if (st == -1) {
    r.exit_code = -1;
  } else if (WIFEXITED(st)) {
    r.exit_code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    r.exit_code = 128 + WTERMSIG(st);
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string run_ok(const std::string& cmd) {
  RunResult r = run(cmd);
  if (r.exit_code != 0)
    ADD_FAILURE() << "command failed (" << r.exit_code << "): " << cmd << "\nstderr: " << r.err;
  return r.out;
}

std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

std::string imgtool_bin() {
  return IMGTOOL_BIN;
}

bool have_tool(const std::string& tool) {
  return std::system(("command -v " + sh_quote(tool) + " >/dev/null 2>&1").c_str()) == 0;
}

::testing::AssertionResult require_tool(const std::string& tool) {
  if (have_tool(tool)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << tool << " is not installed: run scripts/deps.sh test";
}

TempDir::TempDir(Reach reach) {
  if (reach == Reach::Everyone) {
    // Not $TMPDIR: it may point into a 0700 tree too.
    std::string tmpl = "/tmp/imgtool-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp under /tmp failed");
    path_ = tmpl;
    fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    return;
  }
  static std::mt19937_64 rng{std::random_device{}()};
  fs::path base = fs::path(IMGTOOL_BUILD_DIR) / "test-tmp";
  fs::create_directories(base);
  for (;;) {
    fs::path p = base / ("t" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000000));
    if (fs::create_directory(p)) {
      path_ = p;
      break;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void poke(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  ASSERT_TRUE(f.good()) << "cannot open " << path;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

static std::string be(uint64_t v, int n) {
  std::string s(n, '\0');
  for (int i = 0; i < n; ++i) s[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
  return s;
}
static std::string le(uint64_t v, int n) {
  std::string s(n, '\0');
  for (int i = 0; i < n; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}
void poke_be32(const std::string& p, uint64_t o, uint32_t v) {
  poke(p, o, be(v, 4));
}
void poke_be64(const std::string& p, uint64_t o, uint64_t v) {
  poke(p, o, be(v, 8));
}
void poke_le32(const std::string& p, uint64_t o, uint32_t v) {
  poke(p, o, le(v, 4));
}
void poke_le64(const std::string& p, uint64_t o, uint64_t v) {
  poke(p, o, le(v, 8));
}

void truncate_file(const std::string& path, uint64_t size) {
  fs::resize_file(path, size);
}

void qemu_img(const std::string& args) {
  // Creating a LUKS header benchmarks PBKDF2 with getrusage(); on a busy VM
  // that can measure 0 ms and qemu-img gives up ("Unable to get accurate CPU
  // usage"). That is qemu's timing, not the image: try again (a few times).
  RunResult r = run("qemu-img " + args);
  for (int i = 0;
       i < 4 && r.exit_code != 0 && r.err.find("Unable to get accurate CPU usage") != std::string::npos; ++i)
    r = run("qemu-img " + args);
  if (r.exit_code != 0)
    ADD_FAILURE() << "command failed (" << r.exit_code << "): qemu-img " << args << "\nstderr: " << r.err;
}

void qemu_io(const std::string& image, const std::string& fmt, const std::string& commands) {
  // commands separated by ';' become separate -c options
  std::string cmd = "qemu-io -f " + fmt;
  std::stringstream ss(commands);
  std::string c;
  while (std::getline(ss, c, ';'))
    if (!c.empty()) cmd += " -c " + sh_quote(c);
  run_ok(cmd + " " + sh_quote(image));
}

}  // namespace imgtool::test
