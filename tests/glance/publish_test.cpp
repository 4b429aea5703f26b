// imgtool publish against the real Keystone + Glance of tests/glance/glance-dev.sh.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "glance/glance_env.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;

std::string imgtool() {
  return sh_quote(imgtool_bin());
}

// A 3 MiB raw disk with data at three places and holes between.
std::string make_raw(const TempDir& t) {
  std::string raw = t.file("disk.raw");
  qemu_img("create -f raw " + sh_quote(raw) + " 3M");
  qemu_io(raw, "raw", "write -P 0x5a 0 256k");
  qemu_io(raw, "raw", "write -P 0x17 1M 64k");
  qemu_io(raw, "raw", "write -P 0xc3 2944k 128k");
  return raw;
}

std::string md5sum(const std::string& f) {
  return first_word(run_ok("md5sum " + sh_quote(f)));
}
std::string sha512sum(const std::string& f) {
  return first_word(run_ok("sha512sum " + sh_quote(f)));
}

struct Published {
  RunResult run;
  json out;
  std::string id() const { return out.is_object() ? out.value("id", "") : ""; }
};

Published publish(const std::string& envp, const std::string& args) {
  Published p;
  p.run = run(envp + imgtool() + " publish --output=json " + args);
  p.out = json::parse(p.run.out, nullptr, false);
  return p;
}

TEST(GlancePublish, QcowRawVmdkActiveWithTheSentHashesAndBytes) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_raw(t);
  std::string qcow = t.file("disk.qcow2"), vmdk = t.file("disk.vmdk");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  qemu_img("convert -f raw -O vmdk -o subformat=streamOptimized " + sh_quote(raw) + " " + sh_quote(vmdk));
  const std::string e = clean_env(admin_vars());
  struct Case {
    std::string file, fmt;
  } cases[] = {{qcow, "qcow2"}, {raw, "raw"}, {vmdk, "vmdk"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fmt);
    std::string name = unique_name(c.fmt);
    Published p =
        publish(e, sh_quote(c.file) + " --name " + name + " --private --tag t1 --property os_distro=cirros");
    ASSERT_EQ(p.run.exit_code, 0) << p.run.err;
    ASSERT_FALSE(p.id().empty()) << p.run.out;
    EXPECT_EQ(p.out["disk_format"], c.fmt);
    EXPECT_EQ(p.out["verified_hash_algo"], "sha512");
    // The real openstackclient's view.
    RunResult show = run(e + "openstack image show -f json " + p.id());
    ASSERT_EQ(show.exit_code, 0) << show.err;
    json s = json::parse(show.out, nullptr, false);
    ASSERT_TRUE(s.is_object()) << show.out;
    EXPECT_EQ(s["status"], "active");
    EXPECT_EQ(s["disk_format"], c.fmt);
    EXPECT_EQ(s["visibility"], "private");
    EXPECT_EQ(s["checksum"], md5sum(c.file));
    // openstackclient 6 lists os_hash_* under "properties".
    const json& props = s.contains("os_hash_value") ? s : s["properties"];
    EXPECT_EQ(props["os_hash_algo"], "sha512");
    EXPECT_EQ(props["os_hash_value"], sha512sum(c.file));
    EXPECT_EQ(s["size"].get<uint64_t>(), std::filesystem::file_size(c.file));
    // The stored bytes are the file's bytes.
    std::string back = t.file("back." + c.fmt);
    if (c.fmt == "qcow2")
      run_ok(e + "openstack image save --file " + sh_quote(back) + " " + p.id());
    else
      glance_download(p.id(), back);
    EXPECT_EQ(read_file(back), read_file(c.file));
    glance_delete(p.id());
  }
}

TEST(GlancePublish, HumanOutputLooksLikeImageShow) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_raw(t);
  std::string name = unique_name("human");
  RunResult r = run(clean_env(admin_vars()) + imgtool() + " publish " + sh_quote(raw) + " --name " + name);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| status           | active"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| checksum         | " + md5sum(raw)), std::string::npos) << r.out;
  json list = glance_get("images?name=" + name);
  ASSERT_EQ(list["images"].size(), 1u);
  EXPECT_EQ(list["images"][0]["visibility"], "shared");  // Glance's default
  glance_delete(list["images"][0]["id"]);
}

TEST(GlancePublish, ExplicitFormatContradictingTheBytesIsRefusedLocally) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string qcow = t.file("d.qcow2");
  qemu_img("create -f qcow2 " + sh_quote(qcow) + " 1M");
  std::string name = unique_name("contra");
  Published p = publish(clean_env(admin_vars()), sh_quote(qcow) + " --disk-format raw --name " + name);
  EXPECT_EQ(p.run.exit_code, 5) << p.run.err;
  EXPECT_NE(p.run.err.find("--disk-format raw contradicts the bytes: they are a qcow2 image"),
            std::string::npos)
      << p.run.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlancePublish, BackingFileImageIsRefusedAndNothingCreated) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string base = t.file("base.raw"), top = t.file("top.qcow2");
  qemu_img("create -f raw " + sh_quote(base) + " 1M");
  qemu_img("create -f qcow2 -b " + sh_quote(base) + " -F raw " + sh_quote(top));
  std::string name = unique_name("backing");
  Published p = publish(clean_env(admin_vars()), sh_quote(top) + " --name " + name);
  EXPECT_EQ(p.run.exit_code, 4) << p.run.err;
  EXPECT_NE(p.run.err.find("base.raw"), std::string::npos) << p.run.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlancePublish, DemoCannotPublishPublicAndNothingIsLeft) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_raw(t);
  std::string name = unique_name("demo-public");
  EXPECT_EQ(count_named(name), 0u);
  Published p = publish(clean_env(password_vars("DEMO")), sh_quote(raw) + " --public --name " + name);
  EXPECT_EQ(p.run.exit_code, 7) << p.run.err;
  EXPECT_NE(p.run.err.find("HTTP 403 Forbidden: You are not authorized to complete publicize_image action."),
            std::string::npos)
      << p.run.err;
  EXPECT_EQ(std::count(p.run.err.begin(), p.run.err.end(), '\n'), 1) << p.run.err;
  // A refused create made nothing: no cleanup to report.
  EXPECT_EQ(p.run.err.find("deleted"), std::string::npos) << p.run.err;
  EXPECT_EQ(p.run.err.find("does not exist in Glance"), std::string::npos) << p.run.err;
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlancePublish, DryRunSendsNothingAndShowsTheDigests) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_raw(t);
  std::string name = unique_name("dry");
  // Credentials pointing nowhere: a dry run must not need them.
  Published p = publish(clean_env({{"OS_AUTH_URL", "http://127.0.0.1:9/v3"}}),
                        sh_quote(raw) + " --dry-run --name " + name);
  ASSERT_EQ(p.run.exit_code, 0) << p.run.err;
  EXPECT_EQ(p.out["local_md5"], md5sum(raw));
  EXPECT_EQ(p.out["local_sha512"], sha512sum(raw));
  EXPECT_EQ(p.out["request"]["disk_format"], "raw");
  EXPECT_EQ(count_named(name), 0u);
}

TEST(GlancePublish, ConvertToRawStoresWhatQemuImgConvertWrites) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_raw(t);
  std::string qcow = t.file("c.qcow2"), expect = t.file("expect.raw"), back = t.file("back.raw");
  qemu_img("convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  qemu_img("convert -f qcow2 -O raw " + sh_quote(qcow) + " " + sh_quote(expect));
  std::string name = unique_name("convert");
  Published p = publish(clean_env(admin_vars()), sh_quote(qcow) + " --convert-to raw --name " + name);
  ASSERT_EQ(p.run.exit_code, 0) << p.run.err;
  EXPECT_EQ(p.out["disk_format"], "raw");
  EXPECT_EQ(p.out["checksum"], md5sum(expect));
  EXPECT_EQ(p.out["os_hash_value"], sha512sum(expect));
  glance_download(p.id(), back);
  EXPECT_EQ(read_file(back), read_file(expect));
  // No temporary file next to the source or in the working directory.
  size_t files = 0;
  for (auto& f : std::filesystem::directory_iterator(t.path())) (void)f, ++files;
  EXPECT_EQ(files, 4u);
  glance_delete(p.id());
}

TEST(GlancePublish, ConvertToQcow2AndVmdkStreamsValidImages) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = make_raw(t);
  for (std::string fmt : {"qcow2", "vmdk"}) {
    SCOPED_TRACE(fmt);
    std::string back = t.file("back." + fmt);
    Published p = publish(clean_env(admin_vars()),
                          sh_quote(raw) + " --convert-to " + fmt + " --name " + unique_name(fmt));
    ASSERT_EQ(p.run.exit_code, 0) << p.run.err;
    EXPECT_EQ(p.out["disk_format"], fmt);
    EXPECT_EQ(p.out["verified_hash_algo"], "sha512");
    glance_download(p.id(), back);
    run_ok("qemu-img compare -f raw -F " + fmt + " " + sh_quote(raw) + " " + sh_quote(back));
    glance_delete(p.id());
  }
}

TEST(GlancePublish, ImportWaitReuseExistingAndChecksumVerify) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = t.file("u.raw"), other = t.file("o.raw");
  run_ok("head -c 700000 /dev/urandom > " + sh_quote(raw) + "; head -c 1000 /dev/urandom > " +
         sh_quote(other));
  const std::string e = clean_env(admin_vars());
  std::string name = unique_name("import");
  // Stage + import (glance-direct), waiting for active and verifying.
  Published p = publish(e, sh_quote(raw) + " --import --wait --name " + name);
  ASSERT_EQ(p.run.exit_code, 0) << p.run.err;
  EXPECT_EQ(p.out["status"], "active");
  EXPECT_EQ(p.out["verified_hash_algo"], "sha512");
  // Same bytes again: the existing image is returned, nothing new is created.
  Published again = publish(e, sh_quote(raw) + " --reuse-existing --name " + name);
  ASSERT_EQ(again.run.exit_code, 0) << again.run.err;
  EXPECT_EQ(again.out["reused"], true);
  EXPECT_EQ(again.id(), p.id());
  EXPECT_EQ(count_named(name), 1u);
  // checksum --verify through the same client: match, then a mismatch.
  RunResult ok = run(e + imgtool() + " checksum --verify " + p.id() + " " + sh_quote(raw));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  RunResult bad = run(e + imgtool() + " checksum --verify " + p.id() + " " + sh_quote(other));
  EXPECT_EQ(bad.exit_code, 5) << bad.err;
  EXPECT_NE(bad.err.find("size: local 1000, Glance 700000"), std::string::npos) << bad.err;
  glance_delete(p.id());
}

// With --reuse-existing the digests are known before the upload, so the image
// carries openstacksdk's owner_specified.openstack.{md5,sha256,object}.
TEST(GlancePublish, ReuseExistingMissUploadsWithTheSdkOwnerSpecifiedDigests) {
  REQUIRE_GLANCE();
  TempDir t;
  std::string raw = t.file("fresh.raw");
  run_ok("head -c 300000 /dev/urandom > " + sh_quote(raw));
  std::string name = unique_name("owner-specified");
  Published p = publish(clean_env(admin_vars()), sh_quote(raw) + " --reuse-existing --name " + name);
  ASSERT_EQ(p.run.exit_code, 0) << p.run.err;
  EXPECT_NE(p.out.value("reused", false), true);
  json im = glance_get("images/" + p.id());
  ASSERT_TRUE(im.is_object());
  EXPECT_EQ(im.value("owner_specified.openstack.md5", ""), md5sum(raw));
  EXPECT_EQ(im.value("owner_specified.openstack.sha256", ""),
            first_word(run_ok("sha256sum " + sh_quote(raw))));
  EXPECT_EQ(im.value("owner_specified.openstack.object", ""), "images/" + name);
  EXPECT_EQ(im.value("checksum", ""), md5sum(raw));
  glance_delete(p.id());
}

}  // namespace
}  // namespace imgtool::test::glance
