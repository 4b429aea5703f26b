#include "glance/curl_api.hpp"

#include "imgtool_config.hpp"
#include "util/shared_library.hpp"

namespace imgtool::glance {
namespace {

constexpr dynlib::LibraryId kLibcurl{"libcurl", IMGTOOL_CURL_SONAME,
                                     "HTTP(S) (Keystone, Glance, URL sources)"};

CurlApi load() {
  void* h = dynlib::open_library(kLibcurl);
  CurlApi api;
#define IMGTOOL_CURL_BIND(name) dynlib::bind(api.name, h, kLibcurl, "curl_" #name);
  IMGTOOL_CURL_FUNCTIONS(IMGTOOL_CURL_BIND)
#undef IMGTOOL_CURL_BIND
  return api;
}

}  // namespace

const CurlApi& curl() {
  // Loaded once even when threads race here (a function-local static); an
  // exception from load() leaves it uninitialized, so the next call tries again.
  static const CurlApi api = load();
  return api;
}

}  // namespace imgtool::glance
