#include "support/http_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace imgtool::test {
namespace {

using Clock = std::chrono::steady_clock;

// Starts `args` with stdin from /dev/null and stdout+stderr to `log`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
  return pid;
}

void stop(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  pid = -1;
}

bool exited(pid_t pid) {
  int st = 0;
  return ::waitpid(pid, &st, WNOHANG) == pid;
}

int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A port nothing listens on now (the kernel's choice for a bind to port 0).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

HttpFixture::HttpFixture(std::filesystem::path root, bool https) : root_(std::move(root)) {
  // A proxy of the machine's environment must not stand between the tests
  // and 127.0.0.1 (libcurl reads no_proxy before NO_PROXY).
  ::setenv("no_proxy", "127.0.0.1,localhost", 1);
  try {
    start_server();
    if (https) start_stunnel();
  } catch (...) {
    stop(stunnel_pid_);
    stop(server_pid_);
    throw;
  }
}

HttpFixture::~HttpFixture() {
  stop(stunnel_pid_);
  stop(server_pid_);
}

void HttpFixture::start_server() {
  const std::string port_file = dir_.file("port");
  const std::string log = dir_.file("server.log");
  server_pid_ = spawn({"/usr/bin/python3", std::string(IMGTOOL_SOURCE_DIR) + "/tests/sources/http_server.py",
                       "--root", root_.string(), "--port-file", port_file},
                      log);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    std::ifstream in(port_file);
    if (in >> port_) return;
    if (exited(server_pid_)) {
      server_pid_ = -1;
      throw std::runtime_error("tests/sources/http_server.py exited: " + read_file(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("tests/sources/http_server.py did not start within 20 s: " + read_file(log));
}

void HttpFixture::start_stunnel() {
  const std::string key = dir_.file("key.pem");
  cacert_ = dir_.file("cert.pem");
  // An EC key: quicker to make than RSA, and every TLS library takes it.
  const RunResult cert =
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
          sh_quote(key) + " -out " + sh_quote(cacert_) +
          " -days 3650 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost");
  if (cert.exit_code != 0) throw std::runtime_error("openssl req failed: " + cert.err);
  const std::string log = dir_.file("stunnel.log");
  for (int attempt = 0; attempt < 5; ++attempt) {
    tls_port_ = free_port();
    const std::string conf = dir_.file("stunnel.conf");
    write_file(conf, "foreground = yes\npid =\noutput = " + log + "\n[https]\naccept = 127.0.0.1:" +
                         std::to_string(tls_port_) + "\nconnect = 127.0.0.1:" + std::to_string(port_) +
                         "\ncert = " + cacert_ + "\nkey = " + key + "\n");
    stunnel_pid_ = spawn({"stunnel4", conf}, dir_.file("stunnel.out"));
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      if (int fd = connect_local(tls_port_); fd >= 0) {
        ::close(fd);
        return;
      }
      if (exited(stunnel_pid_)) break;  // the port was taken meanwhile: try another
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop(stunnel_pid_);
  }
  throw std::runtime_error("stunnel4 did not start: " + read_file(dir_.file("stunnel.out")) + read_file(log));
}

std::string HttpFixture::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::string HttpFixture::https_base_url() const {
  if (tls_port_ == 0) throw std::runtime_error("HttpFixture made without https");
  return "https://127.0.0.1:" + std::to_string(tls_port_);
}

std::string HttpFixture::requests() const {
  const int fd = connect_local(port_);
  if (fd < 0) throw std::runtime_error("the test http server is gone");
  const std::string req = "GET /_requests HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    throw std::runtime_error("cannot ask the test http server");
  }
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t body = answer.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : answer.substr(body + 4);
}

}  // namespace imgtool::test
