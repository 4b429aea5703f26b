// libcurl behind HttpClient: one easy handle per client (connections are
// re-used between Keystone/Glance calls), RAII for every curl object.
// libcurl is reached through curl() (glance/curl_api.hpp), loaded by the first
// HttpClient: curl().easy_setopt(...) is curl_easy_setopt(...).
#include "glance/http.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#include "glance/curl_api.hpp"  // curl(): libcurl, loaded at first use
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/version.hpp"

namespace imgtool::glance {
namespace {

struct CurlFree {
  void operator()(CURL* c) const noexcept { curl().easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, CurlFree>;
struct SlistFree {
  void operator()(curl_slist* l) const noexcept { curl().slist_free_all(l); }
};
using CurlSlist = std::unique_ptr<curl_slist, SlistFree>;

// Error bodies are small; an image list can be long but not this long.
constexpr size_t kMaxResponseBody = size_t{32} << 20;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl().global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  std::exception_ptr reader_error;
  std::exception_ptr sink_error;
  long status = 0;  // of the answer whose headers arrived last
  bool body_too_long = false;
  bool answered = false;  // on_answer was called for the current answer
  bool cancelled = false;
  // Stall detection (TlsOptions::stall_timeout_seconds).
  long stall_seconds = 0;
  bool body_sent = false;  // the streamed body's reader returned its end (a chunked body)
  bool stalled = false;
  curl_off_t last_dl = -1, last_ul = -1;
  std::chrono::steady_clock::time_point last_move = std::chrono::steady_clock::now();
};

size_t on_body(char* ptr, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  if (t->req->body_sink && t->status >= 200 && t->status < 300) {
    try {
      if (!t->answered && t->req->on_answer) t->req->on_answer(t->status, t->resp->headers);
      t->answered = true;
      t->req->body_sink(std::span<const std::byte>(reinterpret_cast<const std::byte*>(ptr), len));
      return len;
    } catch (...) {
      t->sink_error = std::current_exception();
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
  }
  if (t->resp->body.size() + len > kMaxResponseBody) {
    t->body_too_long = true;
    return 0;  // aborts with CURLE_WRITE_ERROR
  }
  t->resp->body.append(ptr, len);
  return len;
}

size_t on_header(char* ptr, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  std::string line(ptr, len);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();  // a new response (after 100 Continue or a redirect)
    t->answered = false;
    const size_t sp = line.find(' ');
    t->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return len;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string value = line.substr(colon + 1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.pop_back();
  size_t start = value.find_first_not_of(' ');
  t->resp->headers[name] = start == std::string::npos ? "" : value.substr(start);
  return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  try {
    const size_t got = t->req->reader(std::span<std::byte>(reinterpret_cast<std::byte*>(buf), size * n));
    if (got == 0) t->body_sent = true;
    return got;
  } catch (...) {
    t->reader_error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

// libcurl calls this at least once a second, and at once when a signal
// interrupts its poll() (curl treats EINTR as a timeout and runs the transfer
// loop again).
int on_progress(void* ud, curl_off_t, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(ud);
  if (t->req->cancellable ? interrupted() : interrupt_count() > 1) {
    t->cancelled = true;
    return 1;
  }
  const auto now = std::chrono::steady_clock::now();
  if (dlnow != t->last_dl || ulnow != t->last_ul) {
    t->last_dl = dlnow;
    t->last_ul = ulnow;
    t->last_move = now;
  } else if ((t->body_sent || (ultotal > 0 && ulnow >= ultotal)) && dlnow == 0) {
    t->last_move = now;  // the body went out; waiting for the answer is no stall
  } else if (t->stall_seconds > 0 && now - t->last_move >= std::chrono::seconds(t->stall_seconds)) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

// What to do about a transport failure, for the one-line error.
std::string failure_hint(CURLcode rc, const TlsOptions& tls) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT: return " (is the service running at that address?)";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return tls.cacert.empty() ? " (the server's certificate is not trusted: give its CA bundle with "
                                  "--os-cacert or OS_CACERT, "
                                  "or --insecure to skip verification)"
                                : " (the server's certificate does not verify against " + tls.cacert + ")";
    case CURLE_SSL_CONNECT_ERROR: return " (TLS handshake failed: is this an https endpoint?)";
    default: return "";
  }
}

}  // namespace

const std::string& user_agent() {
  static const std::string ua =
      "imgtool/" + std::string(version()) + " libcurl/" + curl().version_info(CURLVERSION_NOW)->version;
  return ua;
}

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
  CurlEasy easy;
};

HttpClient::HttpClient(TlsOptions tls, HttpDebugLog debug)
    : tls_(std::move(tls)), debug_(std::move(debug)), impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->easy.reset(curl().easy_init());
  if (!impl_->easy) throw Error(ErrorKind::Io, "", "libcurl: curl_easy_init failed");
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::perform(const HttpRequest& req) {
  CURL* c = impl_->easy.get();
  curl().easy_reset(c);
  HttpResponse resp;
  Transfer t;
  t.req = &req;
  t.resp = &resp;
  t.stall_seconds = tls_.stall_timeout_seconds;

  CurlSlist headers;
  for (const auto& h : req.headers) {
    curl_slist* l = curl().slist_append(headers.get(), h.c_str());
    if (l == nullptr) throw Error(ErrorKind::Io, redact_url(req.url), "libcurl: out of memory");
    headers.release();
    headers.reset(l);
  }
  curl().easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl().easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl().easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl().easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl().easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl().easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl().easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl().easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl().easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl().easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl().easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer is detected in on_progress (curl's own low-speed
  // check would also count the wait for Glance's answer after the upload).
  if (req.timeout_seconds > 0) curl().easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_seconds);
  curl().easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl().easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl().easy_setopt(c, CURLOPT_USERAGENT, user_agent().c_str());
  char errbuf[CURL_ERROR_SIZE] = {};
  curl().easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (!tls_.cacert.empty()) curl().easy_setopt(c, CURLOPT_CAINFO, tls_.cacert.c_str());
  if (tls_.insecure) {
    curl().easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl().easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  if (req.reader) {
    curl().easy_setopt(c, CURLOPT_UPLOAD, 1L);  // PUT
    curl().easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl().easy_setopt(c, CURLOPT_READDATA, &t);
    curl().easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    if (req.body_size)
      curl().easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(*req.body_size));
    if (req.method != "PUT") curl().easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "GET") {
    curl().easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    if (req.method != "POST") curl().easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method != "DELETE" || !req.body.empty()) {
      curl().easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
      curl().easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }

  CURLcode rc = curl().easy_perform(c);
  if (t.reader_error) std::rethrow_exception(t.reader_error);
  if (t.sink_error) std::rethrow_exception(t.sink_error);
  if (t.cancelled) throw_if_interrupted();
  if (t.stalled)
    throw HttpTransportError(req.method + " " + redact_url(req.url) + ": stalled: no byte moved for " +
                                 std::to_string(t.stall_seconds) + " s (--timeout)",
                             true);
  if (rc != CURLE_OK) {
    if (t.body_too_long)
      throw Error(ErrorKind::Http, "",
                  req.method + " " + redact_url(req.url) + ": response body larger than " +
                      std::to_string(kMaxResponseBody) + " bytes");
    // libcurl's detail (e.g. "SSL certificate problem: self-signed certificate")
    // says more than the generic text of the code.
    std::string what = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl().easy_strerror(rc));
    const bool transient = rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
                           rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
                           rc == CURLE_OPERATION_TIMEDOUT;
    throw HttpTransportError(req.method + " " + redact_url(req.url) + ": " + what + failure_hint(rc, tls_),
                             transient);
  }
  curl().easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace imgtool::glance
