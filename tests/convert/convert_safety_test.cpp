// The verdict in front of convert: hostile or referencing sources are refused
// (no DST, no temporary file); files named inside an image are read only
// through the gate — plain names beside the image, opened once, never a
// symlink or a special file — and only where the policy admits them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "convert/convert_fixture.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::test {
namespace {

namespace fs = std::filesystem;

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

ConvertOptions to(Format f, bool allow_backing = false, bool allow_external = false) {
  ConvertOptions o;
  o.target_format = f;
  o.gate.allow_backing = allow_backing;
  o.gate.allow_external_files = allow_external;
  return o;
}

// The conversion's refusal (nullopt when it converted).
std::optional<Error> refused(const std::string& src, const std::string& dst, const ConvertOptions& o) {
  try {
    convert_file(src, dst, o);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

bool says(const std::optional<Error>& e, const std::string& what) {
  return e && std::string(e->what()).find(what) != std::string::npos;
}

TEST(ConvertSafety, BackingFileIsRefusedThenFlattenedWithAllowBacking) {
  TempDir d;
  const std::string base = d.file("base.qcow2"), top = d.file("top.qcow2");
  qemu_img("create -q -f qcow2 " + sh_quote(base) + " 8M");
  qemu_io(base, "qcow2", "write -P 0xaa 0 1M");
  qemu_img("create -q -f qcow2 -b base.qcow2 -F qcow2 " + sh_quote(top) + " 12M");
  qemu_io(top, "qcow2", "write -P 0xbb 512k 64k");
  qemu_io(top, "qcow2", "write -z 768k 64k");  // a zero cluster hides base data

  auto e = refused(top, d.file("out.qcow2"), to(Format::Qcow2));
  ASSERT_TRUE(e) << "a source with a backing file must be refused";
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_TRUE(says(e, "--allow-backing")) << e->what();
  EXPECT_FALSE(fs::exists(d.file("out.qcow2")));
  EXPECT_EQ(files_in(d.path()), 2u);

  convert_file(top, d.file("flat.qcow2"), to(Format::Qcow2, true));
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
  auto e = refused(b, d.file("o.qcow2"), to(Format::Qcow2, true));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_TRUE(says(e, "loop")) << e->what();

  // qemu reads "nbd:..." as a protocol, not a file name.
  const std::string p = d.file("proto.qcow2");
  qemu_img("create -q -f qcow2 -u -b 'nbd:localhost:10809' -F raw " + sh_quote(p) + " 1M");
  e = refused(p, d.file("o2.qcow2"), to(Format::Qcow2, true));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_FALSE(fs::exists(d.file("o.qcow2")));
  EXPECT_FALSE(fs::exists(d.file("o2.qcow2")));
}

TEST(ConvertSafety, BackingFileOutsideTheImageDirectoryIsRefusedEvenWithAllowBacking) {
  TempDir d;
  fs::create_directory(d.path() / "sub");
  const std::string base = d.file("base.qcow2"), top = d.file("sub/top.qcow2");
  qemu_img("create -q -f qcow2 " + sh_quote(base) + " 1M");
  qemu_img("create -q -f qcow2 -b ../base.qcow2 -F qcow2 " + sh_quote(top) + " 1M");
  auto e = refused(top, d.file("o.raw"), to(Format::Raw, true));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_TRUE(says(e, "'..'")) << e->what();

  qemu_img("rebase -u -f qcow2 -b " + sh_quote(base) + " -F qcow2 " + sh_quote(top));  // absolute
  e = refused(top, d.file("o.raw"), to(Format::Raw, true));
  ASSERT_TRUE(e);
  EXPECT_TRUE(says(e, "absolute path")) << e->what();
  EXPECT_FALSE(fs::exists(d.file("o.raw")));
}

TEST(ConvertSafety, VmdkExtentNamingEtcPasswdIsRefused) {
  TempDir d;
  const std::string desc = d.file("evil.vmdk");
  write_file(desc,
             "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
             "createType=\"monolithicFlat\"\n\nRW 8 FLAT \"/etc/passwd\" 0\n\n"
             "ddb.virtualHWVersion = \"4\"\n");
  for (bool allow : {false, true}) {
    auto e = refused(desc, d.file("o.raw"), to(Format::Raw, allow, allow));
    ASSERT_TRUE(e) << "a vmdk naming /etc/passwd must never be converted";
    EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
    EXPECT_TRUE(says(e, "absolute path")) << e->what();
    EXPECT_EQ(files_in(d.path()), 1u);
  }
}

TEST(ConvertSafety, Qcow2WithL2EntryPastEofIsRefused) {
  TempDir d;
  const std::string q = d.file("bad.qcow2");
  qemu_img("create -q -f qcow2 " + sh_quote(q) + " 4M");
  qemu_io(q, "qcow2", "write -P 0x5a 0 64k");
  // Default layout: L1 at 0x30000 -> L2 at 0x40000; data at 0x50000. Point the
  // first L2 entry far past the end of the file.
  poke_be64(q, 0x40000, (uint64_t{1} << 63) | (uint64_t{1} << 40));
  auto e = refused(q, d.file("o.raw"), to(Format::Raw));
  ASSERT_TRUE(e) << "a qcow2 whose L2 entry points past EOF must not be converted";
  EXPECT_EQ(e->kind(), ErrorKind::Format) << e->what();
  EXPECT_EQ(files_in(d.path()), 1u);
}

TEST(ConvertSafety, DescriptorWithVmdkExtentBesideItIsConvertedByDefault) {
  TempDir d;
  const std::string v = d.file("flat.vmdk");
  qemu_img("create -q -f vmdk -o subformat=monolithicFlat " + sh_quote(v) + " 4M");
  qemu_io(v, "vmdk", "write -P 0x42 1M 64k");
  auto e = refused(v, d.file("o.raw"), to(Format::Raw));
  ASSERT_FALSE(e) << e->what();
  RunResult c = run("qemu-img compare -F raw " + sh_quote(v) + " " + sh_quote(d.file("o.raw")));
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
}

// A 300-byte descriptor naming a file that is not a VMware extent turned that
// file into the disk's content.
TEST(ConvertSafety, ExtentNotNamedLikeVmdkNeedsAllowExternalFiles) {
  TempDir d;
  write_file(d.file("secret.txt"), std::string(4096, 's'));
  const std::string desc = d.file("x.vmdk");
  write_file(desc,
             "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
             "createType=\"monolithicFlat\"\n\nRW 8 FLAT \"secret.txt\" 0\n");
  auto e = refused(desc, d.file("o.raw"), to(Format::Raw));
  ASSERT_TRUE(e) << "secret.txt must not become the disk";
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_TRUE(says(e, "--allow-external-files")) << e->what();
  EXPECT_FALSE(fs::exists(d.file("o.raw")));

  // The flag the refusal names is accepted and does what it says.
  ASSERT_FALSE(refused(desc, d.file("o.raw"), to(Format::Raw, false, true)));
  EXPECT_EQ(read_file(d.file("o.raw")), std::string(4096, 's'));
}

TEST(ConvertSafety, ExtentThatIsASymlinkOrAFifoIsRefusedAtOnce) {
  TempDir d;
  const std::string v = d.file("flat.vmdk");
  qemu_img("create -q -f vmdk -o subformat=monolithicFlat " + sh_quote(v) + " 1M");
  fs::rename(d.file("flat-flat.vmdk"), d.file("real.img"));
  fs::create_symlink("real.img", d.file("flat-flat.vmdk"));
  auto e = refused(v, d.file("o.raw"), to(Format::Raw, false, true));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_TRUE(says(e, "symbolic link")) << e->what();

  fs::remove(d.file("flat-flat.vmdk"));
  ASSERT_EQ(::mkfifo(d.file("flat-flat.vmdk").c_str(), 0600), 0);
  e = refused(v, d.file("o.raw"), to(Format::Raw));  // must not block on the FIFO
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_TRUE(says(e, "not a regular file")) << e->what();
  EXPECT_FALSE(fs::exists(d.file("o.raw")));
}

// The gate opens an extent once: replacing it by path after the verdict
// changes nothing that is read.
TEST(ConvertSafety, WhatWasCheckedIsWhatIsRead) {
  TempDir d;
  const std::string v = d.file("flat.vmdk");
  qemu_img("create -q -f vmdk -o subformat=monolithicFlat " + sh_quote(v) + " 1M");
  qemu_io(v, "vmdk", "write -P 0x42 0 1M");
  Assessment a = assess(v);
  ASSERT_EQ(a.verdict, Verdict::Clean) << (a.deciding() ? a.deciding()->message : "");
  ASSERT_EQ(a.opened.size(), 1u);
  EXPECT_EQ(a.opened[0].ref.name, "flat-flat.vmdk");
  write_file(d.file("swap.img"), std::string(1 << 20, 'X'));
  fs::rename(d.file("swap.img"), d.file("flat-flat.vmdk"));
  std::unique_ptr<ByteSink> out = create_atomic_file(d.file("o.raw"));
  convert_image(*a.image, *out, to(Format::Raw));
  out.reset();
  EXPECT_EQ(read_file(d.file("o.raw")), std::string(1 << 20, '\x42'));
}

TEST(ConvertSafety, Qcow2ExternalDataFileIsReadOnlyWithAllowExternalFiles) {
  TempDir d;
  const std::string q = d.file("d.qcow2");
  // qemu 7.2 resolves a relative data file name against its working directory.
  run_ok("cd " + sh_quote(d.path().string()) +
         " && qemu-img create -q -f qcow2 -o data_file=d.data d.qcow2 1M && "
         "qemu-io -f qcow2 -c 'write -P 0x33 0 64k' d.qcow2 >/dev/null");
  auto e = refused(q, d.file("o.raw"), to(Format::Raw));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), ErrorKind::Unsafe) << e->what();
  EXPECT_TRUE(says(e, "--allow-external-files")) << e->what();
  ASSERT_FALSE(refused(q, d.file("o.raw"), to(Format::Raw, false, true)));
  RunResult c = run("cd " + sh_quote(d.path().string()) + " && qemu-img compare -F raw d.qcow2 o.raw");
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
}

}  // namespace
}  // namespace imgtool::test
