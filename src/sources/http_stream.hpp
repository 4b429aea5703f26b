#pragma once
// http:// and https:// sources through libcurl (opened lazily, see
// src/glance/curl_api.hpp): a GET whose body is read as a ByteStream.
#include <memory>
#include <string>
#include <string_view>

#include "imgtool/sources.hpp"
#include "imgtool/stream.hpp"

namespace imgtool::sources {

// "http://" or "https://" (case-insensitive scheme).
bool is_http_url(std::string_view spec);

// The URL with any user:password@ removed (for names in messages).
std::string url_for_messages(std::string_view url);

// The last path segment of the URL, percent-decoded, query and fragment
// dropped ("…/jammy-server-cloudimg-amd64.img?x=1" -> "jammy-server-cloudimg-amd64.img"):
// the name a sums file lists it under.
std::string url_file_name(std::string_view url);

// GETs `url`. Returns once a 2xx status and its headers arrived; a 4xx/5xx
// throws Error(Http) with the status ("HTTP 404 Not Found"), a TLS or
// connection failure Error(Io). Redirects are followed up to
// opts.max_redirects (more: Error(Http) "too many redirects"). The usual
// proxy variables (http_proxy, https_proxy, no_proxy) apply. A body that stops
// early (connection dropped) is resumed from the first byte not yet returned
// with `Range: bytes=N-` (the bytes already returned are never returned
// again); a server that answers the resume with anything but 206 and a
// matching Content-Range is Error(Io) "cannot resume"; after
// opts.resume_attempts failed resumes, or a body shorter than its
// Content-Length, Error(Io). read() follows the calling thread's CancelToken.
std::unique_ptr<ByteStream> open_http_stream(const std::string& url, const HttpSourceOptions& opts);

// A small document (a sums file): the whole body, at most max_bytes (more is
// Error(Format)).
std::string fetch_http_text(const std::string& url, const HttpSourceOptions& opts, size_t max_bytes);

}  // namespace imgtool::sources
