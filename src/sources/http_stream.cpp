// An http(s) body as a ByteStream. libcurl pushes data through a write
// callback while ByteStream::read() pulls, so read() drives libcurl's multi
// interface itself (curl_multi_perform, then curl_multi_poll for at most
// 100 ms, on the calling thread): no worker thread, cancellation is a check
// between two polls, and the body waits in one bounded buffer. When that
// buffer is full the write callback pauses the transfer (the kernel's socket
// buffer and TCP flow control then hold the server back), so memory stays at
// a few MiB whatever the body's size.
//
// A body that stops early is resumed with `Range: bytes=N-` once every byte
// received was handed to the reader, so N is both "received" and "returned":
// nothing is returned twice and nothing is skipped.
#include "sources/http_stream.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "glance/curl_api.hpp"  // curl(): libcurl, loaded at first use
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/version.hpp"

namespace imgtool::sources {
namespace {

using glance::curl;

// Body bytes held for the reader before the transfer pauses.
constexpr size_t kBufferCap = size_t{2} << 20;
// libcurl's receive buffer: one write callback delivers at most this much.
constexpr long kCurlBufferSize = 256L << 10;
// How long one wait for the socket may last: the cancellation latency.
constexpr int kPollMs = 100;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl().global_init(CURL_GLOBAL_DEFAULT); });
}

const std::string& user_agent() {
  static const std::string ua = "imgtool/" + std::string(version());
  return ua;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// A decimal number that fills all of `s`.
std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// HTTP/2 and HTTP/3 status lines carry no reason phrase.
const char* reason_phrase(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

// The failures after which the same request may work again: the
// connection broke or stalled.
bool transient(CURLcode rc) {
  switch (rc) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR: return true;
    default: return false;
  }
}

struct EasyFree {
  void operator()(CURL* c) const noexcept { curl().easy_cleanup(c); }
};
struct MultiFree {
  void operator()(CURLM* m) const noexcept { curl().multi_cleanup(m); }
};

class HttpStream final : public ByteStream {
 public:
  HttpStream(std::string url, const HttpSourceOptions& opts);
  ~HttpStream() override { stop_attempt(); }
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  const std::string& name() const override { return name_; }
  size_t read(std::span<std::byte> out) override;
  std::optional<uint64_t> size_hint() const override { return size_hint_; }
  uint64_t position() const override { return pos_; }

 private:
  static size_t on_header(char* ptr, size_t size, size_t n, void* ud);
  static size_t on_body(char* ptr, size_t size, size_t n, void* ud);
  void header_line(std::string_view line);
  void final_headers();
  void body(const char* ptr, size_t len);

  size_t buffered() const { return buf_.size() - head_; }
  void start_attempt();
  void stop_attempt() noexcept;
  void pump();
  void finish_attempt();
  [[noreturn]] void throw_transport(CURLcode rc) const;
  void report_progress();

  std::string url_;  // as given: libcurl gets the credentials
  std::string name_;
  HttpSourceOptions opts_;
  std::unique_ptr<CURLM, MultiFree> multi_;
  std::unique_ptr<CURL, EasyFree> easy_;
  char errbuf_[CURL_ERROR_SIZE] = {};

  // The body, between libcurl and the reader.
  std::vector<std::byte> buf_;
  size_t head_ = 0;
  bool paused_ = false;
  uint64_t pos_ = 0;       // bytes returned by read()
  uint64_t received_ = 0;  // bytes that reached buf_ (pos_ + buffered())
  uint64_t reported_ = 0;  // received_ at the last progress call
  bool eof_ = false;

  // The current request (the first, or a resume).
  bool running_ = false;  // easy_ is in multi_
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
  long status_ = 0;
  std::string reason_;
  std::map<std::string, std::string> headers_;  // lower-case names
  bool headers_ready_ = false;
  uint64_t attempt_start_ = 0;  // the Range start (0: the first request)
  std::exception_ptr error_;    // found in a callback, thrown by read()

  // What the first answer said; a resume must agree.
  bool first_ready_ = false;
  std::string resume_url_;  // where the redirects led
  std::optional<uint64_t> total_;
  std::optional<uint64_t> size_hint_;
  std::string etag_, last_modified_;
  unsigned resumes_ = 0;
};

HttpStream::HttpStream(std::string url, const HttpSourceOptions& opts)
    : url_(std::move(url)), name_(url_for_messages(url_)), opts_(opts) {
  global_init();
  multi_.reset(curl().multi_init());
  easy_.reset(curl().easy_init());
  if (!multi_ || !easy_) throw Error(ErrorKind::Io, name_, "libcurl: cannot create a transfer handle");
  buf_.reserve(kBufferCap + static_cast<size_t>(kCurlBufferSize));
  start_attempt();
  // The status and headers of the first answer: errors (404, TLS, DNS) show
  // here, in open_http_stream(), not at the first read().
  try {
    while (!headers_ready_) {
      throw_if_interrupted();
      if (done_)
        finish_attempt();  // throws: the transfer ended before any answer
      else
        pump();
    }
    if (error_) std::rethrow_exception(error_);  // a 4xx/5xx: no need to wait for its body
  } catch (...) {
    stop_attempt();  // no destructor runs for a constructor that throws
    throw;
  }
}

size_t HttpStream::on_header(char* ptr, size_t size, size_t n, void* ud) {
  auto* s = static_cast<HttpStream*>(ud);
  const size_t len = size * n;
  try {
    s->header_line(std::string_view(ptr, len));
  } catch (...) {
    s->error_ = std::current_exception();
  }
  return s->error_ ? 0 : len;  // 0 aborts the transfer
}

void HttpStream::header_line(std::string_view raw) {
  const std::string_view line = trim(raw);
  if (raw.substr(0, 5) == "HTTP/") {  // a new answer (after a redirect, 100 Continue, a proxy)
    headers_.clear();
    const size_t sp = line.find(' ');
    const std::string_view rest =
        sp == std::string_view::npos ? std::string_view() : trim(line.substr(sp + 1));
    const size_t sp2 = rest.find(' ');
    status_ = static_cast<long>(parse_u64(rest.substr(0, sp2)).value_or(0));
    reason_ = sp2 == std::string_view::npos ? std::string() : std::string(trim(rest.substr(sp2 + 1)));
    return;
  }
  if (line.empty()) {  // the end of one answer's headers
    if (status_ < 200) return;
    const bool followed =
        (status_ == 301 || status_ == 302 || status_ == 303 || status_ == 307 || status_ == 308) &&
        headers_.count("location") != 0;
    if (followed) return;  // libcurl follows it (or fails: too many redirects)
    long code = 0;
    curl().easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &code);
    if (code != status_) return;  // a proxy's answer to CONNECT
    final_headers();
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  headers_[lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
}

void HttpStream::final_headers() {
  headers_ready_ = true;
  auto header = [&](const char* n) {
    auto it = headers_.find(n);
    return it == headers_.end() ? std::string() : it->second;
  };
  if (status_ >= 300) {
    std::string reason = reason_.empty() ? reason_phrase(status_) : reason_;
    throw Error(ErrorKind::Http, name_,
                "HTTP " + std::to_string(status_) + (reason.empty() ? "" : " " + reason));
  }
  if (!first_ready_) {
    if (status_ == 206)
      throw Error(ErrorKind::Http, name_, "HTTP 206 Partial Content to a request for the whole file");
    first_ready_ = true;
    char* effective = nullptr;
    curl().easy_getinfo(easy_.get(), CURLINFO_EFFECTIVE_URL, &effective);
    resume_url_ = effective != nullptr ? effective : url_;
    if (status_ == 200) total_ = parse_u64(header("content-length"));
    const std::string encoding = lower(header("content-encoding"));
    if (encoding.empty() || encoding == "identity") size_hint_ = total_;
    etag_ = header("etag");
    last_modified_ = header("last-modified");
    return;
  }
  // A resume: the rest of the same file, from exactly where it stopped.
  const std::string at = "cannot resume the download at byte " + std::to_string(attempt_start_) + ": ";
  if (status_ != 206)
    throw Error(ErrorKind::Io, name_,
                at + "the server answered HTTP " + std::to_string(status_) +
                    (status_ == 200 ? " with the whole file (it ignores Range requests)"
                                    : " instead of 206 Partial Content"));
  // Content-Range: bytes FIRST-LAST/TOTAL (TOTAL may be "*").
  const std::string range = header("content-range");
  std::optional<uint64_t> first, length;
  bool length_star = false;
  if (lower(range.substr(0, 6)) == "bytes ") {
    const std::string_view spec = std::string_view(range).substr(6);
    const size_t dash = spec.find('-'), slash = spec.find('/');
    if (dash != std::string_view::npos && slash != std::string_view::npos && dash < slash) {
      first = parse_u64(trim(spec.substr(0, dash)));
      const std::string_view t = trim(spec.substr(slash + 1));
      length_star = t == "*";
      length = parse_u64(t);
    }
  }
  if (!first || (!length && !length_star))
    throw Error(ErrorKind::Io, name_, at + "its 206 answer has no valid Content-Range (\"" + range + "\")");
  if (*first != attempt_start_)
    throw Error(ErrorKind::Io, name_, at + "the server sent the bytes from " + std::to_string(*first));
  if (total_ && length && *length != *total_)
    throw Error(
        ErrorKind::Io, name_,
        at + "the file is now " + std::to_string(*length) + " bytes, it was " + std::to_string(*total_));
  if (!etag_.empty() && header("etag") != etag_)
    throw Error(ErrorKind::Io, name_,
                at + "the file changed (ETag " + etag_ + ", now " +
                    (header("etag").empty() ? std::string("none") : header("etag")) + ")");
  if (!last_modified_.empty() && header("last-modified") != last_modified_)
    throw Error(ErrorKind::Io, name_, at + "the file changed (Last-Modified " + last_modified_ + ")");
  if (!total_ && length) total_ = length;
}

size_t HttpStream::on_body(char* ptr, size_t size, size_t n, void* ud) {
  auto* s = static_cast<HttpStream*>(ud);
  const size_t len = size * n;
  if (!s->headers_ready_ || s->error_) return len;  // not the body we asked for
  if (s->buffered() >= kBufferCap) {
    s->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;  // libcurl keeps this chunk and offers it again after easy_pause
  }
  s->body(ptr, len);
  return len;
}

void HttpStream::body(const char* ptr, size_t len) {
  if (head_ > 0 && buf_.size() + len > buf_.capacity()) {  // move the unread bytes to the front
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  const auto* b = reinterpret_cast<const std::byte*>(ptr);
  buf_.insert(buf_.end(), b, b + len);
  received_ += len;
}

void HttpStream::start_attempt() {
  CURL* c = easy_.get();
  curl().easy_reset(c);
  errbuf_[0] = '\0';
  const std::string& url = resumes_ == 0 ? url_ : resume_url_;
  curl().easy_setopt(c, CURLOPT_URL, url.c_str());
  curl().easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl().easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl().easy_setopt(c, CURLOPT_WRITEDATA, this);
  curl().easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl().easy_setopt(c, CURLOPT_HEADERDATA, this);
  curl().easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf_);
  curl().easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl().easy_setopt(c, CURLOPT_BUFFERSIZE, kCurlBufferSize);
  curl().easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opts_.connect_timeout_s);
  // A stalled server: the transfer breaks (and is resumed) when less than
  // 1 B/s flows for 2 minutes.
  curl().easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl().easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
  curl().easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl().easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl().easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl().easy_setopt(c, CURLOPT_MAXREDIRS, opts_.max_redirects);
  curl().easy_setopt(c, CURLOPT_USERAGENT, user_agent().c_str());
  // The bytes as published: no Accept-Encoding is sent, and a
  // Content-Encoding the server adds anyway is not undone.
  curl().easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  if (!opts_.cacert.empty()) {  // replaces the system's CAs, not added to them
    curl().easy_setopt(c, CURLOPT_CAINFO, opts_.cacert.c_str());
    curl().easy_setopt(c, CURLOPT_CAPATH, static_cast<const char*>(nullptr));
  }
  if (opts_.insecure) {
    curl().easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl().easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  const std::string range = std::to_string(received_) + "-";
  if (resumes_ > 0) curl().easy_setopt(c, CURLOPT_RANGE, range.c_str());  // copied by libcurl

  headers_.clear();
  status_ = 0;
  reason_.clear();
  headers_ready_ = false;
  error_ = nullptr;
  done_ = false;
  result_ = CURLE_OK;
  paused_ = false;
  attempt_start_ = received_;
  const CURLMcode mc = curl().multi_add_handle(multi_.get(), c);
  if (mc != CURLM_OK) throw Error(ErrorKind::Io, name_, std::string("libcurl: ") + curl().multi_strerror(mc));
  running_ = true;
}

void HttpStream::stop_attempt() noexcept {
  if (!running_) return;
  curl().multi_remove_handle(multi_.get(), easy_.get());
  running_ = false;
  done_ = false;
  paused_ = false;
}

// One step of the transfer: let libcurl read what arrived, else wait up to
// kPollMs for the socket.
void HttpStream::pump() {
  if (paused_ && buffered() < kBufferCap / 2) {
    paused_ = false;  // before the call: easy_pause may run on_body, which may pause again
    curl().easy_pause(easy_.get(), CURLPAUSE_CONT);
  }
  const uint64_t before = received_;
  int still_running = 0;
  CURLMcode mc = curl().multi_perform(multi_.get(), &still_running);
  if (mc != CURLM_OK) throw Error(ErrorKind::Io, name_, std::string("libcurl: ") + curl().multi_strerror(mc));
  int left = 0;
  while (CURLMsg* m = curl().multi_info_read(multi_.get(), &left)) {
    if (m->msg == CURLMSG_DONE && m->easy_handle == easy_.get()) {
      done_ = true;
      result_ = m->data.result;
    }
  }
  if (!done_ && received_ == before && !(paused_ && buffered() < kBufferCap / 2)) {
    mc = curl().multi_poll(multi_.get(), nullptr, 0, kPollMs, nullptr);
    if (mc != CURLM_OK)
      throw Error(ErrorKind::Io, name_, std::string("libcurl: ") + curl().multi_strerror(mc));
  }
  report_progress();
}

void HttpStream::report_progress() {
  if (received_ == reported_ || !opts_.progress) return;
  reported_ = received_;
  opts_.progress(received_, total_);
}

// The request ended and every byte it brought was read: the end of the
// body, a resume, or the error.
void HttpStream::finish_attempt() {
  const CURLcode rc = result_;
  stop_attempt();
  if (error_) std::rethrow_exception(error_);
  if (rc == CURLE_OK && headers_ready_ && (!total_ || received_ >= *total_)) {
    eof_ = true;
    return;
  }
  if (!first_ready_ || (rc != CURLE_OK && !transient(rc))) throw_transport(rc);
  // The connection dropped (or a resume failed to connect).
  if (resumes_ >= opts_.resume_attempts) {
    const std::string tries = std::to_string(resumes_) + (resumes_ == 1 ? " resume" : " resumes");
    if (total_)
      throw Error(ErrorKind::Io, name_,
                  "the body ended after " + std::to_string(received_) + " of " + std::to_string(*total_) +
                      " bytes (Content-Length); " + tries + " did not complete it");
    throw Error(ErrorKind::Io, name_,
                "the connection dropped after " + std::to_string(received_) + " bytes; " + tries +
                    " did not complete it" + (errbuf_[0] != '\0' ? std::string(" (") + errbuf_ + ")" : ""));
  }
  ++resumes_;
  interruptible_sleep(std::chrono::milliseconds(200 * resumes_));  // a blip passes; a restart takes longer
  start_attempt();
}

void HttpStream::throw_transport(CURLcode rc) const {
  if (rc == CURLE_TOO_MANY_REDIRECTS)
    throw Error(ErrorKind::Http, name_,
                "too many redirects (more than " + std::to_string(opts_.max_redirects) + ")");
  std::string what = errbuf_[0] != '\0' ? std::string(errbuf_) : std::string(curl().easy_strerror(rc));
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      what += opts_.cacert.empty()
                  ? " (the server's certificate is not trusted: give its CA bundle with --cacert, or "
                    "--insecure to skip verification)"
                  : " (the server's certificate does not verify against " + opts_.cacert + ")";
      break;
    case CURLE_UNSUPPORTED_PROTOCOL: what += " (only http and https are fetched, redirects included)"; break;
    case CURLE_COULDNT_CONNECT: what += " (is a server running at that address?)"; break;
    default: break;
  }
  throw Error(ErrorKind::Io, name_, "download failed: " + what);
}

size_t HttpStream::read(std::span<std::byte> out) {
  if (out.empty()) return 0;
  for (;;) {
    throw_if_interrupted();
    if (buffered() > 0) {
      const size_t n = std::min(out.size(), buffered());
      std::memcpy(out.data(), buf_.data() + head_, n);
      head_ += n;
      pos_ += n;
      if (head_ == buf_.size()) {
        buf_.clear();
        head_ = 0;
      }
      return n;
    }
    if (eof_) return 0;
    if (done_)
      finish_attempt();
    else
      pump();
  }
}

}  // namespace

std::unique_ptr<ByteStream> open_http_stream(const std::string& url, const HttpSourceOptions& opts) {
  return std::make_unique<HttpStream>(url, opts);
}

std::string fetch_http_text(const std::string& url, const HttpSourceOptions& opts, size_t max_bytes) {
  auto s = open_http_stream(url, opts);
  auto too_large = [&] {
    return Error(ErrorKind::Format, s->name(), "larger than " + std::to_string(max_bytes) + " bytes");
  };
  if (auto h = s->size_hint(); h && *h > max_bytes) throw too_large();
  std::string text;
  std::vector<std::byte> chunk(64 << 10);
  while (size_t n = s->read(chunk)) {
    if (text.size() + n > max_bytes) throw too_large();
    text.append(reinterpret_cast<const char*>(chunk.data()), n);
  }
  return text;
}

}  // namespace imgtool::sources
