#pragma once
// libcurl, opened at first use (src/util/shared_library.hpp says why): the
// functions http.cpp calls, typed from <curl/curl.h>. http.cpp writes
// curl().easy_setopt(...) where it would write curl_easy_setopt(...).
// (Calls through these pointers skip the compile-time type checks that
// <curl/typecheck-gcc.h> wraps around the direct calls.)
#include <curl/curl.h>

namespace imgtool::glance {

// The one list of the functions used; a new call in http.cpp or
// src/sources/http_stream.cpp (the multi interface) adds its name here.
#define IMGTOOL_CURL_FUNCTIONS(X) \
  X(global_init)                  \
  X(easy_init)                    \
  X(easy_cleanup)                 \
  X(easy_reset)                   \
  X(easy_setopt)                  \
  X(easy_perform)                 \
  X(easy_getinfo)                 \
  X(easy_strerror)                \
  X(slist_append)                 \
  X(slist_free_all)               \
  X(version_info)                 \
  X(easy_pause)                   \
  X(multi_init)                   \
  X(multi_cleanup)                \
  X(multi_add_handle)             \
  X(multi_remove_handle)          \
  X(multi_perform)                \
  X(multi_poll)                   \
  X(multi_info_read)              \
  X(multi_strerror)

struct CurlApi {
// `name` holds curl_<name>. (Not curl_easy_setopt itself as the member's name:
// <curl/curl.h> defines function-like macros of that name.)
#define IMGTOOL_CURL_MEMBER(name) decltype(&::curl_##name) name = nullptr;
  IMGTOOL_CURL_FUNCTIONS(IMGTOOL_CURL_MEMBER)
#undef IMGTOOL_CURL_MEMBER
};

// libcurl, loaded on the first call (thread-safe; http.cpp calls
// curl().global_init() once before its first handle).
// Throws Error(Unsupported) "HTTP(S) (Keystone, Glance, URL sources) needs libcurl
// (libcurl.so.4): ..." when it cannot be loaded; a later call tries again.
const CurlApi& curl();

}  // namespace imgtool::glance
