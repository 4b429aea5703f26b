#pragma once
// A real HTTP server for the tests of http(s) sources: tests/sources/http_server.py
// (files of one directory, Range requests, fault paths such as /drop-once/NAME;
// its docstring lists them) on a free port of 127.0.0.1, and optionally
// stunnel with a self-signed certificate for 127.0.0.1 in front of it for
// https. Both are killed when the fixture goes.
#include <sys/types.h>

#include <filesystem>
#include <string>

#include "support/test_util.hpp"

namespace imgtool::test {

class HttpFixture {
 public:
  // Serves the files of `root`; `https`: stunnel in front too. Throws
  // std::runtime_error (the test fails) when a server does not come up.
  explicit HttpFixture(std::filesystem::path root, bool https = false);
  ~HttpFixture();
  HttpFixture(const HttpFixture&) = delete;
  HttpFixture& operator=(const HttpFixture&) = delete;

  std::string base_url() const;                          // "http://127.0.0.1:PORT"
  std::string https_base_url() const;                    // "https://127.0.0.1:PORT" (https fixtures)
  const std::string& cacert() const { return cacert_; }  // PEM of the self-signed certificate
  // The server's request log: one "METHOD PATH RANGE" line per request ("-": no Range).
  std::string requests() const;

 private:
  void start_server();
  void start_stunnel();

  std::filesystem::path root_;
  TempDir dir_;
  pid_t server_pid_ = -1;
  pid_t stunnel_pid_ = -1;
  int port_ = 0;
  int tls_port_ = 0;
  std::string cacert_;
};

}  // namespace imgtool::test
