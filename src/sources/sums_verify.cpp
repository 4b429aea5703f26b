// A sums file as --checksums gives it: read from a URL or a file, its clear
// signature checked by gpgv (run directly, no shell, its status lines read
// from a pipe), and the entry for the source's file name.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "sources/http_stream.hpp"
#include "sources/sums_file.hpp"

extern char** environ;

namespace imgtool::sources {
namespace {

constexpr size_t kMaxSumsFile = size_t{16} << 20;
constexpr size_t kMaxGpgvOutput = size_t{1} << 20;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// The text gpgv reads, in a file of its own that goes away with this object.
class TempText {
 public:
  TempText(std::string_view text, const std::string& origin) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/imgtool-sums-XXXXXX";
    Fd f(::mkstemp(path_.data()));
    if (f.fd < 0)
      throw Error(ErrorKind::Io, path_,
                  std::string("cannot create a temporary file: ") + std::strerror(errno));
    created_ = true;
    while (!text.empty()) {
      const ssize_t n = ::write(f.fd, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw Error(ErrorKind::Io, origin,
                    std::string("cannot write a temporary file: ") + std::strerror(errno));
      text.remove_prefix(static_cast<size_t>(n));
    }
  }
  ~TempText() {
    if (created_) ::unlink(path_.c_str());
  }
  TempText(const TempText&) = delete;
  TempText& operator=(const TempText&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool created_ = false;
};

struct GpgvRun {
  int exit_code = -1;
  std::string status;  // --status-fd lines
  std::string err;     // its messages
};

// Runs gpgv with `args`; its status lines on one pipe, its messages on another.
GpgvRun run_gpgv(const std::vector<std::string>& args, const std::string& origin) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw Error(ErrorKind::Io, origin, std::string("pipe: ") + std::strerror(errno));
  Fd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0)
    throw Error(ErrorKind::Io, origin, std::string("pipe: ") + std::strerror(errno));
  Fd err_r(err[0]), err_w(err[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // Messages in English whatever the user's locale: they end up in ours.
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "LC_ALL=", 7) != 0 && std::strncmp(*e, "LANGUAGE=", 9) != 0)
      env_store.emplace_back(*e);
  env_store.emplace_back("LC_ALL=C");
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc == ENOENT)
    throw Error(ErrorKind::Unsupported, origin,
                "checking the signature needs gpgv, which is not installed (apt-get install gpgv)");
  if (rc != 0) throw Error(ErrorKind::Io, origin, std::string("cannot run gpgv: ") + std::strerror(rc));
  out_w.reset();
  err_w.reset();

  GpgvRun r;
  bool cancelled = false;
  while ((out_r.fd >= 0 || err_r.fd >= 0) && !cancelled) {
    pollfd p[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    ::poll(p, 2, 100);
    if (interrupted()) {
      cancelled = true;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::string& sink = i == 0 ? r.status : r.err;
      if (n <= 0) {
        (i == 0 ? out_r : err_r).reset();
      } else if (sink.size() < kMaxGpgvOutput) {
        sink.append(buf, static_cast<size_t>(n));
      }
    }
  }
  if (cancelled) ::kill(pid, SIGTERM);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (cancelled) throw_if_interrupted();
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return r;
}

// The words of one "[GNUPG:] KEYWORD ..." line after the keyword.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> w;
  while (!s.empty()) {
    const size_t start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    const size_t end = s.find(' ');
    w.push_back(s.substr(0, end));
    if (end == std::string_view::npos) break;
    s.remove_prefix(end);
  }
  return w;
}

// "user id with spaces": everything after the first `skip` words.
std::string rest_after(std::string_view line, size_t skip) {
  for (size_t i = 0; i < skip; ++i) {
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) return "";
    const size_t sp = line.find(' ', start);
    if (sp == std::string_view::npos) return "";
    line.remove_prefix(sp + 1);
  }
  return std::string(line);
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const size_t nl = text.rfind('\n');
  return std::string(nl == std::string_view::npos ? text : text.substr(nl + 1));
}

std::string read_local(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) throw Error(ErrorKind::Io, path, std::string("cannot open: ") + std::strerror(errno));
  std::string text;
  char buf[64 << 10];
  for (;;) {
    throw_if_interrupted();
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorKind::Io, path, std::string("read failed: ") + std::strerror(errno));
    if (n == 0) return text;
    if (text.size() + static_cast<size_t>(n) > kMaxSumsFile)
      throw Error(ErrorKind::Format, path,
                  "larger than " + std::to_string(kMaxSumsFile) + " bytes: not a sums file");
    text.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

SignatureCheck verify_clearsigned(std::string_view text, const std::string& keyring,
                                  const std::string& origin) {
  // gpgv reads a keyring name without a slash from its home directory.
  std::error_code ec;
  const std::string abs_keyring = std::filesystem::absolute(keyring, ec).string();
  struct stat st {};
  if (::stat(abs_keyring.c_str(), &st) != 0)
    throw Error(ErrorKind::Io, keyring, std::string("cannot read the keyring: ") + std::strerror(errno));
  TempText file(text, origin);
  const GpgvRun r =
      run_gpgv({"gpgv", "--status-fd", "1", "--keyring", abs_keyring, "--", file.path()}, origin);

  std::string good_uid, valid_fpr, bad_uid, err_key, err_rc;
  bool nodata = false;
  size_t at = 0;
  while (at < r.status.size()) {
    size_t nl = r.status.find('\n', at);
    if (nl == std::string::npos) nl = r.status.size();
    std::string_view line = std::string_view(r.status).substr(at, nl - at);
    at = nl + 1;
    if (line.substr(0, 9) != "[GNUPG:] ") continue;
    line.remove_prefix(9);
    const auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "GOODSIG" && w.size() >= 2) {
      good_uid = rest_after(line, 2);
    } else if (w[0] == "VALIDSIG" && w.size() >= 2) {
      valid_fpr = std::string(w[1]);
    } else if (w[0] == "BADSIG") {
      bad_uid = rest_after(line, 2);
      if (bad_uid.empty()) bad_uid = "?";
    } else if (w[0] == "ERRSIG" && w.size() >= 7) {
      err_key = std::string(w[1]);
      err_rc = std::string(w[6]);
    } else if (w[0] == "NODATA") {
      nodata = true;
    }
  }
  if (r.exit_code == 0 && !good_uid.empty() && !valid_fpr.empty() && bad_uid.empty() && err_key.empty())
    return SignatureCheck{true, "Good signature from \"" + good_uid + "\" (key " + valid_fpr + ")"};

  std::string why;
  if (!bad_uid.empty())
    why = "BAD signature from \"" + bad_uid + "\": the text was changed after it was signed";
  else if (err_rc == "9")
    why = "no public key for its signing key " + err_key + " in " + keyring;
  else if (!err_key.empty())
    why = "gpgv cannot check the signature by key " + err_key + " (error " + err_rc + ")";
  else if (nodata)
    why = "no OpenPGP signature found (is it clear-signed?)";
  else
    why = "gpgv exited with " + std::to_string(r.exit_code) + ": " + last_line(r.err);
  throw Error(ErrorKind::Mismatch, origin, "signature check failed: " + why);
}

ExpectedDigest expected_from_sums(const std::string& spec, const std::string& source_name,
                                  const std::string& keyring, const HttpSourceOptions& http,
                                  SignatureCheck* signature) {
  const bool remote = is_http_url(spec);
  const std::string spec_name = remote ? url_for_messages(spec) : spec;
  const std::string source_msg = is_http_url(source_name) ? url_for_messages(source_name) : source_name;
  std::string file_name;
  if (is_http_url(source_name)) {
    file_name = url_file_name(source_name);
  } else if (source_name != "-") {
    file_name = std::filesystem::path(source_name).filename().string();
  }
  if (file_name.empty())
    throw Error(ErrorKind::Usage, source_msg,
                "--checksums looks the source up by its file name, and this source has none");

  const std::string text = remote ? fetch_http_text(spec, http, kMaxSumsFile) : read_local(spec);
  SignatureCheck sig;
  if (!keyring.empty()) sig = verify_clearsigned(text, keyring, spec_name);
  if (signature != nullptr) *signature = sig;

  const auto entry = find_sums_entry(parse_sums_file(text, spec_name), file_name);
  if (!entry) throw Error(ErrorKind::Mismatch, source_msg, "no entry for " + file_name + " in " + spec_name);
  return ExpectedDigest{entry->algorithm, entry->hex, spec_name};
}

}  // namespace imgtool::sources
