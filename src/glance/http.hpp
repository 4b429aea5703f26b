#pragma once
// A small synchronous HTTP client over libcurl for Keystone and Glance.
// libcurl stays in http.cpp (pimpl): nothing here includes curl.
// TLS is verified by default; `cacert` adds a PEM bundle, `insecure` turns
// verification off (the caller prints the warning).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "imgtool/error.hpp"

namespace imgtool::glance {

// How the client's connections behave (TLS and stalls).
struct TlsOptions {
  std::string cacert;  // PEM bundle (OS_CACERT / --os-cacert); empty = system store
  bool insecure = false;
  // A request in which no byte moves for this long fails (HttpTransportError
  // "stalled"). Not counted: the wait for the answer once a streamed body was
  // sent completely (Glance may still be writing it to its store). 0: never.
  long stall_timeout_seconds = 300;
};

// Pulls the request body: fills `out` and returns the count; 0 = end of body.
// May throw (the exception is rethrown from HttpClient::send()).
using BodyReader = std::function<size_t(std::span<std::byte> out)>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;   // "Name: value"
  std::string body;                   // used when `reader` is empty
  BodyReader reader;                  // streamed body (PUT of image data)
  std::optional<uint64_t> body_size;  // Content-Length of a streamed body; none = chunked
  // Abort when imgtool::interrupted() (SIGINT/SIGTERM). Off for the cleanup
  // (status, DELETE) that must still run after a signal; such a request
  // aborts only at a second signal (imgtool::interrupt_count() > 1), so a
  // user can still stop a cleanup that hangs.
  bool cancellable = true;
  long timeout_seconds = 0;  // whole request; 0 = none (uploads can be long)
  // A 2xx answer's body is handed here piece by piece instead of being kept
  // in HttpResponse::body (image data: any size). May throw (the exception
  // is rethrown from HttpClient::send()). Other answers' bodies are kept.
  std::function<void(std::span<const std::byte>)> body_sink;
  // Called with the status and headers (names lower-cased) of a 2xx answer
  // before its first body byte goes to body_sink; may throw (as body_sink).
  std::function<void(long status, const std::map<std::string, std::string>& headers)> on_answer;
};

// A request that got no HTTP answer. `transient` marks the failures worth
// another attempt of a request that may be repeated: the connection was
// refused, reset, timed out or closed without an answer (a restarting
// service). TLS, DNS and URL problems are not transient.
class HttpTransportError : public Error {
 public:
  HttpTransportError(std::string message, bool transient)
      : Error(ErrorKind::Http, "", std::move(message)), transient_(transient) {}
  bool transient() const noexcept { return transient_; }

 private:
  bool transient_;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const;
};

// --debug: receives one line per request (http_debug.cpp).
using HttpDebugLog = std::function<void(const std::string& line)>;

class HttpClient {
 public:
  explicit HttpClient(TlsOptions tls, HttpDebugLog debug = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and returns any HTTP answer (status checks are the
  // caller's). Throws Error(Http) for transport failures (connection refused,
  // TLS, reset mid-upload: the message names the URL and curl's reason),
  // Error(Interrupted) on a signal, or the body reader's own exception.
  HttpResponse send(const HttpRequest& req);

  const TlsOptions& tls() const { return tls_; }

 private:
  // send() without the debug log.
  HttpResponse perform(const HttpRequest& req);

  struct Impl;
  TlsOptions tls_;
  HttpDebugLog debug_;
  std::unique_ptr<Impl> impl_;
};

// "imgtool/<version> libcurl/<version>", sent as User-Agent (what an operator
// sees in the Glance and Keystone logs).
const std::string& user_agent();

// Percent-encodes one query value / path segment (RFC 3986 unreserved kept).
std::string url_escape(const std::string& s);

// A URL fit for a log: userinfo ("user:password@") and the values of query
// parameters that look like credentials (signature, token, secret, password,
// key, credential; any case) become "***".
std::string redact_url(const std::string& url);
// The --debug line of one request: method, redacted URL, the request's
// non-secret headers' names, body size, then status, time, answer size and
// Glance/Keystone's request id — or the transport failure.
std::string debug_line(const HttpRequest& req, const HttpResponse* resp, double seconds,
                       const std::string& failure);

}  // namespace imgtool::glance
