// Every command reads any source: compressed files, standard input, OVAs,
// with upstream digests. The expectations come from the real tools: qemu-img
// on the uncompressed file, md5sum/sha256sum on the bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/http_fixture.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

// A 64 MiB qcow2 with patterned data at a few places, as qemu-img writes it.
std::string make_qcow2(const TempDir& t, const std::string& name = "disk.qcow2") {
  const std::string p = t.file(name);
  qemu_img("create -q -f qcow2 " + sh_quote(p) + " 64M");
  qemu_io(p, "qcow2", "write -P 0x5a 0 1M");
  qemu_io(p, "qcow2", "write -P 0xa5 32M 192k");
  qemu_io(p, "qcow2", "write -P 0x11 63M 64k");
  return p;
}

std::string first_word(const std::string& s) {
  return s.substr(0, s.find_first_of(" \n"));
}

std::string qemu_info_inner(const std::string& file, const std::string& shown_as) {
  // qemu-img's lines for the uncompressed file, with the name the user gave
  // and no host allocation (what imgtool prints for a non-file source).
  std::string out = run_ok("qemu-img info " + sh_quote(file));
  const size_t a = out.find("image: ");
  out.replace(a, out.find('\n', a) - a, "image: " + shown_as);
  const size_t d = out.find("disk size: ");
  out.replace(d, out.find('\n', d) - d, "disk size: unavailable");
  return out;
}

TEST(CliSources, InfoOfEachCompressionIsQemuImgOfTheInnerImagePlusOneLine) {
  TempDir t;
  const std::string q = make_qcow2(t);
  const struct {
    const char* tool;
    const char* ext;
    const char* name;
  } codecs[] = {{"gzip -c", ".gz", "gzip"},
                {"xz -c -T1", ".xz", "xz"},
                {"bzip2 -c", ".bz2", "bzip2"},
                {"zstd -q -c", ".zst", "zstd"}};
  for (const auto& c : codecs) {
    SCOPED_TRACE(c.name);
    // A misleading name on purpose: detection is from the bytes.
    const std::string z = t.file(std::string("disk-") + c.name + ".qcow2");
    run_ok(std::string(c.tool) + " " + sh_quote(q) + " > " + sh_quote(z));
    RunResult r = run(imgtool() + " info " + sh_quote(z));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, qemu_info_inner(q, z) + "source layers: " + c.name + "\n");
    RunResult j = run(imgtool() + " info --output=json " + sh_quote(z));
    ASSERT_EQ(j.exit_code, 0) << j.err;
    nlohmann::ordered_json v = nlohmann::ordered_json::parse(j.out);
    EXPECT_EQ(v["format"], "qcow2");
    EXPECT_EQ(v["virtual-size"], 64 << 20);
    ASSERT_TRUE(v.contains("source-layers")) << j.out;
    EXPECT_EQ(v["source-layers"][0]["type"], c.name);
    // After qemu-img's keys: the last one.
    std::string last;
    for (auto& [k, val] : v.items()) last = k;
    EXPECT_EQ(last, "source-layers");
    // check reads the inner image too.
    RunResult ck = run(imgtool() + " check " + sh_quote(z));
    EXPECT_EQ(ck.exit_code, 0) << ck.err;
  }
}

TEST(CliSources, ChecksumOfACompressedSourceIsWhatGlanceWouldShowAfterPublish) {
  TempDir t;
  const std::string q = make_qcow2(t);
  const std::string z = t.file("disk.qcow2.xz");
  run_ok("xz -c -T1 " + sh_quote(q) + " > " + sh_quote(z));
  const std::string inner_md5 = first_word(run_ok("md5sum " + sh_quote(q)));
  const std::string outer_md5 = first_word(run_ok("md5sum " + sh_quote(z)));
  RunResult r = run(imgtool() + " checksum --output=json " + sh_quote(z));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[0]["checksum"], inner_md5);
  EXPECT_EQ(json::parse(r.out)[0]["size"], std::filesystem::file_size(q));
  r = run(imgtool() + " checksum --as-is --output=json " + sh_quote(z));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[0]["checksum"], outer_md5);
  // Standard input, compressed.
  r = run(imgtool() + " checksum --output=json - < " + sh_quote(z));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[0]["checksum"], inner_md5);
}

TEST(CliSources, UpstreamDigestsAreCheckedOverTheBytesAsDownloaded) {
  TempDir t;
  const std::string q = make_qcow2(t);
  const std::string z = t.file("disk.qcow2.gz");
  run_ok("gzip -c " + sh_quote(q) + " > " + sh_quote(z));
  const std::string sha = first_word(run_ok("sha256sum " + sh_quote(z)));
  const std::string out = t.file("out.raw");
  // Right digest: converted, and the note names where the digest came from.
  RunResult r =
      run(imgtool() + " convert -O raw --expect-sha256 " + sha + " " + sh_quote(z) + " " + sh_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("--expect-sha256"), std::string::npos) << r.err;
  run_ok("qemu-img convert -O raw " + sh_quote(q) + " " + sh_quote(t.file("want.raw")));
  EXPECT_EQ(run("cmp " + sh_quote(out) + " " + sh_quote(t.file("want.raw"))).exit_code, 0);
  std::filesystem::remove(out);
  // Wrong digest: exit 5 (mismatch), no output file, nothing left beside it.
  std::string bad = sha;
  bad[0] = bad[0] == '0' ? '1' : '0';
  r = run(imgtool() + " convert -O raw --expect-sha256 " + bad + " " + sh_quote(z) + " " + sh_quote(out));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find(sha), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  for (const auto& e : std::filesystem::directory_iterator(t.path()))
    EXPECT_EQ(e.path().filename().string().find(".imgtool-"), std::string::npos) << e.path();
  // A sums file (GNU format, other entries around it), found by file name.
  write_file(t.file("SHA256SUMS"), std::string(64, 'a') + "  other.img\n" + sha + " *disk.qcow2.gz\n");
  r = run(imgtool() + " checksum --checksums " + sh_quote(t.file("SHA256SUMS")) + " " + sh_quote(z));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("upstream: sha256 " + sha + " matches"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("signature not checked"), std::string::npos) << r.out;
  // A tampered one.
  write_file(t.file("SHA256SUMS"), bad + "  disk.qcow2.gz\n");
  r = run(imgtool() + " info --checksums " + sh_quote(t.file("SHA256SUMS")) + " " + sh_quote(z));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  // No entry for the name.
  write_file(t.file("SHA256SUMS"), sha + "  something-else.img\n");
  r = run(imgtool() + " checksum --checksums " + sh_quote(t.file("SHA256SUMS")) + " " + sh_quote(z));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("disk.qcow2.gz"), std::string::npos) << r.err;
}

TEST(CliSources, Qcow2AndStreamOptimizedVmdkOnStandardInputConvertByteExact) {
  TempDir t;
  const std::string q = make_qcow2(t);
  const std::string v = t.file("disk.vmdk");
  qemu_img("convert -O vmdk -o subformat=streamOptimized " + sh_quote(q) + " " + sh_quote(v));
  run_ok("qemu-img convert -O raw " + sh_quote(q) + " " + sh_quote(t.file("want.raw")));
  for (const std::string& src : {q, v}) {
    SCOPED_TRACE(src);
    const std::string out = t.file("out.raw");
    RunResult r = run("cat " + sh_quote(src) + " | " + imgtool() + " convert -O raw - " + sh_quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(run("cmp " + sh_quote(out) + " " + sh_quote(t.file("want.raw"))).exit_code, 0);
    // And to qcow2: the same guest data as qemu-img's own conversion.
    const std::string oq = t.file("out.qcow2");
    r = run("cat " + sh_quote(src) + " | " + imgtool() + " convert -O qcow2 - " + sh_quote(oq));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(run("qemu-img compare " + sh_quote(oq) + " " + sh_quote(q)).exit_code, 0);
  }
  // info of a pipe prints qemu-img's view of the image that came through it.
  RunResult r = run("cat " + sh_quote(q) + " | " + imgtool() + " info -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, qemu_info_inner(q, "-"));
}

TEST(CliSources, OvaDiskIsFoundThroughItsOvfAndTheDeclarationIsChecked) {
  TempDir t;
  const std::string q = make_qcow2(t);
  const std::string v = t.file("disk1.vmdk");
  qemu_img("convert -O vmdk -o subformat=streamOptimized " + sh_quote(q) + " " + sh_quote(v));
  auto ovf = [&](uint64_t capacity) {
    return std::string("<?xml version=\"1.0\"?>\n") +
           "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
           "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">\n"
           "  <References><File ovf:id=\"file1\" ovf:href=\"disk1.vmdk\"/></References>\n"
           "  <DiskSection><Info>disks</Info>\n"
           "    <Disk ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" ovf:capacity=\"" +
           std::to_string(capacity) +
           "\" ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/>\n"
           "  </DiskSection>\n</Envelope>\n";
  };
  write_file(t.file("appliance.ovf"), ovf(64 << 20));
  run_ok("cd " + sh_quote(t.path().string()) + " && tar -cf good.ova appliance.ovf disk1.vmdk");
  RunResult r = run(imgtool() + " info " + sh_quote(t.file("good.ova")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("file format: vmdk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("source layers: ova (disk1.vmdk)"), std::string::npos) << r.out;
  // Its checksum is the vmdk's (what publish would upload).
  r = run(imgtool() + " checksum --output=json " + sh_quote(t.file("good.ova")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[0]["checksum"], first_word(run_ok("md5sum " + sh_quote(v))));
  // Converted straight out of the OVA.
  r = run(imgtool() + " convert -O raw " + sh_quote(t.file("good.ova")) + " " + sh_quote(t.file("o.raw")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      run("qemu-img compare -f raw -F qcow2 " + sh_quote(t.file("o.raw")) + " " + sh_quote(q)).exit_code, 0);
  // An OVF that declares another capacity: refused as a mismatch.
  write_file(t.file("appliance.ovf"), ovf(128 << 20));
  run_ok("cd " + sh_quote(t.path().string()) + " && tar -cf bad.ova appliance.ovf disk1.vmdk");
  r = run(imgtool() + " check " + sh_quote(t.file("bad.ova")));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("capacity"), std::string::npos) << r.err;
  r = run(imgtool() + " convert -O raw " + sh_quote(t.file("bad.ova")) + " " + sh_quote(t.file("b.raw")));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_FALSE(std::filesystem::exists(t.file("b.raw")));
}

// -f raw reads the bytes as they are, as qemu-img does: a raw disk's first
// bytes are the guest's, so a gzip stream or a tar header the guest wrote
// there is disk content. Peeling it off would let the guest choose what the
// operator converts, the very probe -f raw is passed to avoid.
TEST(CliSources, DeclaredRawIsReadAsItIsWhateverItsFirstBytesLookLike) {
  TempDir t;
  const std::string q = make_qcow2(t);
  write_file(t.file("a.txt"), std::string(3000, 'a'));
  write_file(t.file("b.txt"), std::string(5000, 'b'));
  run_ok("cd " + sh_quote(t.path().string()) +
         " && tar -cf planted.tar a.txt b.txt && gzip -c disk.qcow2 > "
         "planted.gz");
  for (const char* planted : {"planted.tar", "planted.gz"}) {
    SCOPED_TRACE(planted);
    // A 4 MiB raw disk that starts with the planted bytes.
    const std::string disk = t.file(std::string(planted) + ".raw");
    run_ok("cp " + sh_quote(t.file(planted)) + " " + sh_quote(disk));
    truncate_file(disk, 4 << 20);
    RunResult r = run(imgtool() + " info -f raw " + sh_quote(disk));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, run_ok("qemu-img info -f raw " + sh_quote(disk)));
    r = run(imgtool() + " check -f raw " + sh_quote(disk));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string out = t.file(std::string(planted) + ".qcow2");
    r = run(imgtool() + " convert -f raw -O qcow2 " + sh_quote(disk) + " " + sh_quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(run("qemu-img compare -f raw -F qcow2 " + sh_quote(disk) + " " + sh_quote(out)).exit_code, 0);
    r = run(imgtool() + " compare -f raw -F qcow2 " + sh_quote(disk) + " " + sh_quote(out));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run(imgtool() + " map -f raw --output=json " + sh_quote(disk));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out).back()["offset"].get<uint64_t>() +
                  json::parse(r.out).back()["length"].get<uint64_t>(),
              uint64_t{4} << 20);
    r = run(imgtool() + " measure -O qcow2 -f raw --output=json " + sh_quote(disk));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(
        json::parse(r.out)["required"],
        json::parse(run_ok("qemu-img measure -O qcow2 -f raw --output=json " + sh_quote(disk)))["required"]);
    // --member would pick a file out of the tar: it cannot go with -f raw.
    r = run(imgtool() + " info -f raw --member a.txt " + sh_quote(disk));
    EXPECT_EQ(r.exit_code, 64) << r.err;
  }
  // Without -f a layer is still detected and peeled off.
  RunResult r = run(imgtool() + " info " + sh_quote(t.file("planted.gz")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("file format: qcow2"), std::string::npos) << r.out;
}

TEST(CliSources, ACorruptCompressedSourceIsOneLineAndNoOutput) {
  TempDir t;
  const std::string q = make_qcow2(t);
  const std::string z = t.file("disk.qcow2.xz");
  run_ok("xz -c -T1 " + sh_quote(q) + " > " + sh_quote(z));
  truncate_file(z, std::filesystem::file_size(z) / 2);
  RunResult r = run(imgtool() + " convert -O raw " + sh_quote(z) + " " + sh_quote(t.file("o.raw")));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(z), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(t.file("o.raw")));
  r = run(imgtool() + " checksum " + sh_quote(z));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

// Over HTTP(S), as a user would point imgtool at a vendor's server: the
// faults of a real network, each with what the user is left with.
TEST(CliSources, UrlSourcesResumeAndFailCleanly) {
  TempDir t;
  const std::string q = make_qcow2(t);
  run_ok("xz -c -T1 " + sh_quote(q) + " > " + sh_quote(t.file("disk.qcow2.xz")));
  run_ok("qemu-img convert -O raw " + sh_quote(q) + " " + sh_quote(t.file("want.raw")));
  HttpFixture http(t.path(), /*https=*/true);
  const std::string out = t.file("out.raw");
  auto convert = [&](const std::string& url, const std::string& extra = "") {
    std::filesystem::remove(out);
    return run(imgtool() + " convert -O raw " + extra + " " + url + " " + sh_quote(out));
  };
  // https with the server's CA: byte-exact; without it: one line naming TLS, no output.
  RunResult r = convert(http.https_base_url() + "/disk.qcow2.xz", "--cacert " + sh_quote(http.cacert()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(run("cmp " + sh_quote(out) + " " + sh_quote(t.file("want.raw"))).exit_code, 0);
  r = convert(http.https_base_url() + "/disk.qcow2.xz");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--cacert"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  r = convert(http.https_base_url() + "/disk.qcow2.xz", "--insecure");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("--insecure"), std::string::npos) << r.err;
  // A connection dropped mid-body once: resumed with a Range request, byte-exact.
  r = convert(http.base_url() + "/drop-once/disk.qcow2.xz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(run("cmp " + sh_quote(out) + " " + sh_quote(t.file("want.raw"))).exit_code, 0);
  EXPECT_NE(http.requests().find("bytes="), std::string::npos) << http.requests();
  // Cut short every time: an error, and no output file.
  r = convert(http.base_url() + "/cut/disk.qcow2.xz");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // A redirect loop fails within seconds; a 404 is one line with the status.
  const auto t0 = std::chrono::steady_clock::now();
  r = convert(http.base_url() + "/redirect-loop/x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  EXPECT_NE(r.err.find("redirect"), std::string::npos) << r.err;
  r = convert(http.base_url() + "/missing.qcow2");
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("404"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // The digest of the download, from a sums file on the same server.
  const std::string sha = first_word(run_ok("sha256sum " + sh_quote(t.file("disk.qcow2.xz"))));
  write_file(t.file("SHA256SUMS"), sha + "  disk.qcow2.xz\n");
  r = run(imgtool() + " checksum --checksums " + http.base_url() + "/SHA256SUMS " + http.base_url() +
          "/redirect/disk.qcow2.xz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("checksum: " + first_word(run_ok("md5sum " + sh_quote(q)))), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("upstream: sha256 " + sha), std::string::npos) << r.out;
  // -p shows the download on stderr; stdout stays the digests.
  r = run(imgtool() + " checksum -p " + http.base_url() + "/disk.qcow2.xz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("100.0%"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("progress"), std::string::npos) << r.out;
  // info of a URL: qemu-img's view of the image inside, no download of the rest.
  r = run(imgtool() + " info " + http.base_url() + "/disk.qcow2.xz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, qemu_info_inner(q, http.base_url() + "/disk.qcow2.xz") + "source layers: xz\n");
}

// inspect needs a file: a compressed source is copied to an unnamed
// temporary file first (and says so), then vetted like any file: an image
// naming a host file is refused before any guest tool runs, and nothing is
// left in TMPDIR.
TEST(CliSources, InspectOfACompressedSourceGoesThroughATemporaryCopyAndTheVerdict) {
  TempDir t;
  qemu_img("create -q -f qcow2 -u -b /etc/hostname -F raw " + sh_quote(t.file("host.qcow2")) + " 4M");
  run_ok("gzip -c " + sh_quote(t.file("host.qcow2")) + " > " + sh_quote(t.file("host.qcow2.gz")));
  TempDir tmpdir;
  RunResult r = run("TMPDIR=" + sh_quote(tmpdir.path().string()) + " " + imgtool() + " inspect --guest " +
                    sh_quote(t.file("host.qcow2.gz")));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("temporary file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/etc/hostname"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(tmpdir.path()));
}

}  // namespace
}  // namespace imgtool::test
