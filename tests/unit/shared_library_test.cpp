// Libraries opened at first use (src/util/shared_library.hpp): a failed load
// or a missing symbol is one Error(Unsupported) line naming the purpose, the
// library and the loader's reason; the tables of libcurl and libcrypto load
// from the sonames the build found.
#include "util/shared_library.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "glance/curl_api.hpp"
#include "hash/crypto_api.hpp"
#include "imgtool/error.hpp"
#include "imgtool_config.hpp"

namespace imgtool::test {
namespace {

Error caught(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no Error thrown";
  return Error(ErrorKind::Io, "", "");
}

TEST(SharedLibrary, MissingLibraryIsOneLineNamingItAndWhy) {
  const dynlib::LibraryId id{"libnothing", "libimgtool-no-such-library.so.7", "testing the loader"};
  const Error e = caught([&] { dynlib::open_library(id); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  const std::string want = "testing the loader needs libnothing (libimgtool-no-such-library.so.7): ";
  EXPECT_EQ(std::string(e.what()).substr(0, want.size()), want) << e.what();
  // dlerror()'s reason follows (the name, "cannot open shared object file").
  EXPECT_NE(std::string(e.what()).find("cannot open shared object file"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
}

TEST(SharedLibrary, MissingSymbolNamesIt) {
  const dynlib::LibraryId id{"libcurl", IMGTOOL_CURL_SONAME, "testing the loader"};
  void* h = dynlib::open_library(id);
  ASSERT_NE(h, nullptr);
  const Error e = caught([&] { dynlib::find_symbol(h, id, "curl_imgtool_no_such_function"); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_NE(std::string(e.what()).find("it has no curl_imgtool_no_such_function"), std::string::npos)
      << e.what();
}

TEST(SharedLibrary, TablesAreFilledFromTheBuildsSonames) {
  const glance::CurlApi& c = glance::curl();
  EXPECT_NE(c.easy_setopt, nullptr);
  EXPECT_NE(c.slist_free_all, nullptr);
  EXPECT_EQ(&c, &glance::curl());  // loaded once
  const hash::EvpApi& e = hash::evp();
  ASSERT_NE(e.sha512, nullptr);
  EXPECT_NE(e.sha512(), nullptr);  // the EVP_MD libcrypto returns
}

}  // namespace
}  // namespace imgtool::test
