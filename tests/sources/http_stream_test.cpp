// http(s) sources against a real server (tests/sources/http_server.py, and
// stunnel in front of it for https): byte-exact bodies, resumes after a
// dropped connection, the failures, bounded memory and cancellation.
#include "sources/http_stream.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "support/http_fixture.hpp"
#include "support/test_util.hpp"

namespace imgtool::sources {
namespace {

using Clock = std::chrono::steady_clock;
using test::TempDir;

constexpr size_t kBigSize = 5 * 1024 * 1024 + 12345;

// Reads the whole stream with buffers of varying sizes.
std::string read_all(ByteStream& s) {
  std::string out;
  std::vector<std::byte> buf(1 << 20);
  size_t sizes[] = {1, 4096, 65536, 1 << 20, 777};
  for (size_t i = 0;; ++i) {
    const size_t n = s.read(std::span(buf).first(sizes[i % 5]));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

// The one server of this file's tests (http + https), with a few MiB of
// random bytes and a 256 MiB sparse file.
class HttpStream : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    big_ = new std::string(kBigSize, '\0');
    std::mt19937_64 rng(42);
    for (auto& c : *big_) c = static_cast<char>(rng());
    test::write_file(dir_->file("big.bin"), *big_);
    test::write_file(dir_->file("small.txt"), "hello\n");
    test::write_file(dir_->file("sparse.bin"), "");
    test::truncate_file(dir_->file("sparse.bin"), uint64_t{256} << 20);
    http_ = new test::HttpFixture(dir_->path(), /*https=*/true);
  }
  static void TearDownTestSuite() {
    delete http_;
    delete big_;
    delete dir_;
  }
  void SetUp() override {
    IMGTOOL_REQUIRE_TOOL("stunnel4");
    IMGTOOL_REQUIRE_TOOL("openssl");
    ASSERT_NE(http_, nullptr) << "the test servers did not start (see SetUpTestSuite's failure)";
  }
  static std::string url(const std::string& path) { return http_->base_url() + path; }
  static std::string tls_url(const std::string& path) { return http_->https_base_url() + path; }

  static TempDir* dir_;
  static std::string* big_;
  static test::HttpFixture* http_;
};
TempDir* HttpStream::dir_ = nullptr;
std::string* HttpStream::big_ = nullptr;
test::HttpFixture* HttpStream::http_ = nullptr;

// Runs `f`, which must throw Error; returns it.
template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorKind::Usage, "", "(no error)");
}

TEST(HttpUrl, Recognised) {
  EXPECT_TRUE(is_http_url("http://x/a"));
  EXPECT_TRUE(is_http_url("HTTPS://x/a"));
  EXPECT_FALSE(is_http_url("ftp://x/a"));
  EXPECT_FALSE(is_http_url("/tmp/http://x"));
  EXPECT_FALSE(is_http_url("-"));
}

TEST(HttpUrl, MessagesCarryNoPassword) {
  EXPECT_EQ(url_for_messages("https://user:s3cret@host:8443/a/b?x=1"), "https://host:8443/a/b?x=1");
  EXPECT_EQ(url_for_messages("http://token@host/a"), "http://host/a");
  EXPECT_EQ(url_for_messages("http://host/a@b"), "http://host/a@b");  // '@' in the path stays
  EXPECT_EQ(url_for_messages("http://host"), "http://host");
}

TEST(HttpUrl, FileName) {
  EXPECT_EQ(
      url_file_name("https://cloud-images.ubuntu.com/jammy/current/jammy-server-cloudimg-amd64.img?x=1"),
      "jammy-server-cloudimg-amd64.img");
  EXPECT_EQ(url_file_name("http://h/dir/my%20disk.qcow2#frag"), "my disk.qcow2");
  EXPECT_EQ(url_file_name("http://h/dir/"), "");
  EXPECT_EQ(url_file_name("http://h"), "");
  EXPECT_EQ(url_file_name("http://h/100%"), "100%");
}

TEST_F(HttpStream, ByteExactOverHttp) {
  HttpSourceOptions opts;
  uint64_t last = 0, calls = 0;
  std::optional<uint64_t> last_total;
  opts.progress = [&](uint64_t got, std::optional<uint64_t> total) {
    EXPECT_GE(got, last);
    last = got;
    last_total = total;
    ++calls;
  };
  auto s = open_http_stream(url("/big.bin"), opts);
  EXPECT_EQ(s->name(), url("/big.bin"));
  ASSERT_TRUE(s->size_hint());
  EXPECT_EQ(*s->size_hint(), kBigSize);
  EXPECT_TRUE(read_all(*s) == *big_);
  EXPECT_EQ(s->position(), kBigSize);
  EXPECT_EQ(s->read(std::span<std::byte>()), 0u);
  EXPECT_EQ(last, kBigSize);
  EXPECT_EQ(last_total, std::optional<uint64_t>(kBigSize));
  EXPECT_GT(calls, 1u);
}

TEST_F(HttpStream, ByteExactOverHttpsWithCacert) {
  HttpSourceOptions opts;
  opts.cacert = http_->cacert();
  auto s = open_http_stream(tls_url("/big.bin"), opts);
  EXPECT_EQ(s->size_hint(), std::optional<uint64_t>(kBigSize));
  EXPECT_TRUE(read_all(*s) == *big_);
}

TEST_F(HttpStream, HttpsWithoutCacertIsATlsError) {
  const Error e = error_of([&] { open_http_stream(tls_url("/big.bin"), {}); });
  EXPECT_EQ(e.kind(), ErrorKind::Io);
  EXPECT_EQ(e.path(), tls_url("/big.bin"));
  EXPECT_NE(e.message().find("certificate"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("--cacert"), std::string::npos) << e.message();
}

TEST_F(HttpStream, HttpsInsecureWorks) {
  HttpSourceOptions opts;
  opts.insecure = true;
  auto s = open_http_stream(tls_url("/big.bin"), opts);
  EXPECT_TRUE(read_all(*s) == *big_);
}

TEST_F(HttpStream, DropOnceResumesByteExact) {
  auto s = open_http_stream(url("/drop-once/big.bin"), {});
  EXPECT_TRUE(read_all(*s) == *big_);
  EXPECT_EQ(s->position(), kBigSize);
  // The resume asked for exactly the bytes not yet returned.
  const std::string log = http_->requests();
  EXPECT_NE(log.find("GET /drop-once/big.bin bytes=" + std::to_string(kBigSize / 2) + "-\n"),
            std::string::npos)
      << log;
}

TEST_F(HttpStream, DropOnceOverHttpsResumes) {
  HttpSourceOptions opts;
  opts.cacert = http_->cacert();
  // Another name than the http test's: the server drops each name once.
  test::write_file(dir_->file("big2.bin"), *big_);
  auto s = open_http_stream(tls_url("/drop-once/big2.bin"), opts);
  EXPECT_TRUE(read_all(*s) == *big_);
  EXPECT_NE(http_->requests().find("GET /drop-once/big2.bin bytes="), std::string::npos);
}

TEST_F(HttpStream, CutAlwaysFailsAfterTheResumes) {
  HttpSourceOptions opts;
  opts.resume_attempts = 3;
  auto s = open_http_stream(url("/cut/big.bin"), opts);
  std::string got;
  const Error e = error_of([&] { got = read_all(*s); });
  EXPECT_EQ(e.kind(), ErrorKind::Io);
  EXPECT_EQ(e.path(), url("/cut/big.bin"));
  // Half, then half of the rest three times: 15/16 of the body.
  const uint64_t received = s->position();
  EXPECT_GT(received, kBigSize / 2);
  EXPECT_LT(received, kBigSize);
  EXPECT_NE(
      e.message().find("after " + std::to_string(received) + " of " + std::to_string(kBigSize) + " bytes"),
      std::string::npos)
      << e.message();
  EXPECT_NE(e.message().find("3 resumes"), std::string::npos) << e.message();
}

TEST_F(HttpStream, ServerIgnoringRangeCannotResume) {
  auto s = open_http_stream(url("/no-range/big.bin"), {});
  const Error e = error_of([&] { read_all(*s); });
  EXPECT_EQ(e.kind(), ErrorKind::Io);
  EXPECT_NE(e.message().find("cannot resume"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("ignores Range"), std::string::npos) << e.message();
  EXPECT_EQ(s->position(), kBigSize / 2);  // no byte returned twice, none skipped
}

TEST_F(HttpStream, ChangedFileCannotResume) {
  auto s = open_http_stream(url("/etag-change/big.bin"), {});
  const Error e = error_of([&] { read_all(*s); });
  EXPECT_EQ(e.kind(), ErrorKind::Io);
  EXPECT_NE(e.message().find("cannot resume"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("ETag"), std::string::npos) << e.message();
}

TEST_F(HttpStream, RedirectFollowed) {
  auto s = open_http_stream(url("/redirect/small.txt"), {});
  EXPECT_EQ(read_all(*s), "hello\n");
  EXPECT_EQ(s->name(), url("/redirect/small.txt"));
}

TEST_F(HttpStream, RedirectLoopFailsWithinSeconds) {
  const auto t0 = Clock::now();
  const Error e = error_of([&] { open_http_stream(url("/redirect-loop/x"), {}); });
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(e.kind(), ErrorKind::Http);
  EXPECT_NE(e.message().find("too many redirects"), std::string::npos) << e.message();
}

TEST_F(HttpStream, RedirectToFtpRefused) {
  const Error e = error_of([&] { open_http_stream(url("/redirect-ftp/small.txt"), {}); });
  EXPECT_EQ(e.kind(), ErrorKind::Io);
  EXPECT_NE(e.message().find("only http and https"), std::string::npos) << e.message();
}

TEST_F(HttpStream, NotFoundIsAnHttpError) {
  const Error e = error_of([&] { open_http_stream(url("/404"), {}); });
  EXPECT_EQ(e.kind(), ErrorKind::Http);
  EXPECT_EQ(e.path(), url("/404"));
  EXPECT_EQ(e.message(), "HTTP 404 Not Found");
}

TEST_F(HttpStream, PasswordNeverInMessages) {
  const std::string base = http_->base_url();
  const std::string with_pw = "http://user:s3cret@" + base.substr(7) + "/404";
  const Error e = error_of([&] { open_http_stream(with_pw, {}); });
  EXPECT_EQ(e.path(), url("/404"));
  EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos);
  auto s = open_http_stream("http://user:s3cret@" + base.substr(7) + "/small.txt", {});
  EXPECT_EQ(s->name(), url("/small.txt"));
}

TEST_F(HttpStream, ConnectionRefusedIsAnIoError) {
  const Error e = error_of([&] { open_http_stream("http://127.0.0.1:1/x.img", {}); });
  EXPECT_EQ(e.kind(), ErrorKind::Io);
}

// http_proxy from the environment is used (libcurl's default): the test
// server answers proxy requests too, and logs the absolute URI it got.
TEST_F(HttpStream, ProxyFromEnvironment) {
  const char* old = std::getenv("http_proxy");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("http_proxy", http_->base_url().c_str(), 1);
  std::string body;
  try {
    body = fetch_http_text("http://proxied.example.invalid/small.txt", {}, 100);
  } catch (const Error& e) {
    ADD_FAILURE() << e.what();
  }
  if (old != nullptr)
    ::setenv("http_proxy", saved.c_str(), 1);
  else
    ::unsetenv("http_proxy");
  EXPECT_EQ(body, "hello\n");
  EXPECT_NE(http_->requests().find("GET http://proxied.example.invalid/small.txt -"), std::string::npos);
}

TEST_F(HttpStream, UserAgentAndNoAcceptEncoding) {
  const std::string headers = fetch_http_text(url("/echo-headers"), {}, 65536);
  EXPECT_NE(headers.find("User-Agent: imgtool/"), std::string::npos) << headers;
  EXPECT_EQ(headers.find("Accept-Encoding"), std::string::npos) << headers;
}

TEST_F(HttpStream, FetchTextHasACap) {
  EXPECT_EQ(fetch_http_text(url("/small.txt"), {}, 6), "hello\n");
  const Error e = error_of([&] { fetch_http_text(url("/small.txt"), {}, 5); });
  EXPECT_EQ(e.kind(), ErrorKind::Format);
}

long vm_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  return -1;
}

// 256 MiB pass through while the process's peak RSS grows by less than
// 64 MiB: the body is never held whole.
TEST_F(HttpStream, LargeBodyInBoundedMemory) {
  // Freed heap of earlier tests would hide growth: give it back first.
  ::malloc_trim(0);
  {  // reset the peak ("5" > clear_refs: VmHWM = VmRSS)
    std::ofstream c("/proc/self/clear_refs");
    c << "5";
  }
  const long rss_before = vm_kib("VmRSS:");
  ASSERT_GT(rss_before, 0);
  ASSERT_LE(vm_kib("VmHWM:"), rss_before + 1024) << "clear_refs did not reset VmHWM";
  auto s = open_http_stream(url("/sparse.bin"), {});
  std::vector<std::byte> buf(1 << 20);
  uint64_t total = 0;
  bool zero = true;
  while (size_t n = s->read(buf)) {
    total += n;
    zero = zero && std::all_of(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                               [](std::byte b) { return b == std::byte{0}; });
  }
  EXPECT_EQ(total, uint64_t{256} << 20);
  EXPECT_TRUE(zero);
  const long growth_kib = vm_kib("VmHWM:") - rss_before;
  RecordProperty("vmhwm_growth_kib", std::to_string(growth_kib));
  std::printf("VmHWM growth over a 256 MiB body: %ld KiB\n", growth_kib);
  // (ASan keeps freed memory in quarantine, which counts as RSS: the bound
  // is checked by the release build of the suite.)
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(growth_kib, 64 * 1024);
#endif
}

// The server sends the headers and 1 KiB, then nothing: a read() waiting for
// more stops within 1 s of a cancel.
TEST_F(HttpStream, StalledReadCancelledWithinOneSecond) {
  const CancelToken token = CancelToken::create();
  CancelScope scope(token);
  auto s = open_http_stream(url("/stall/big.bin"), {});
  std::vector<std::byte> buf(4096);
  size_t got = 0;
  while (got < 1024) got += s->read(buf);
  EXPECT_EQ(got, 1024u);
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancelled_at = Clock::now();
    token.cancel();
  });
  const Error e = error_of([&] { s->read(buf); });
  const auto done = Clock::now();
  canceller.join();
  EXPECT_EQ(e.kind(), ErrorKind::Interrupted);
  EXPECT_LT(done - cancelled_at, std::chrono::seconds(1));
}

}  // namespace
}  // namespace imgtool::sources
