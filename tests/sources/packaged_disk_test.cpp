// open_packaged_disk() and looks_like_tar() (src/sources/packaged_disk.hpp),
// and the OVF scanner under them, against tars and OVAs made by GNU tar and
// qemu-img (tests/images/make_sources.sh) and headers built here byte by byte.
#include "sources/packaged_disk.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "sources/decompress.hpp"
#include "sources/decompress_support.hpp"
#include "sources/ovf_descriptor.hpp"

namespace imgtool::test {
namespace {

using sources::looks_like_tar;
using sources::open_packaged_disk;

constexpr const char* kStreamOptimized =
    "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

class PackagedDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"qemu-img", "qemu-io", "gzip", "xz", "bzip2", "zstd", "tar"})
      IMGTOOL_REQUIRE_TOOL(tool);
    dir_ = source_fixtures();
    ASSERT_FALSE(dir_.empty());
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  sources::PackagedDisk open(const std::string& name,
                             std::optional<std::string> member = std::nullopt) const {
    return open_packaged_disk(file_stream(path(name)), member);
  }
  // The Error opening (and reading to the end) throws.
  std::optional<Error> failure(std::unique_ptr<ByteStream> s,
                               std::optional<std::string> member = std::nullopt) {
    return error_of([&] {
      auto d = open_packaged_disk(std::move(s), member);
      read_all(*d.stream);
    });
  }
  std::string dir_;
};

// A ustar header: `size_field` as the 12 bytes at 124 (octal or base-256),
// checksum filled in.
void put(std::string& h, size_t off, std::string_view v) {
  h.replace(off, v.size(), v);
}
std::string tar_header(const std::string& name, const std::string& size_field, char type = '0',
                       bool ustar = true) {
  std::string h(512, '\0');
  put(h, 0, name);
  put(h, 100, std::string_view("0000644\0", 8));
  put(h, 124, size_field);
  put(h, 136, std::string_view("00000000000\0", 12));
  h[156] = type;
  if (ustar)
    put(h, 257,
        std::string_view("ustar\0"
                         "00",
                         8));
  put(h, 148, "        ");
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06o", sum);
  put(h, 148, std::string_view(buf, 7));  // six digits and a NUL; the space stays
  return h;
}
std::string octal_size(uint64_t n) {
  char buf[13];
  std::snprintf(buf, sizeof buf, "%011llo", static_cast<unsigned long long>(n));
  return std::string(buf, 11) + '\0';
}
std::string padded(std::string data) {
  return data + std::string((512 - data.size() % 512) % 512, '\0');
}

TEST_F(PackagedDisk, LooksLikeTar) {
  for (const char* f : {"plain.tar", "disk.ova", "two-disks.ova", "long-name.tar", "dotdot.tar"}) {
    const std::string head = read_file(path(f)).substr(0, 512);
    EXPECT_TRUE(looks_like_tar(std::as_bytes(std::span(head)))) << f;
  }
  for (const char* f : {"base.qcow2", "base.raw", "stream.vmdk", "base.qcow2.gz"}) {
    const std::string head = read_file(path(f)).substr(0, 512);
    EXPECT_FALSE(looks_like_tar(std::as_bytes(std::span(head)))) << f;
  }
  const std::string zeros(512, '\0');
  EXPECT_FALSE(looks_like_tar(std::as_bytes(std::span(zeros))));
  const std::string tar = read_file(path("plain.tar"));
  EXPECT_FALSE(looks_like_tar(std::as_bytes(std::span(tar)).first(511)));
  // v7 (no magic): the checksum decides.
  std::string v7 = tar_header("old.img", octal_size(0), '0', /*ustar=*/false);
  EXPECT_TRUE(looks_like_tar(std::as_bytes(std::span(v7))));
  v7[0] = 'O';  // the checksum is now stale
  EXPECT_FALSE(looks_like_tar(std::as_bytes(std::span(v7))));
}

TEST_F(PackagedDisk, OvaDiskFoundThroughItsOvf) {
  auto d = open("disk.ova");
  EXPECT_EQ(d.layer.kind, "ova");
  EXPECT_EQ(d.layer.member, "disk.vmdk");
  EXPECT_EQ(d.layer.declared_capacity, uint64_t(64) << 20);
  EXPECT_EQ(d.layer.declared_format, kStreamOptimized);
  const std::string vmdk = read_file(path("stream.vmdk"));
  EXPECT_EQ(d.stream->size_hint(), vmdk.size());
  EXPECT_EQ(d.stream->name(), path("disk.ova"));
  const std::string got = read_all(*d.stream, 3000);  // ends at the member's end, not at the tar padding
  ASSERT_EQ(got.size(), vmdk.size());
  EXPECT_TRUE(got == vmdk);
}

TEST_F(PackagedDisk, WrongCapacityIsReportedAsDeclared) {
  auto d = open("wrong-capacity.ova");
  EXPECT_EQ(d.layer.kind, "ova");
  EXPECT_EQ(d.layer.declared_capacity, uint64_t(128) << 20);  // check_ovf_declaration() compares it
  EXPECT_TRUE(read_all(*d.stream) == read_file(path("stream.vmdk")));
}

TEST_F(PackagedDisk, MemberChoosesAmongTwoDisks) {
  auto d2 = open("two-disks.ova", "disk2.vmdk");  // past two.ovf, two.mf and disk1.vmdk
  EXPECT_EQ(d2.layer.kind, "ova");
  EXPECT_EQ(d2.layer.member, "disk2.vmdk");
  EXPECT_EQ(d2.layer.declared_capacity, uint64_t(32) << 20);
  EXPECT_EQ(d2.layer.declared_format, kStreamOptimized);
  EXPECT_TRUE(read_all(*d2.stream) == read_file(path("small.vmdk")));
  auto d1 = open("two-disks.ova", "./disk1.vmdk");
  EXPECT_EQ(d1.layer.member, "disk1.vmdk");
  EXPECT_EQ(d1.layer.declared_capacity, uint64_t(64) << 20);
  EXPECT_TRUE(read_all(*d1.stream) == read_file(path("stream.vmdk")));
}

TEST_F(PackagedDisk, TwoDisksWithoutMemberIsUsageNamingBoth) {
  const auto e = failure(file_stream(path("two-disks.ova")));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Usage) << e->what();
  EXPECT_EQ(e->path(), path("two-disks.ova"));
  EXPECT_EQ(e->message(), "the OVA holds 2 disks: disk1.vmdk, disk2.vmdk; choose one with --member");
}

TEST_F(PackagedDisk, MissingMemberIsUsageNamingTheFiles) {
  const auto e = failure(file_stream(path("two-disks.ova")), "disk3.vmdk");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Usage) << e->what();
  EXPECT_NE(e->message().find("no member 'disk3.vmdk'"), std::string::npos) << e->message();
  EXPECT_NE(e->message().find("two.ovf, two.mf, disk1.vmdk, disk2.vmdk"), std::string::npos) << e->message();
}

TEST_F(PackagedDisk, PlainTarWithOneFile) {
  auto d = open("plain.tar");  // GNU tar: "./" then "./base.qcow2"
  EXPECT_EQ(d.layer.kind, "tar");
  EXPECT_EQ(d.layer.member, "base.qcow2");
  EXPECT_EQ(d.layer.declared_capacity, std::nullopt);
  EXPECT_TRUE(d.layer.declared_format.empty());
  EXPECT_TRUE(read_all(*d.stream) == read_file(path("base.qcow2")));
}

TEST_F(PackagedDisk, PlainTarWithTwoFilesNeedsMember) {
  const auto e = failure(file_stream(path("two-files.tar")));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Usage) << e->what();
  EXPECT_EQ(e->message(), "the tar holds several files: base.qcow2, small.qcow2; choose one with --member");
  auto d = open("two-files.tar", "small.qcow2");
  EXPECT_EQ(d.layer.kind, "tar");
  EXPECT_TRUE(read_all(*d.stream) == read_file(path("small.qcow2")));
}

TEST_F(PackagedDisk, PaxLongName) {
  auto d = open("long-name.tar");
  EXPECT_EQ(d.layer.member.size(), 60u + 1 + 60 + 1 + 20 + 6);
  EXPECT_TRUE(d.layer.member.ends_with("/ffffffffffffffffffff.qcow2")) << d.layer.member;
  EXPECT_TRUE(read_all(*d.stream) == read_file(path("base.qcow2")));
}

TEST_F(PackagedDisk, OvaThroughGzip) {
  auto d = open_packaged_disk(
      sources::decompress_stream(sources::Compression::Gzip, file_stream(path("disk.ova.gz"))), std::nullopt);
  EXPECT_EQ(d.layer.kind, "ova");
  EXPECT_EQ(d.layer.member, "disk.vmdk");
  EXPECT_TRUE(read_all(*d.stream) == read_file(path("stream.vmdk")));
}

TEST_F(PackagedDisk, DotDotAndAbsoluteNamesAreRefused) {
  const auto e = failure(file_stream(path("dotdot.tar")));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_NE(e->message().find("'..'"), std::string::npos) << e->message();
  EXPECT_EQ(e->offset(), 0u);
  for (const char* name : {"/etc/passwd", "a/../../x", "a/.."}) {
    const auto a =
        failure(memory_stream(tar_header(name, octal_size(3)) + padded("abc") + std::string(1024, '\0')));
    ASSERT_TRUE(a) << name;
    EXPECT_EQ(a->kind(), ErrorKind::Format) << name;
  }
}

TEST_F(PackagedDisk, BadHeaderChecksumIsFormat) {
  const auto e = failure(file_stream(path("bad-checksum.tar")));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_NE(e->message().find("bad checksum"), std::string::npos) << e->message();
  EXPECT_EQ(e->offset(), 512u);
}

TEST_F(PackagedDisk, SizesInBase256AndBeyondAnyBound) {
  // base-256: 0x80, then the size big-endian
  std::string b256(12, '\0');
  b256[0] = static_cast<char>(0x80);
  b256[10] = 0x01;  // 256 bytes
  const std::string data(256, 'z');
  auto d = open_packaged_disk(
      memory_stream(tar_header("disk.img", b256) + padded(data) + std::string(1024, '\0')), std::nullopt);
  EXPECT_TRUE(read_all(*d.stream) == data);
  // negative (0xff...), and 2^60 bytes
  std::string neg(12, static_cast<char>(0xff));
  std::string huge(12, '\0');
  huge[0] = static_cast<char>(0x80);
  huge[4] = 0x10;  // 2^60
  for (const std::string& field : {neg, huge, std::string("12345678z01\0", 12)}) {
    const auto e = failure(memory_stream(tar_header("disk.img", field) + std::string(1024, '\0')));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  }
}

TEST_F(PackagedDisk, TruncatedTarThrowsFormat) {
  const std::string tar = read_file(path("plain.tar"));
  // No size hint: found at the member's cut end.
  auto d = open_packaged_disk(memory_stream(tar.substr(0, 1 << 20), "cut.tar"), std::nullopt);
  const auto e = error_of([&] { read_all(*d.stream); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_EQ(e->path(), "cut.tar");
  EXPECT_NE(e->message().find("truncated tar"), std::string::npos) << e->message();
  // A size hint: the header's size is checked against it at once.
  const auto h = error_of([&] {
    open_packaged_disk(std::make_unique<MemoryStream>(tar.substr(0, 1 << 20), "cut.tar", 65536, true),
                       std::nullopt);
  });
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind(), ErrorKind::Format) << h->what();
  EXPECT_NE(h->message().find("bytes left"), std::string::npos) << h->message();
  // Cut inside a header.
  const auto c = failure(memory_stream(tar.substr(0, 700), "cut.tar"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind(), ErrorKind::Format) << c->what();
}

TEST_F(PackagedDisk, EmptyOrFileLessTars) {
  const auto e = failure(memory_stream(std::string(1024, '\0'), "empty.tar"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format);
  EXPECT_EQ(e->message(), "the tar holds no file");
  const auto m = failure(memory_stream(std::string(1024, '\0'), "empty.tar"), "x.img");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind(), ErrorKind::Usage);
}

TEST_F(PackagedDisk, OvfNamingAMissingMemberIsFormat) {
  const std::string ovf =
      "<Envelope><References><File ovf:href='gone.vmdk' ovf:id='f1'/></References>"
      "<DiskSection><Disk ovf:diskId='d1' ovf:fileRef='f1' ovf:capacity='1'/></DiskSection></Envelope>";
  const std::string tar = tar_header("x.ovf", octal_size(ovf.size())) + padded(ovf) +
                          tar_header("other.vmdk", octal_size(3)) + padded("abc") + std::string(1024, '\0');
  const auto e = failure(memory_stream(tar, "x.ova"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_NE(e->message().find("gone.vmdk"), std::string::npos) << e->message();
}

TEST(OvfDescriptor, AllocationUnits) {
  using sources::detail::ovf_allocation_units;
  EXPECT_EQ(ovf_allocation_units("byte * 2^30"), uint64_t(1) << 30);
  EXPECT_EQ(ovf_allocation_units("byte*2^20"), uint64_t(1) << 20);
  EXPECT_EQ(ovf_allocation_units("byte"), 1u);
  EXPECT_EQ(ovf_allocation_units(""), 1u);
  EXPECT_EQ(ovf_allocation_units("byte * 1024"), 1024u);
  EXPECT_EQ(ovf_allocation_units("byte * 10^3"), 1000u);
  EXPECT_EQ(ovf_allocation_units("MegaBytes"), std::nullopt);
  EXPECT_EQ(ovf_allocation_units("byte * 2^64"), std::nullopt);
}

TEST(OvfDescriptor, PrefixAgnosticWithEntitiesAndComments) {
  const std::string xml = R"(<?xml version="1.0"?>
<!-- <References><File ovf:href="commented.vmdk" ovf:id="c"/></References> -->
<e:Envelope xmlns:e="http://schemas.dmtf.org/ovf/envelope/2" xmlns:x="urn:x">
  <e:References>
    <e:File e:href="./a&amp;b.vmdk" e:id="file1" e:size="123"/>
    <e:File e:href="c&#x2d;d.vmdk" e:id="file2"></e:File>
  </e:References>
  <e:DiskSection><e:Info>disks</e:Info>
    <e:Disk e:capacity="3" e:capacityAllocationUnits="byte * 2^30" e:diskId="d1" e:fileRef="file1"
            e:format="urn:fmt" x:extra='1'/>
    <e:Disk e:capacity="4096" e:diskId="d2" e:fileRef="file2"/>
    <e:Disk e:capacity="${size}" e:diskId="d3"/>
  </e:DiskSection>
  <e:VirtualSystem><e:File e:href="not-a-reference.vmdk" e:id="z"/></e:VirtualSystem>
</e:Envelope>)";
  const auto d = sources::detail::parse_ovf(xml, "t.ova", "t.ovf");
  ASSERT_EQ(d.files.size(), 2u);
  EXPECT_EQ(d.files[0].href, "a&b.vmdk");
  EXPECT_EQ(d.files[0].size, 123u);
  EXPECT_EQ(d.files[1].href, "c-d.vmdk");
  ASSERT_EQ(d.disks.size(), 3u);
  EXPECT_EQ(d.disks[0].capacity, uint64_t(3) << 30);
  EXPECT_EQ(d.disks[0].format, "urn:fmt");
  EXPECT_EQ(d.disks[1].capacity, 4096u);
  EXPECT_EQ(d.disks[2].capacity, std::nullopt);
  EXPECT_EQ(d.disks[2].file_ref, "");
  ASSERT_NE(d.file("file2"), nullptr);
  EXPECT_EQ(d.file("file2")->href, "c-d.vmdk");
}

TEST(OvfDescriptor, RefusesWhatItDoesNotRead) {
  for (const char* xml :
       {"<!DOCTYPE x [<!ENTITY a 'b'>]><Envelope/>", "<Envelope><References></Envelope>",
        "<Envelope a='&custom;'/>", "<Envelope a=unquoted/>", "<Envelope><!-- open", "<Envelope a='1'"}) {
    const auto e = error_of([&] { sources::detail::parse_ovf(xml, "t.ova", "t.ovf"); });
    ASSERT_TRUE(e) << xml;
    EXPECT_EQ(e->kind(), ErrorKind::Format) << xml;
    EXPECT_EQ(e->path(), "t.ova");
    EXPECT_NE(e->message().find("'t.ovf'"), std::string::npos) << e->message();
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  EXPECT_TRUE(error_of([&] { sources::detail::parse_ovf(deep, "t.ova", "t.ovf"); }));
}

// An .ovf that is not the first member does not make an OVA (it cannot be
// read before the disk without buffering): a tar whose one disk is read,
// the descriptor and manifest left aside.
TEST_F(PackagedDisk, OvfAfterTheDiskIsAPlainTar) {
  const std::string tar = tar_header("disk.vmdk", octal_size(3)) + padded("abc") +
                          tar_header("disk.ovf", octal_size(5)) + padded("<a/>\n") +
                          tar_header("disk.mf", octal_size(2)) + padded("x\n") + std::string(1024, '\0');
  auto d = open_packaged_disk(memory_stream(tar), std::nullopt);
  EXPECT_EQ(d.layer.kind, "tar");
  EXPECT_EQ(d.layer.member, "disk.vmdk");
  EXPECT_EQ(read_all(*d.stream), "abc");
}

TEST_F(PackagedDisk, OversizedOvfIsRefused) {
  const uint64_t size = (uint64_t(4) << 20) + 1;
  const std::string tar =
      tar_header("big.ovf", octal_size(size)) + padded(std::string(size, ' ')) + std::string(1024, '\0');
  const auto e = failure(memory_stream(tar, "big.ova"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_NE(e->message().find("limit"), std::string::npos) << e->message();
}

}  // namespace
}  // namespace imgtool::test
