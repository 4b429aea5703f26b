// Per-operation cancellation (imgtool/cancel.hpp): tokens are independent,
// a child follows its parent, scopes nest, worker threads follow the
// operation's token, progress callbacks may cancel, and two conversions on
// two threads are cancelled separately.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/source.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

namespace fs = std::filesystem;

// Clears the process token around each test (a test that cancels it must not
// leak into the next one).
class CancelTokenTest : public ::testing::Test {
 protected:
  void SetUp() override { clear_interrupt(); }
  void TearDown() override { clear_interrupt(); }
};

// A raw image of `mib` MiB of random data (no holes: every chunk is work).
std::string make_raw(const TempDir& t, const std::string& name, int mib) {
  const std::string p = t.file(name);
  run_ok("head -c " + std::to_string(mib) + "M /dev/urandom > " + sh_quote(p));
  return p;
}

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no Error was thrown";
  return ErrorKind::Io;
}

TEST_F(CancelTokenTest, TokensAreIndependentAndCopiesShareTheState) {
  CancelToken a = CancelToken::create(), b = CancelToken::create();
  CancelToken a2 = a;
  EXPECT_FALSE(a.cancelled());
  a2.cancel();
  EXPECT_TRUE(a.cancelled());
  EXPECT_EQ(a.count(), 1);
  EXPECT_EQ(a.reason(), 0);
  EXPECT_FALSE(b.cancelled());
  EXPECT_FALSE(CancelToken::process().cancelled());
  EXPECT_EQ(kind_of([&] { a.throw_if_cancelled(); }), ErrorKind::Interrupted);
  try {
    a.throw_if_cancelled();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "cancelled");
  }
}

TEST_F(CancelTokenTest, AChildFollowsItsParentButNotTheOtherWayRound) {
  CancelToken parent = CancelToken::create();
  CancelToken child = CancelToken::create(parent);
  child.cancel();
  EXPECT_TRUE(child.cancelled());
  EXPECT_FALSE(parent.cancelled());
  CancelToken child2 = CancelToken::create(parent);
  parent.cancel(SIGTERM);
  EXPECT_TRUE(child2.cancelled());
  EXPECT_EQ(child2.reason(), SIGTERM);
  EXPECT_EQ(child.count(), 2);  // its own and the parent's

  // A child of the process token is stopped by a signal.
  CancelToken op = CancelToken::create(CancelToken::process());
  EXPECT_FALSE(op.cancelled());
  request_interrupt(SIGINT);
  EXPECT_TRUE(op.cancelled());
  EXPECT_EQ(op.reason(), SIGINT);
}

TEST_F(CancelTokenTest, ScopesBindTheThreadsTokenAndNest) {
  EXPECT_FALSE(interrupted());
  CancelToken outer = CancelToken::create(), inner = CancelToken::create();
  {
    CancelScope s1(outer);
    outer.cancel();
    EXPECT_TRUE(interrupted());
    EXPECT_STREQ(interrupt_signal_name(), "cancelled");
    {
      CancelScope s2(inner);
      EXPECT_FALSE(interrupted());
      {
        CancelScope empty{CancelToken()};  // binds nothing
        EXPECT_FALSE(interrupted());
      }
    }
    EXPECT_TRUE(interrupted());
    EXPECT_EQ(kind_of([] { throw_if_interrupted(); }), ErrorKind::Interrupted);
  }
  EXPECT_FALSE(interrupted());  // back to the (untouched) process token
  // Another thread does not see this thread's scope.
  CancelScope s(outer);
  bool other = true;
  std::thread([&] { other = interrupted(); }).join();
  EXPECT_FALSE(other);
}

TEST_F(CancelTokenTest, ProgressCallbackCancelsAConversionAndNoOutputIsLeft) {
  TempDir t;
  const std::string src = make_raw(t, "src.raw", 48);
  for (const char* target : {"raw", "qcow2", "vmdk"}) {
    const std::string dst = t.file(std::string("out.") + target);
    ConvertOptions o;
    o.target_format = *format_from_name(target);
    o.threads = 2;
    o.cancel = CancelToken::create();
    int calls = 0;
    o.progress = [&](uint64_t done, uint64_t total) {
      ++calls;
      if (done > 0 && done >= total / 4) o.cancel.cancel();
    };
    EXPECT_EQ(kind_of([&] { convert_file(src, dst, o); }), ErrorKind::Interrupted) << target;
    EXPECT_GT(calls, 0);
    EXPECT_FALSE(fs::exists(dst)) << target;
    for (const auto& e : fs::directory_iterator(t.path()))
      EXPECT_EQ(e.path().filename().string().find(".imgtool-"), std::string::npos) << e.path();
    EXPECT_FALSE(CancelToken::process().cancelled());
  }
}

TEST_F(CancelTokenTest, TwoConversionsOnTwoThreadsAreCancelledSeparately) {
  TempDir t;
  const std::string src = make_raw(t, "src.raw", 32);
  ConvertOptions keep, stop;
  for (ConvertOptions* o : {&keep, &stop}) {
    o->target_format = Format::Qcow2;
    o->compress = true;  // slow enough to be mid-way when the cancel lands
    o->threads = 1;
    o->cancel = CancelToken::create();
  }
  std::atomic<bool> stop_started{false};
  stop.progress = [&](uint64_t done, uint64_t) {
    if (done > 0) stop_started = true;
  };
  ErrorKind stop_kind = ErrorKind::Io;
  bool stop_threw = false, keep_ok = false;
  std::string keep_error;
  std::thread a([&] {
    try {
      convert_file(src, t.file("keep.qcow2"), keep);
      keep_ok = true;
    } catch (const Error& e) {
      keep_error = e.what();
    }
  });
  std::thread b([&] {
    try {
      convert_file(src, t.file("stop.qcow2"), stop);
    } catch (const Error& e) {
      stop_threw = true;
      stop_kind = e.kind();
    }
  });
  while (!stop_started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop.cancel.cancel();
  a.join();
  b.join();
  EXPECT_TRUE(keep_ok) << keep_error;
  EXPECT_TRUE(stop_threw);
  EXPECT_EQ(stop_kind, ErrorKind::Interrupted);
  EXPECT_TRUE(fs::exists(t.file("keep.qcow2")));
  EXPECT_FALSE(fs::exists(t.file("stop.qcow2")));
  EXPECT_EQ(run("qemu-img compare -q " + sh_quote(src) + " " + sh_quote(t.file("keep.qcow2"))).exit_code, 0);
}

TEST_F(CancelTokenTest, HashingUnderAScopeStopsAndTheDigestThreadsFollow) {
  TempDir t;
  const std::string src = make_raw(t, "h.raw", 24);
  auto s = open_file_source(src);
  CancelToken tok = CancelToken::create();
  tok.cancel();
  CancelScope scope(tok);
  EXPECT_EQ(kind_of([&] { glance_digests(*s); }), ErrorKind::Interrupted);
}

TEST_F(CancelTokenTest, PublishOfAByteSourceDryRunAndItsCancel) {
  // publish() of an open source (bytes in memory): the dry run hashes what
  // would be sent, and its token stops it.
  std::vector<std::byte> bytes(3 << 20);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>((i * 7919) >> 5);
  TempDir t;
  write_file(t.file("same.raw"), std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  std::shared_ptr<const ByteSource> mem = memory_source(bytes, "mem/disk.raw");
  PublishOptions o;
  o.dry_run = true;
  PublishResult r = publish(mem, o);
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.first().image.name, "disk");
  EXPECT_EQ(r.first().image.disk_format, "raw");
  EXPECT_EQ(r.sent.size, bytes.size());
  EXPECT_EQ(r.sent.checksum, run_ok("md5sum " + sh_quote(t.file("same.raw"))).substr(0, 32));
  EXPECT_TRUE(r.first().image.status.empty());

  o.cancel = CancelToken::create();
  o.progress = [&](uint64_t done, std::optional<uint64_t>) {
    if (done > 0) o.cancel.cancel();
  };
  EXPECT_EQ(kind_of([&] { publish(mem, o); }), ErrorKind::Interrupted);
}

}  // namespace
}  // namespace imgtool::test
