#pragma once
// One-pass reading of an image file through a pipe-like stream into the real
// convert pipeline (two workers), compared byte for byte with qemu-img's raw
// output as it is written, with the spool measured.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/sink.hpp"
#include "imgtool/verdict.hpp"
#include "io/spool_source.hpp"
#include "sources/spool_feeder.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {

// A sink that compares what it is given with a file instead of writing it.
class ComparingSink final : public ByteSink {
 public:
  explicit ComparingSink(const std::string& expected) : fd_(::open(expected.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + expected);
  }
  ~ComparingSink() override { ::close(fd_); }
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> data) override { compare(data.data(), data.size()); }
  void write_zeros(uint64_t len) override {
    static const std::vector<std::byte> zeros(1 << 20);
    while (len > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(len, zeros.size()));
      compare(zeros.data(), n);
      len -= n;
    }
  }
  uint64_t position() const override { return pos_; }
  void finish() override { finished_ = true; }
  bool finished() const { return finished_; }
  uint64_t mismatches() const { return mismatches_; }
  uint64_t first_mismatch() const { return first_mismatch_; }

 private:
  void compare(const std::byte* p, size_t n) {
    buf_.resize(n);
    const ssize_t r = ::pread(fd_, buf_.data(), n, static_cast<off_t>(pos_));
    if (r != static_cast<ssize_t>(n) || std::memcmp(buf_.data(), p, n) != 0) {
      if (mismatches_++ == 0) first_mismatch_ = pos_;
    }
    pos_ += n;
  }
  int fd_;
  std::string name_ = "compare";
  std::vector<std::byte> buf_;
  uint64_t pos_ = 0, mismatches_ = 0, first_mismatch_ = 0;
  bool finished_ = false;
};

// A raw file with the given regions of data (others are holes): random bytes
// in even regions, compressible but varied text in odd ones.
inline void make_raw(const std::string& path, uint64_t size,
                     const std::vector<std::pair<uint64_t, uint64_t>>& regions) {
  std::string script =
      "import os,random,sys\n"
      "random.seed(7)\n"
      "f=open(sys.argv[1],'wb'); f.truncate(" +
      std::to_string(size) + ")\n";
  for (size_t i = 0; i < regions.size(); ++i) {
    script += "f.seek(" + std::to_string(regions[i].first) + ")\n";
    if (i % 2 == 0)
      script += "f.write(random.randbytes(" + std::to_string(regions[i].second) + "))\n";
    else
      script +=
          "n=" + std::to_string(regions[i].second) + "\nb=b''.join(b'line %d of region " + std::to_string(i) +
          " %d\\n' % (k, random.randrange(1000)) for k in range(n // 16))\nf.write((b + bytes(n))[:n])\n";
  }
  script += "f.close()\n";
  write_file(path + ".py", script);
  run_ok("/usr/bin/python3 " + sh_quote(path + ".py") + " " + sh_quote(path));
}

struct OnePassResult {
  Assessment first;  // the header-level verdict (defer_check)
  Assessment final;  // after the read and the drain
  uint64_t peak_memory = 0, peak_file = 0;
  bool converted = false;
  std::string error;  // what the conversion threw, if it did
};

// Streams `image` through a socket pair into a one-pass spool, assesses it
// with defer_check, converts it to raw with two workers comparing against
// `expected_raw`, drains and completes the check.
inline OnePassResult one_pass_convert(const std::string& image, const std::string& expected_raw,
                                      uint64_t memory_limit) {
  OnePassResult r;
  auto feeder = SocketFeeder::from_file(image);
  auto spool = std::make_shared<SpoolSource>(feeder->stream(image), memory_limit);
  spool->set_one_pass(true);
  AssessOptions ao;
  ao.defer_check = true;
  r.first = assess(spool, ao);
  if (!r.first.refuses()) {
    ConvertOptions co;
    co.target_format = Format::Raw;
    co.threads = 2;
    ComparingSink sink(expected_raw);
    try {
      convert_image(*r.first.image, sink, co);
      r.converted = sink.finished();
      EXPECT_EQ(sink.mismatches(), 0u) << "first difference at " << sink.first_mismatch();
      EXPECT_EQ(sink.position(), uint64_t(std::filesystem::file_size(expected_raw)));
    } catch (const Error& e) {
      r.error = e.what();
    }
  }
  spool->drain();
  r.final = complete_deferred_check(r.first, spool, ao);
  r.peak_memory = spool->peak_memory();
  r.peak_file = spool->peak_file();
  return r;
}

}  // namespace imgtool::test
