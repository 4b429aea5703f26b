// Publishing from a URL into the real Glance: a vendor's compressed image
// with its SHA256SUMS, served by tests/sources/http_server.py. What Glance
// stores is the disk image inside, verified; a tampered sums file, or an image
// whose tables turn out to be corrupt once the stream went by, leaves no image.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "glance/glance_env.hpp"
#include "support/http_fixture.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(std::string(IMGTOOL_BIN));
}
std::string first_word(const std::string& s) {
  return s.substr(0, s.find_first_of(" \n"));
}

// A qcow2 written in guest order by qemu-img (random data, so the hashes say
// something), its xz form and a SHA256SUMS listing it among others.
struct Vendor {
  TempDir dir;
  std::string qcow2, xz, sha256_xz, md5_qcow2, md5_raw;
  Vendor() {
    const std::string raw = dir.file("src.raw");
    run_ok("head -c 3M /dev/urandom > " + sh_quote(raw) + " && truncate -s 32M " + sh_quote(raw));
    qcow2 = dir.file("cloud.qcow2");
    run_ok("qemu-img convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow2));
    xz = dir.file("cloud.qcow2.xz");
    run_ok("xz -T1 -c " + sh_quote(qcow2) + " > " + sh_quote(xz));
    sha256_xz = first_word(run_ok("sha256sum " + sh_quote(xz)));
    md5_qcow2 = first_word(run_ok("md5sum " + sh_quote(qcow2)));
    md5_raw = first_word(run_ok("md5sum " + sh_quote(raw)));
    write_file(dir.file("SHA256SUMS"),
               std::string(64, 'b') + " *other.img\n" + sha256_xz + " *cloud.qcow2.xz\n");
    std::string bad = sha256_xz;
    bad[5] = bad[5] == 'a' ? 'b' : 'a';
    write_file(dir.file("TAMPERED"), bad + "  cloud.qcow2.xz\n");
  }
};

TEST(GlanceSources, PublishFromAUrlWithItsSumsFileIsVerifiedEndToEnd) {
  REQUIRE_GLANCE();
  Vendor v;
  HttpFixture http(v.dir.path());
  const std::string url = http.base_url() + "/cloud.qcow2.xz";
  const std::string name = unique_name("from-url");
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --name " + name + " " +
                    url + " --checksums " + http.base_url() + "/SHA256SUMS");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["disk_format"], "qcow2");
  EXPECT_EQ(j["checksum"], v.md5_qcow2);  // the disk image inside, not the .xz
  EXPECT_EQ(j["source_layers"][0]["type"], "xz");
  ASSERT_EQ(j["upstream"].size(), 1u);
  EXPECT_EQ(j["upstream"][0]["value"], v.sha256_xz);
  EXPECT_EQ(j["upstream"][0]["signature_checked"], false);
  // Glance holds the qcow2's bytes.
  json im = glance_get("images/" + j.value("id", ""));
  EXPECT_EQ(im["checksum"], v.md5_qcow2);
  EXPECT_EQ(im["size"], std::filesystem::file_size(v.qcow2));
  glance_delete(j.value("id", ""));

  // Converted to raw in the same pipeline: download, decompress, convert, hash, upload.
  const std::string raw_name = unique_name("from-url-raw");
  r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --convert-to raw --name " + raw_name +
          " " + url + " --expect-sha256 " + v.sha256_xz);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["disk_format"], "raw");
  EXPECT_EQ(j["checksum"], v.md5_raw);
  EXPECT_EQ(j["spool_peak_file"], 0) << "an in-order qcow2 needs no temporary file";
  glance_delete(j.value("id", ""));
}

TEST(GlanceSources, ATamperedSumsFileLeavesNoImage) {
  REQUIRE_GLANCE();
  Vendor v;
  HttpFixture http(v.dir.path());
  const std::string name = unique_name("tampered");
  for (const std::string conv : {"", " --convert-to raw"}) {
    RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish" + conv + " --name " + name + " " +
                      http.base_url() + "/cloud.qcow2.xz --checksums " + http.base_url() + "/TAMPERED");
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_NE(r.err.find(v.sha256_xz), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
    EXPECT_EQ(count_named(name), 0u) << r.err;
  }
}

TEST(GlanceSources, StandardInputNeedsANameAndIsPublishedThroughTheStream) {
  REQUIRE_GLANCE();
  Vendor v;
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish - < " + sh_quote(v.qcow2));
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("--name"), std::string::npos) << r.err;
  const std::string name = unique_name("stdin");
  r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --name " + name + " - < " +
          sh_quote(v.xz));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["checksum"], v.md5_qcow2);
  glance_delete(j.value("id", ""));
}

// A qcow2 whose refcount for a used cluster is 0: nothing in its header says
// so, the walk after the stream went by does; the image is deleted.
TEST(GlanceSources, ACorruptionFoundAfterTheUploadStartedDeletesTheImage) {
  REQUIRE_GLANCE();
  Vendor v;
  const std::string bad = v.dir.file("bad.qcow2");
  std::filesystem::copy_file(v.qcow2, bad);
  // The first refcount block's entry for cluster 0 (the header): 0.
  const std::string off =
      first_word(run_ok("/usr/bin/python3 -c \"import struct;h=open('" + bad +
                        "','rb').read(104);t=struct.unpack('>Q',h[48:56])[0];"
                        "import sys;f=open('" +
                        bad + "','rb');f.seek(t);print(struct.unpack('>Q',f.read(8))[0])\""));
  poke(bad, std::stoull(off), std::string("\0\0", 2));
  run_ok("xz -T1 -c " + sh_quote(bad) + " > " + sh_quote(v.dir.file("bad.qcow2.xz")));
  HttpFixture http(v.dir.path());
  // Passed through as it is, and converted on the way.
  for (const std::string conv : {"", "--convert-to raw "}) {
    const std::string name = unique_name("corrupt-stream");
    RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish " + conv + "--name " + name + " " +
                      http.base_url() + "/bad.qcow2.xz");
    EXPECT_NE(r.exit_code, 0) << conv;
    EXPECT_NE(r.err.find("deleted"), std::string::npos) << r.err;
    EXPECT_EQ(count_named(name), 0u) << r.err;
  }
}

// raw inside xz (a Flatcar-style .img.xz): its size is known only at the end
// of the stream, yet it goes to Glance as it arrives, with nothing held
// locally: as it is, and with --convert-to raw (whole sectors, as the raw
// writer pads them).
TEST(GlanceSources, RawInsideXzIsStreamedWithoutATemporaryFile) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("flat.img");
  // 40 MiB + 100 bytes: more than the spool's memory would hold if it kept
  // it, and not a whole number of sectors.
  run_ok("head -c 8M /dev/urandom > " + sh_quote(raw) + " && truncate -s 41943140 " + sh_quote(raw));
  run_ok("xz -T1 -0 -c " + sh_quote(raw) + " > " + sh_quote(t.file("flat.img.xz")));
  const std::string md5 = first_word(run_ok("md5sum " + sh_quote(raw)));
  run_ok("cp " + sh_quote(raw) + " " + sh_quote(t.file("padded")) + " && truncate -s 41943552 " +
         sh_quote(t.file("padded")));
  const std::string md5_padded = first_word(run_ok("md5sum " + sh_quote(t.file("padded"))));
  HttpFixture http(t.path());
  for (const std::string conv : {"", "--convert-to raw "}) {
    SCOPED_TRACE(conv);
    const std::string name = unique_name("raw-xz");
    RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json " + conv + "--name " +
                      name + " " + http.base_url() + "/flat.img.xz");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["verified"], true);
    EXPECT_EQ(j["disk_format"], "raw");
    EXPECT_EQ(j["checksum"], conv.empty() ? md5 : md5_padded);
    EXPECT_EQ(j["spool_peak_file"], 0) << r.out;
    EXPECT_LT(j["spool_peak_memory"].get<uint64_t>(), uint64_t{16} << 20) << r.out;
    glance_delete(j.value("id", ""));
  }
  // convert of the same source still gets the whole image (the converter
  // needs the size first, so there the spool holds it).
  RunResult r =
      run(imgtool() + " convert -O raw " + http.base_url() + "/flat.img.xz " + sh_quote(t.file("o.raw")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(first_word(run_ok("md5sum " + sh_quote(t.file("o.raw")))), md5_padded);
}

}  // namespace
}  // namespace imgtool::test::glance
