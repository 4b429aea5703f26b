// decompress_stream() and sniff_compression() (src/sources/decompress.hpp)
// against files made by the real gzip, xz, bzip2 and zstd
// (tests/images/make_sources.sh).
#include "sources/decompress.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <zlib.h>

#include <fstream>

#include "imgtool/cancel.hpp"
#include "sources/decompress_support.hpp"

namespace imgtool::test {
namespace {

using sources::Compression;
using sources::compression_name;
using sources::decompress_stream;
using sources::sniff_compression;

struct Codec {
  const char* ext;
  Compression c;
  const char* name;
};
constexpr Codec kCodecs[] = {{"gz", Compression::Gzip, "gzip"},
                             {"xz", Compression::Xz, "xz"},
                             {"bz2", Compression::Bzip2, "bzip2"},
                             {"zst", Compression::Zstd, "zstd"}};

class Decompress : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"qemu-img", "qemu-io", "gzip", "xz", "bzip2", "zstd", "tar"})
      IMGTOOL_REQUIRE_TOOL(tool);
    dir_ = source_fixtures();
    ASSERT_FALSE(dir_.empty());
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  Compression sniff_file(const std::string& name) const {
    const std::string head = read_file(path(name)).substr(0, 64);
    return sniff_compression(std::as_bytes(std::span(head)));
  }
  std::string dir_;
};

TEST_F(Decompress, SniffsEachCodecFromItsBytes) {
  for (const Codec& k : kCodecs) {
    EXPECT_EQ(sniff_file(std::string("base.qcow2.") + k.ext), k.c) << k.ext;
    EXPECT_EQ(sniff_file(std::string("multi.raw.") + k.ext), k.c) << k.ext;
    EXPECT_EQ(compression_name(k.c), k.name);
  }
  EXPECT_EQ(compression_name(Compression::None), "none");
}

TEST_F(Decompress, SniffsDiskImagesAndArchivesAsNone) {
  for (const char* f : {"base.qcow2", "base.raw", "stream.vmdk", "plain.tar", "disk.ova"})
    EXPECT_EQ(sniff_file(f), Compression::None) << f;
  const std::string zeros(4096, '\0');
  EXPECT_EQ(sniff_compression(std::as_bytes(std::span(zeros))), Compression::None);
  // A raw disk whose first bytes merely start like a magic, and heads too
  // short for a certain answer.
  const std::string bzh_text = "BZh9 is not a bzip2 stream";
  EXPECT_EQ(sniff_compression(std::as_bytes(std::span(bzh_text))), Compression::None);
  const std::string gz = read_file(path("base.qcow2.gz"));
  EXPECT_EQ(sniff_compression(std::as_bytes(std::span(gz)).first(5)), Compression::None);
  EXPECT_EQ(sniff_compression({}), Compression::None);
}

TEST_F(Decompress, EachCodecGivesTheOriginalByteForByte) {
  const std::string original = read_file(path("base.qcow2"));
  for (const Codec& k : kCodecs) {
    SCOPED_TRACE(k.ext);
    const std::string file = path(std::string("base.qcow2.") + k.ext);
    auto s = decompress_stream(k.c, file_stream(file));
    EXPECT_EQ(s->name(), file);
    EXPECT_EQ(s->size_hint(), std::nullopt);
    const std::string got = read_all(*s, 4093);  // odd reads: members end mid-buffer
    ASSERT_EQ(got.size(), original.size());
    EXPECT_TRUE(got == original);
    // Large reads, and an inner stream that gives a few bytes at a time.
    auto big = decompress_stream(k.c, file_stream(file));
    EXPECT_TRUE(read_all(*big, 8 << 20) == original);
    auto trickle =
        decompress_stream(k.c, std::make_unique<MemoryStream>(read_file(file), "trickle", /*chunk=*/777));
    EXPECT_TRUE(read_all(*trickle) == original);
  }
}

TEST_F(Decompress, ConcatenatedMembersStreamsAndFramesAreOneStream) {
  const std::string original = read_file(path("base.raw"));
  for (const Codec& k : kCodecs) {
    SCOPED_TRACE(k.ext);
    auto s = decompress_stream(k.c, file_stream(path(std::string("multi.raw.") + k.ext)));
    const std::string got = read_all(*s, 1 << 20);
    ASSERT_EQ(got.size(), original.size());
    EXPECT_TRUE(got == original);
  }
}

// pzstd and some archivers start with a skippable frame (magic 0x184D2A5?).
TEST_F(Decompress, ZstdSkippableFrameFirst) {
  const std::string skippable("\x53\x2a\x4d\x18\x04\x00\x00\x00skip", 12);
  const std::string bytes = skippable + read_file(path("base.qcow2.zst"));
  EXPECT_EQ(sniff_compression(std::as_bytes(std::span(bytes))), Compression::Zstd);
  auto s = decompress_stream(Compression::Zstd, memory_stream(bytes));
  EXPECT_TRUE(read_all(*s) == read_file(path("base.qcow2")));
}

TEST_F(Decompress, NoneIsTheInnerStreamItself) {
  auto inner = memory_stream("plain bytes");
  ByteStream* raw = inner.get();
  EXPECT_EQ(decompress_stream(Compression::None, std::move(inner)).get(), raw);
}

TEST_F(Decompress, TruncatedInputThrowsFormatWithTheNameAndOffset) {
  const std::string file = path("truncated.xz");
  auto s = decompress_stream(Compression::Xz, file_stream(file));
  const auto e = error_of([&] { read_all(*s); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_EQ(e->path(), file);
  EXPECT_NE(e->message().find("truncated xz stream"), std::string::npos) << e->message();
  EXPECT_EQ(e->offset(), read_file(file).size());  // all of it was consumed
  // The same for every codec: half of each file, through a pipe-like stream.
  for (const Codec& k : kCodecs) {
    SCOPED_TRACE(k.ext);
    const std::string whole = read_file(path(std::string("base.qcow2.") + k.ext));
    for (size_t cut : {whole.size() / 2, whole.size() - 1, size_t(10)}) {
      auto t = decompress_stream(k.c, memory_stream(whole.substr(0, cut), "cut"));
      const auto te = error_of([&] { read_all(*t); });
      ASSERT_TRUE(te);
      EXPECT_EQ(te->kind(), ErrorKind::Format) << te->what();
      EXPECT_EQ(te->path(), "cut");
      EXPECT_NE(te->message().find("truncated"), std::string::npos) << te->message();
    }
  }
}

TEST_F(Decompress, CorruptDataThrowsFormat) {
  const std::string file = path("corrupt.gz");
  auto s = decompress_stream(Compression::Gzip, file_stream(file));
  const auto e = error_of([&] { read_all(*s); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_EQ(e->path(), file);
  EXPECT_NE(e->message().find("corrupt gzip data"), std::string::npos) << e->message();
  ASSERT_TRUE(e->offset());
  // 16 bytes were changed in each codec's file, a third of the way in.
  for (const Codec& k : kCodecs) {
    SCOPED_TRACE(k.ext);
    std::string bytes = read_file(path(std::string("base.qcow2.") + k.ext));
    bytes.replace(bytes.size() / 3, 16, "CORRUPTCORRUPT!!");
    auto c = decompress_stream(k.c, memory_stream(bytes, "bad"));
    const auto ce = error_of([&] { read_all(*c); });
    ASSERT_TRUE(ce);
    EXPECT_EQ(ce->kind(), ErrorKind::Format) << ce->what();
    EXPECT_EQ(ce->path(), "bad");
    EXPECT_NE(ce->message().find("corrupt"), std::string::npos) << ce->message();
  }
}

TEST_F(Decompress, TrailingGarbageThrowsFormat) {
  const std::string original = read_file(path("base.qcow2"));
  for (const Codec& k : kCodecs) {
    SCOPED_TRACE(k.ext);
    const std::string file = path(std::string("trailing.") + k.ext);
    auto s = decompress_stream(k.c, file_stream(file));
    std::string got;
    const auto e = error_of([&] {
      std::string buf(1 << 16, '\0');
      while (size_t n = s->read(std::as_writable_bytes(std::span(buf)))) got.append(buf, 0, n);
    });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
    EXPECT_EQ(e->path(), file);
    EXPECT_NE(e->message().find("trailing bytes"), std::string::npos) << e->message();
    EXPECT_TRUE(got == original) << "the stream before the garbage is whole";
    EXPECT_EQ(e->offset(), read_file(path(std::string("base.qcow2.") + k.ext)).size());
  }
}

TEST_F(Decompress, XzStreamPaddingMustBeAMultipleOfFour) {
  std::string bytes = read_file(path("base.qcow2.xz"));
  bytes += std::string(3, '\0');
  auto s = decompress_stream(Compression::Xz, memory_stream(bytes, "pad3"));
  const auto e = error_of([&] { read_all(*s); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format);
  EXPECT_NE(e->message().find("padding"), std::string::npos) << e->message();
  auto ok = decompress_stream(Compression::Xz,
                              memory_stream(read_file(path("base.qcow2.xz")) + std::string(8, '\0')));
  EXPECT_EQ(read_all(*ok).size(), read_file(path("base.qcow2")).size());
}

// A zstd frame whose window descriptor asks for 2^30 bytes (the frame
// header has no checksum, so one byte says it): refused, not allocated.
TEST_F(Decompress, ZstdWindowPastTheLimitIsRefused) {
  const RunResult r =
      run("printf 'hello, window\\n' | zstd -q -c");  // from a pipe: no content size, a window descriptor
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string bytes = r.out;
  ASSERT_GE(bytes.size(), 6u);
  ASSERT_EQ(static_cast<unsigned char>(bytes[4]) & 0x20, 0) << "single-segment frame: no window descriptor";
  bytes[5] = static_cast<char>((30 - 10) << 3);  // exponent 20: 2^30
  auto s = decompress_stream(Compression::Zstd, memory_stream(bytes, "wide.zst"));
  const auto e = error_of([&] { read_all(*s); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsupported) << e->what();
  EXPECT_NE(e->message().find("window"), std::string::npos) << e->message();
}

// An xz block whose LZMA2 dictionary is 4 GiB (block header patched, its
// CRC32 recomputed): over the memory limit, refused before any allocation.
TEST_F(Decompress, XzMemoryLimitIsEnforced) {
  const RunResult r = run("printf 'hello, dictionary\\n' | xz -1 -T1 -c");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string bytes = r.out;
  const size_t hdr = 12, hsize = (static_cast<unsigned char>(bytes[hdr]) + 1) * 4;
  const auto flags = static_cast<unsigned char>(bytes[hdr + 1]);
  ASSERT_EQ(flags & 0xc3, 0) << "expected one filter and no size fields (xz -T1 from a pipe)";
  ASSERT_EQ(static_cast<unsigned char>(bytes[hdr + 2]), 0x21) << "LZMA2 filter id";
  ASSERT_EQ(static_cast<unsigned char>(bytes[hdr + 3]), 1) << "one property byte";
  bytes[hdr + 4] = 40;  // dictionary size 4 GiB - 1
  const uLong crc =
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + hdr), static_cast<uInt>(hsize - 4));
  for (int i = 0; i < 4; ++i) bytes[hdr + hsize - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  auto s = decompress_stream(Compression::Xz, memory_stream(bytes, "huge-dict.xz"));
  const auto e = error_of([&] { read_all(*s); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsupported) << e->what();
  EXPECT_NE(e->message().find("MiB to decompress"), std::string::npos) << e->message();
}

TEST_F(Decompress, ReadFollowsTheCurrentCancelToken) {
  auto s = decompress_stream(Compression::Gzip, file_stream(path("base.qcow2.gz")));
  std::string buf(4096, '\0');
  ASSERT_GT(s->read(std::as_writable_bytes(std::span(buf))), 0u);
  const CancelToken t = CancelToken::create();
  CancelScope scope(t);
  t.cancel();
  const auto e = error_of([&] { s->read(std::as_writable_bytes(std::span(buf))); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Interrupted);
}

uint64_t peak_rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  return 0;
}

// 512 MiB of zeros from a 78 KiB xz: memory stays flat (bounded buffers, no
// growth with the output).
TEST_F(Decompress, MemoryStaysBoundedOverAHalfGibibyteStream) {
  malloc_trim(0);  // free heap pages earlier tests left resident would hide growth
  {
    std::ofstream reset("/proc/self/clear_refs");  // "5": reset the peak RSS to the current RSS
    reset << "5";
  }
  const uint64_t before = peak_rss_kib();
  ASSERT_GT(before, 0u);
  auto s = decompress_stream(Compression::Xz, file_stream(path("zeros512.xz")));
  std::string buf(1 << 20, '\0');
  uint64_t total = 0;
  bool all_zero = true;
  while (size_t n = s->read(std::as_writable_bytes(std::span(buf)))) {
    total += n;
    all_zero = all_zero && std::all_of(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                                       [](char c) { return c == 0; });
  }
  EXPECT_EQ(total, uint64_t(512) << 20);
  EXPECT_TRUE(all_zero);
  const uint64_t growth_kib = peak_rss_kib() - before;
  std::printf("peak RSS growth decompressing 512 MiB of xz: %llu KiB\n",
              static_cast<unsigned long long>(growth_kib));
  // (ASan keeps freed memory in quarantine, which counts as RSS: the bound
  // is checked by the release build of the suite.)
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(growth_kib, uint64_t(64) << 10);
#endif
}

}  // namespace
}  // namespace imgtool::test
