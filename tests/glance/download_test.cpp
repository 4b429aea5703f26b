// imgtool download against the real Glance: byte-exact for each format,
// sparse, atomic, standard output, a record that does not match the data
// (tests/glance/fault_proxy.py --rewrite-hash) leaves no file, and an image
// without data is one clear line. --convert-to: each format in Glance to each
// target, judged against qemu-img's conversion of the same original; what
// cannot go to standard output; data corrupted in Glance's store; images
// that are unsafe or contradict their disk_format; --store; the spool's peaks
// for a 256 MiB-virtual qcow2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "glance/fault_proxy.hpp"
#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

// Publishes `file` with imgtool and returns the new image's id.
std::string publish(const std::string& file, const std::string& name) {
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish --output=json --name " + name + " " +
                    sh_quote(file));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  return j.is_object() && j["id"].is_string() ? j["id"].get<std::string>() : std::string();
}

TEST(GlanceDownload, EachFormatByteExactAndSparse) {
  REQUIRE_GLANCE();
  TempDir t;
  // 8 MiB raw: 1 MiB of data at 0 and at 6 MiB, holes between.
  const std::string raw = t.file("src.raw");
  run_ok("truncate -s 8M " + sh_quote(raw) + " && head -c 1M /dev/urandom | dd of=" + sh_quote(raw) +
         " conv=notrunc status=none && head -c 1M /dev/urandom | dd of=" + sh_quote(raw) +
         " bs=1M seek=6 conv=notrunc status=none");
  const std::string qcow = t.file("src.qcow2"), vmdk = t.file("src.vmdk");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  qemu_img("convert -f raw -O vmdk -o subformat=streamOptimized " + sh_quote(raw) + " " + sh_quote(vmdk));
  for (const std::string& src : {raw, qcow, vmdk}) {
    const std::string id = publish(src, unique_name("dl"));
    ASSERT_FALSE(id.empty());
    const std::string dst = t.file("got");
    RunResult r =
        run(clean_env(admin_vars()) + imgtool() + " download --output=json " + id + " " + sh_quote(dst));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["verified"], true);
    EXPECT_EQ(j["checksum"], run_ok("md5sum " + sh_quote(src)).substr(0, 32));
    EXPECT_EQ(run("cmp " + sh_quote(src) + " " + sh_quote(dst)).exit_code, 0) << src;
    if (src == raw) {
      struct stat st {};
      ASSERT_EQ(::stat(dst.c_str(), &st), 0);
      EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, uint64_t{3} << 20)
          << "the holes were written as data";
      EXPECT_EQ(j["holes"], 6 * 1048576);
    }
    std::filesystem::remove(dst);
    glance_delete(id);
  }
}

TEST(GlanceDownload, ToStandardOutputByNameWithProgress) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("s.raw");
  run_ok("head -c 3M /dev/urandom > " + sh_quote(raw));
  const std::string name = unique_name("dl-stdout");
  const std::string id = publish(raw, name);
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " download -p " + name + " - | md5sum");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 32), run_ok("md5sum " + sh_quote(raw)).substr(0, 32));
  EXPECT_NE(r.err.find("downloaded image " + id), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("verified size, checksum, sha512"), std::string::npos) << r.err;
  glance_delete(id);
}

TEST(GlanceDownload, DataThatDoesNotMatchTheRecordLeavesDstAsItWas) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("m.raw");
  run_ok("head -c 256K /dev/urandom > " + sh_quote(raw));
  const std::string id = publish(raw, unique_name("dl-mismatch"));
  FaultProxy proxy(t, "--rewrite-hash");  // the record says os_hash_value ffff...
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  const std::string dst = t.file("old");
  write_file(dst, "previous content");
  RunResult r = run(clean_env(vars) + imgtool() + " download " + id + " " + sh_quote(dst));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("does not match its record: os_hash_value"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dst), "previous content");
  for (const auto& e : std::filesystem::directory_iterator(t.path()))
    EXPECT_EQ(e.path().filename().string().find(".imgtool-"), std::string::npos) << e.path();
  glance_delete(id);
}

// The network cuts the body twice: each cut is resumed where it stopped
// (Range), never started again, so the hashes, a pipe and the converter see
// every byte once.
TEST(GlanceDownload, ACutDownloadIsResumedWhereItStopped) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("r.raw");
  run_ok("head -c 6M /dev/urandom > " + sh_quote(raw));
  const std::string id = publish(raw, unique_name("dl-resume"));
  ASSERT_FALSE(id.empty());
  const std::string md5 = run_ok("md5sum " + sh_quote(raw)).substr(0, 32);
  // Runs `args` (after "imgtool download ") through a proxy that cuts the
  // first two GET .../file answers after 1 MiB, and checks that the second
  // and third requests asked for the rest at increasing offsets.
  auto through_cuts = [&](const std::string& args) {
    const std::string log = t.file("ranges");
    std::filesystem::remove(log);
    FaultProxy proxy(t, "--cut-get-after 1048576 --cut-get-times 2 --log-ranges " + sh_quote(log));
    auto vars = admin_vars();
    vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
    RunResult r = run(clean_env(vars) + imgtool() + " download " + args);
    std::vector<std::string> v;  // the Range of each request, "-" for none
    std::istringstream in(read_file(log));
    for (std::string path, range; in >> path >> range;) v.push_back(range);
    EXPECT_EQ(v.size(), 3u) << read_file(log);
    if (v.size() == 3) {
      EXPECT_EQ(v[0], "-");
      EXPECT_EQ(v[1].rfind("bytes=", 0), 0u) << v[1];
      EXPECT_EQ(v[2].rfind("bytes=", 0), 0u) << v[2];
      const uint64_t a = std::stoull(v[1].substr(6)), b = std::stoull(v[2].substr(6));
      EXPECT_GT(a, 0u);
      EXPECT_GT(b, a);
    }
    return r;
  };
  // To a file.
  RunResult r = through_cuts("--output=json " + id + " " + sh_quote(t.file("got.raw")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["verified"], true);
  EXPECT_EQ(run("cmp " + sh_quote(raw) + " " + sh_quote(t.file("got.raw"))).exit_code, 0);
  // To a pipe: what went out cannot be taken back.
  r = through_cuts(id + " - | md5sum");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 32), md5);
  // Converted on the way.
  r = through_cuts("--convert-to qcow2 " + id + " " + sh_quote(t.file("got.qcow2")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(run("qemu-img compare -f raw -F qcow2 " + sh_quote(raw) + " " + sh_quote(t.file("got.qcow2")))
                .exit_code,
            0);
  glance_delete(id);
}

TEST(GlanceDownload, AnImageWithoutDataIsOneClearLine) {
  REQUIRE_GLANCE();
  // A queued image: created, never uploaded.
  RunResult c = run("curl -s -X POST -H " + sh_quote("X-Auth-Token: " + admin_token()) +
                    " -H 'Content-Type: application/json' --data " +
                    sh_quote(R"({"name":"dl-queued","disk_format":"raw","container_format":"bare"})") + " " +
                    sh_quote(env()->get("IMGTOOL_GLANCE_URL") + "/v2/images"));
  json im = json::parse(c.out, nullptr, false);
  ASSERT_TRUE(im.is_object()) << c.out;
  const std::string id = im.value("id", "");
  TempDir t;
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " download " + id + " " + sh_quote(t.file("x")));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("is 'queued', not active"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(t.file("x")));
  glance_delete(id);
  // No such image.
  r = run(clean_env(admin_vars()) + imgtool() + " download no-such-image-xyzzy " + sh_quote(t.file("x")));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("no Glance image with this id or name"), std::string::npos) << r.err;
}

// ---- --convert-to and --store ----------------------------------------------

// Creates an image with curl and uploads `file` as it is (what imgtool publish
// would refuse to send); returns the id.
std::string upload_as_is(const std::string& file, const std::string& disk_format) {
  const std::string g = env()->get("IMGTOOL_GLANCE_URL");
  const std::string auth = sh_quote("X-Auth-Token: " + admin_token());
  json body{{"name", unique_name("dl-as-is")}, {"disk_format", disk_format}, {"container_format", "bare"}};
  RunResult c = run("curl -s -X POST -H " + auth + " -H 'Content-Type: application/json' --data " +
                    sh_quote(body.dump()) + " " + sh_quote(g + "/v2/images"));
  json im = json::parse(c.out, nullptr, false);
  EXPECT_TRUE(im.is_object() && im.contains("id")) << c.out;
  if (!im.is_object() || !im.contains("id")) return "";
  const std::string id = im["id"].get<std::string>();
  RunResult u = run("curl -s -o /dev/null -w '%{http_code}' -X PUT -H " + auth +
                    " -H 'Content-Type: application/octet-stream' --data-binary @" + sh_quote(file) + " " +
                    sh_quote(g + "/v2/images/" + id + "/file"));
  EXPECT_EQ(u.out, "204") << "Glance did not take " << file;
  return id;
}

// No DST and no temporary file beside it.
void expect_nothing_written(const TempDir& t, const std::string& dst) {
  EXPECT_FALSE(std::filesystem::exists(dst)) << dst;
  for (const auto& e : std::filesystem::directory_iterator(t.path()))
    EXPECT_EQ(e.path().filename().string().find(".imgtool-"), std::string::npos) << e.path();
}

// `got` (written by imgtool) holds the same guest data as qemu-img's
// conversion `ref` of the same original, and qemu-img finds it consistent.
void expect_same_image(const std::string& fmt, const std::string& got, const std::string& ref) {
  if (fmt == "raw") {
    EXPECT_EQ(run("cmp " + sh_quote(got) + " " + sh_quote(ref)).exit_code, 0) << got;
    return;
  }
  RunResult c = run("qemu-img compare -f " + fmt + " -F " + fmt + " " + sh_quote(got) + " " + sh_quote(ref));
  EXPECT_EQ(c.exit_code, 0) << got << ": " << c.out << c.err;
  RunResult k = run("qemu-img check -f " + fmt + " " + sh_quote(got));
  EXPECT_EQ(k.exit_code, 0) << got << ": " << k.out << k.err;
}

std::string download_cmd(const std::string& args) {
  return clean_env(admin_vars()) + imgtool() + " download " + args;
}

TEST(GlanceDownloadConvert, EachFormatToEachTargetMatchesQemuImg) {
  REQUIRE_GLANCE();
  TempDir t;
  // 8 MiB: 1 MiB of data at 0, 256 KiB at 5 MiB, a 4 KiB tail at the end.
  const std::string raw = t.file("o.raw");
  run_ok("truncate -s 8M " + sh_quote(raw) + " && head -c 1M /dev/urandom | dd of=" + sh_quote(raw) +
         " conv=notrunc status=none && head -c 256K /dev/urandom | dd of=" + sh_quote(raw) +
         " bs=1K seek=5120 conv=notrunc status=none && head -c 4K /dev/urandom | dd of=" + sh_quote(raw) +
         " bs=4K seek=2047 conv=notrunc status=none");
  const std::string qcow = t.file("o.qcow2"), vmdk = t.file("o.vmdk");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  qemu_img("convert -f raw -O vmdk -o subformat=streamOptimized " + sh_quote(raw) + " " + sh_quote(vmdk));
  for (const auto& [src, src_fmt] : {std::pair{raw, "raw"}, {qcow, "qcow2"}, {vmdk, "vmdk"}}) {
    const std::string id = publish(src, unique_name("dl-conv"));
    ASSERT_FALSE(id.empty());
    const std::string md5 = run_ok("md5sum " + sh_quote(src)).substr(0, 32);
    // Without --convert-to: the bytes as they are.
    const std::string as_is = t.file("as-is");
    RunResult p = run(download_cmd(id + " " + sh_quote(as_is)));
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_EQ(run("cmp " + sh_quote(src) + " " + sh_quote(as_is)).exit_code, 0) << src;
    for (const std::string fmt : {"raw", "qcow2", "vmdk"}) {
      SCOPED_TRACE(std::string(src_fmt) + " -> " + fmt);
      const std::string ref = t.file("ref." + fmt), got = t.file("got." + fmt);
      qemu_img("convert -f " + std::string(src_fmt) + " -O " + fmt + " " + sh_quote(src) + " " +
               sh_quote(ref));
      RunResult r = run(download_cmd("--output=json --convert-to " + fmt + " " + id + " " + sh_quote(got)));
      ASSERT_EQ(r.exit_code, 0) << r.err;
      json j = json::parse(r.out);
      EXPECT_EQ(j["verified"], true);
      EXPECT_EQ(j["checksum"], md5) << "the hash is of Glance's bytes, not of the converted file";
      EXPECT_EQ(j["source_format"], src_fmt);
      EXPECT_EQ(j["converted_to"], fmt);
      EXPECT_EQ(j["virtual_size"], 8 << 20);
      EXPECT_EQ(j["bytes_written"], std::filesystem::file_size(got));
      EXPECT_EQ(j["spool_peak_file"], 0) << "an 8 MiB image in guest order needs no temporary file";
      expect_same_image(fmt, got, ref);
      std::filesystem::remove(got);
      std::filesystem::remove(ref);
    }
    std::filesystem::remove(as_is);
    glance_delete(id);
  }
}

// The example of docs/publish.md: a qcow2 in Glance straight to a
// streamOptimized vmdk for VMware.
TEST(GlanceDownloadConvert, Qcow2ToStreamOptimizedVmdk) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("o.raw"), qcow = t.file("o.qcow2");
  run_ok("truncate -s 16M " + sh_quote(raw) + " && head -c 3M /dev/urandom | dd of=" + sh_quote(raw) +
         " bs=1M seek=4 conv=notrunc status=none");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  const std::string id = publish(qcow, unique_name("dl-vmware"));
  const std::string got = t.file("for-vmware.vmdk");
  RunResult r =
      run(download_cmd("--convert-to vmdk -o subformat=streamOptimized " + id + " " + sh_quote(got)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("converted to vmdk"), std::string::npos) << r.out;
  EXPECT_NE(run_ok("qemu-img info " + sh_quote(got)).find("create type: streamOptimized"), std::string::npos);
  const std::string back = t.file("back.raw");
  qemu_img("convert -f vmdk -O raw " + sh_quote(got) + " " + sh_quote(back));
  EXPECT_EQ(run("cmp " + sh_quote(raw) + " " + sh_quote(back)).exit_code, 0);
  glance_delete(id);
}

TEST(GlanceDownloadConvert, ToStandardOutputRawStreamsOthersNeedAFile) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("o.raw"), qcow = t.file("o.qcow2");
  run_ok("truncate -s 6M " + sh_quote(raw) + " && head -c 2M /dev/urandom | dd of=" + sh_quote(raw) +
         " bs=1M seek=1 conv=notrunc status=none");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  const std::string id = publish(qcow, unique_name("dl-conv-stdout"));
  RunResult r = run(download_cmd("--convert-to raw " + id + " - | md5sum"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 32), run_ok("md5sum " + sh_quote(raw)).substr(0, 32));
  EXPECT_NE(r.err.find("converted to raw"), std::string::npos) << r.err;
  // qcow2 with its tables preallocated needs no first pass: it streams too.
  const std::string piped = t.file("piped.qcow2");
  r = run(download_cmd("--convert-to qcow2 -o preallocation=metadata " + id + " - > " + sh_quote(piped)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_same_image("qcow2", piped, qcow);
  // The writers that plan a stream's layout from a first pass: refused before any download.
  for (const std::string args :
       {"--convert-to qcow2", "--convert-to vmdk", "--convert-to vmdk -o subformat=streamOptimized"}) {
    r = run(download_cmd("--debug " + args + " " + id + " - | wc -c"));
    EXPECT_EQ(r.exit_code, 0);  // wc's status; imgtool's is in the message
    EXPECT_NE(r.err.find("cannot go to standard output"), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(r.err.find("/file"), std::string::npos) << "nothing may be downloaded: " << r.err;
    EXPECT_EQ(std::stoul(r.out), 0u) << args;
    RunResult direct = run(download_cmd(args + " " + id + " - > /dev/null"));
    EXPECT_EQ(direct.exit_code, 64) << direct.err;
  }
  // -o without --convert-to, and a format imgtool does not write.
  EXPECT_EQ(run(download_cmd("-o compat=1.1 " + id + " " + sh_quote(t.file("x")))).exit_code, 64);
  EXPECT_EQ(run(download_cmd("--convert-to vdi " + id + " " + sh_quote(t.file("x")))).exit_code, 64);
  expect_nothing_written(t, t.file("x"));
  glance_delete(id);
}

TEST(GlanceDownloadConvert, DataCorruptedInTheStoreLeavesNoDst) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("o.raw"), qcow = t.file("o.qcow2");
  run_ok("head -c 4M /dev/urandom > " + sh_quote(raw));
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  const std::string id = publish(qcow, unique_name("dl-rot"));
  ASSERT_FALSE(id.empty());
  // Bit rot in Glance's file store: one byte of guest data, well past the
  // tables (the image still reads as a valid qcow2).
  const std::string stored = env()->get("IMGTOOL_GLANCE_STATE") + "/glance/images/fast/" + id;
  ASSERT_TRUE(std::filesystem::exists(stored)) << stored;
  const std::string byte = read_file(stored).substr(3 << 20, 1);
  poke(stored, 3 << 20, std::string(1, static_cast<char>(byte[0] ^ 0x5a)));
  for (const std::string fmt : {"raw", "qcow2", "vmdk"}) {
    const std::string dst = t.file("rot." + fmt);
    RunResult r = run(download_cmd("--convert-to " + fmt + " " + id + " " + sh_quote(dst)));
    EXPECT_EQ(r.exit_code, 5) << fmt << ": " << r.err;
    EXPECT_NE(r.err.find("does not match its record"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("was not written"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    expect_nothing_written(t, dst);
  }
  // An existing DST stays as it was; the plain download refuses the same data.
  const std::string old = t.file("old");
  write_file(old, "previous content");
  EXPECT_EQ(run(download_cmd("--convert-to raw " + id + " " + sh_quote(old))).exit_code, 5);
  EXPECT_EQ(run(download_cmd(id + " " + sh_quote(old))).exit_code, 5);
  EXPECT_EQ(read_file(old), "previous content");
  glance_delete(id);

  // A record whose os_hash_value differs (the data is fine).
  const std::string id2 = publish(qcow, unique_name("dl-rewrite"));
  FaultProxy proxy(t, "--rewrite-hash");
  auto vars = admin_vars();
  vars["OS_IMAGE_ENDPOINT_OVERRIDE"] = proxy.url();
  const std::string dst = t.file("rewritten.vmdk");
  RunResult r = run(clean_env(vars) + imgtool() + " download --convert-to vmdk " + id2 + " " + sh_quote(dst));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("does not match its record: os_hash_value"), std::string::npos) << r.err;
  expect_nothing_written(t, dst);
  glance_delete(id2);
}

TEST(GlanceDownloadConvert, UnsafeOrMislabelledImagesAreRefused) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string base = t.file("base.raw"), over = t.file("over.qcow2");
  run_ok("head -c 1M /dev/urandom > " + sh_quote(base));
  qemu_img("create -q -f qcow2 -b " + sh_quote(base) + " -F raw " + sh_quote(over));
  // A vmdk descriptor whose extent is another file.
  const std::string desc = t.file("desc.vmdk");
  write_file(desc,
             "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
             "createType=\"monolithicFlat\"\n\nRW 2048 FLAT \"base-flat.vmdk\" 0\n\n"
             "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"2\"\n"
             "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n");
  struct Case {
    std::string file, disk_format, message;
    int exit_code;
  };
  const Case cases[] = {
      {over, "qcow2", "backing file", 4},
      {desc, "vmdk", "refusing to convert", 4},
      {t.file("o.qcow2"), "raw", "disk_format is 'raw' but the data is a qcow2 image", 5},
  };
  qemu_img("convert -f raw -O qcow2 " + sh_quote(base) + " " + sh_quote(t.file("o.qcow2")));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " as " + c.disk_format);
    const std::string id = upload_as_is(c.file, c.disk_format);
    ASSERT_FALSE(id.empty());
    for (const std::string fmt : {"raw", "vmdk"}) {
      const std::string dst = t.file("refused." + fmt);
      RunResult r = run(download_cmd("--convert-to " + fmt + " " + id + " " + sh_quote(dst)));
      EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
      EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      expect_nothing_written(t, dst);
    }
    RunResult r = run(download_cmd("--convert-to raw " + id + " - | wc -c"));
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::stoul(r.out), 0u) << "nothing may reach standard output before the check";
    glance_delete(id);
  }
}

TEST(GlanceDownloadConvert, StoreMustHoldTheImage) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("o.raw");
  run_ok("head -c 1M /dev/urandom > " + sh_quote(raw));
  const std::string id = publish(raw, unique_name("dl-store"));
  const std::string dst = t.file("got");
  RunResult r = run(download_cmd("--store elsewhere " + id + " " + sh_quote(dst)));
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("has no data in store 'elsewhere'; it is in: fast"), std::string::npos) << r.err;
  expect_nothing_written(t, dst);
  r = run(download_cmd("--store elsewhere --convert-to qcow2 " + id + " " + sh_quote(dst)));
  EXPECT_EQ(r.exit_code, 64) << r.err;
  expect_nothing_written(t, dst);
  r = run(download_cmd("--output=json --store fast " + id + " " + sh_quote(dst)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["stores"], json::array({"fast"}));
  EXPECT_EQ(run("cmp " + sh_quote(raw) + " " + sh_quote(dst)).exit_code, 0);
  r = run(download_cmd("--store fast --convert-to qcow2 " + id + " " + sh_quote(t.file("got.qcow2"))));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  glance_delete(id);
}

// SIGINT while the converter writes DST's temporary file: exit 130, the
// temporary file goes, the request's thread stops.
TEST(GlanceDownloadConvert, SigintMidConversionLeavesNothing) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("o.raw");
  run_ok("head -c 256M /dev/urandom > " + sh_quote(raw));  // deflate of random data takes seconds
  const std::string id = publish(raw, unique_name("dl-sigint"));
  ASSERT_FALSE(id.empty());
  const std::string out_dir = t.file("out");
  std::filesystem::create_directory(out_dir);
  const std::string pid_file = t.file("pid");
  const std::string script = download_cmd("--convert-to vmdk -o subformat=streamOptimized " + id + " " +
                                          sh_quote(out_dir + "/d.vmdk")) +
                             " & echo $! > " + sh_quote(pid_file) + "; wait $!";
  RunResult r;
  std::thread runner([&] { r = run(script); });
  // Interrupt once the temporary file holds converted data.
  bool writing = false;
  for (int i = 0; i < 600 && !writing; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (const auto& e : std::filesystem::directory_iterator(out_dir))
      writing = writing || (e.path().filename().string().find(".imgtool-") != std::string::npos &&
                            e.is_regular_file() && e.file_size() > 0);
  }
  EXPECT_TRUE(writing) << "the conversion never started writing";
  if (std::filesystem::exists(pid_file)) ::kill(std::stoi(read_file(pid_file)), SIGINT);
  runner.join();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("interrupted by SIGINT"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(out_dir));
  glance_delete(id);
}

// The spool's peaks for a 256 MiB-virtual qcow2 with 64 MiB of data, as
// qemu-img lays it out (tables first, data in guest order): the spool holds
// the metadata and what arrives ahead of the reader, never the guest data.
TEST(GlanceDownloadConvert, SpoolPeaksOf256MiBQcow2) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("o.raw"), qcow = t.file("o.qcow2");
  run_ok("truncate -s 256M " + sh_quote(raw));
  for (int i = 0; i < 8; ++i)  // 8 MiB of data every 32 MiB
    run_ok("head -c 8M /dev/urandom | dd of=" + sh_quote(raw) + " bs=1M seek=" + std::to_string(i * 32) +
           " conv=notrunc status=none");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  const std::string id = publish(qcow, unique_name("dl-peaks"));
  for (const std::string args : {"--convert-to raw", "--convert-to qcow2", "--convert-to vmdk",
                                 "--convert-to vmdk -o subformat=streamOptimized"}) {
    const std::string dst = t.file("peak.out");
    RunResult r = run(download_cmd("--output=json " + args + " " + id + " " + sh_quote(dst)));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    std::printf(
        "256 MiB-virtual qcow2 (64 MiB data, %llu bytes in Glance) %s: spool peak memory %llu, file %llu\n",
        static_cast<unsigned long long>(std::filesystem::file_size(qcow)), args.c_str(),
        j["spool_peak_memory"].get<unsigned long long>(), j["spool_peak_file"].get<unsigned long long>());
    EXPECT_LT(j["spool_peak_memory"].get<uint64_t>(), uint64_t{16} << 20) << args;
    EXPECT_EQ(j["spool_peak_file"], 0) << args;
    std::filesystem::remove(dst);
  }
  glance_delete(id);
}

}  // namespace
}  // namespace imgtool::test::glance
