// A block-device DST is written in place (docs/cli.md "Output files"): no
// temporary file, no rename; refused when too small or in use; write_zeros()
// really zeroes; bytes past the image are untouched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "io/file_sinks.hpp"
#include "io/unique_fd.hpp"
#include "support/test_util.hpp"
#include "unit/loop_device.hpp"

namespace imgtool {
namespace {
using test::TempDir;

constexpr uint64_t kDevSize = 4 << 20;

// A loop device over a file of kDevSize bytes of 0xa5 (a device has old
// data, unlike a new file), reached through a private node `disk`.
class BlockDeviceOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(backing(), std::string(kDevSize, '\xa5'));
    loop_ = std::make_unique<test::LoopDevice>(backing());
    // The suite runs as root (scripts/test.sh); a machine without loop devices
    // cannot test block-device output, which is a failure, not a pass.
    ASSERT_TRUE(loop_->ok()) << "no loop device: losetup needs root and /dev/loop-control";
    ASSERT_TRUE(loop_->make_node(disk()));
  }
  std::string backing() const { return dir_.file("backing.bin"); }
  std::string disk() const { return dir_.file("disk"); }
  std::string contents() const { return test::read_file(disk()); }

  TempDir dir_;
  std::unique_ptr<test::LoopDevice> loop_;
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void put(ByteSink& s, const std::string& bytes) {
  s.write(std::as_bytes(std::span(bytes)));
}

TEST_F(BlockDeviceOutput, WrittenInPlaceWithZeroedHoles) {
  {
    auto sink = create_output_file(disk(), {.fsync = false, .min_size = 3 << 20});
    EXPECT_TRUE(sink->seekable());
    put(*sink, std::string(1000, 'a'));
    sink->write_zeros(24);       // unaligned: written as zeros
    put(*sink, "b");             // 1025
    sink->write_zeros(2 << 20);  // a long run: zeroed by the device (or written)
    put(*sink, std::string(4096, 'c'));
    sink->write_zeros((3 << 20) - sink->position());  // up to min_size
    const std::string patch = "patch";
    sink->pwrite(10, std::as_bytes(std::span(patch)));
    EXPECT_EQ(sink->position(), uint64_t(3) << 20);
    sink->finish();
  }
  struct stat st {};
  ASSERT_EQ(::stat(disk().c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode)) << "the device node was replaced";
  std::string want = std::string(10, 'a') + "patch" + std::string(985, 'a') + std::string(24, '\0') + "b" +
                     std::string(2 << 20, '\0') + std::string(4096, 'c');
  want += std::string((3 << 20) - want.size(), '\0');
  want += std::string(kDevSize - want.size(), '\xa5');  // past the image: untouched
  const std::string got = contents();
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "first difference at "
                           << std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin();
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()), {}), 2)
      << "a temporary file was made";
}

TEST_F(BlockDeviceOutput, SmallerThanTheImageIsRefusedBeforeWriting) {
  const std::string msg =
      message_of([&] { create_output_file(disk(), {.fsync = true, .min_size = kDevSize + 512}); });
  EXPECT_NE(msg.find(disk() + ": the block device holds 4194304 bytes, the image needs 4194816 bytes"),
            std::string::npos)
      << msg;
  EXPECT_EQ(contents(), std::string(kDevSize, '\xa5'));
}

TEST_F(BlockDeviceOutput, WritingPastTheEndSaysTheDeviceIsPartial) {
  auto sink = create_output_file(disk(), {});
  put(*sink, std::string(kDevSize - 512, 'x'));
  const std::string msg = message_of([&] { put(*sink, std::string(1024, 'y')); });
  EXPECT_NE(msg.find("past the end of the block device (4194304 bytes)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the device now holds a partial image"), std::string::npos) << msg;
  EXPECT_NE(message_of([&] { sink->write_zeros(1024); }).find("partial image"), std::string::npos);
}

TEST_F(BlockDeviceOutput, InUseIsRefused) {
  // An exclusive opener stands for a mounted file system (or LVM, md, swap).
  io::UniqueFd holder(::open(disk().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
  ASSERT_TRUE(holder);
  const std::string msg = message_of([&] { create_output_file(disk(), {}); });
  EXPECT_NE(msg.find(disk() + ": the block device is in use"), std::string::npos) << msg;
}

TEST_F(BlockDeviceOutput, SymlinkToADeviceWritesTheDevice) {
  std::filesystem::create_symlink("disk", dir_.file("by-id"));
  {
    auto sink = create_output_file(dir_.file("by-id"), {});
    put(*sink, "hello");
    sink->finish();
  }
  EXPECT_TRUE(std::filesystem::is_symlink(dir_.file("by-id")));
  EXPECT_EQ(contents().substr(0, 6), "hello\xa5");
}

// The path was a block device when looked up and is a FIFO when opened: the
// open must fail at once instead of waiting for a reader.
TEST(BlockDeviceSinkRace, FifoInPlaceOfTheDeviceDoesNotBlock) {
  TempDir d;
  const std::string fifo = d.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto attempt = std::async(std::launch::async,
                            [&] { return message_of([&] { io::make_block_device_sink("disk", fifo, 0); }); });
  if (attempt.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    io::UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));  // lets it finish
    attempt.wait();
    FAIL() << "opening the FIFO blocked";
  }
  const std::string msg = attempt.get();
  EXPECT_NE(msg.find("disk: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("nothing was written"), std::string::npos) << msg;
}

}  // namespace
}  // namespace imgtool
