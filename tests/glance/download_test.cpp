// imgtool download against the real Glance: byte-exact for each format,
// sparse, atomic, standard output, a record that does not match the data
// (tests/glance/fault_proxy.py --rewrite-hash) leaves no file, and an image
// without data is one clear line.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace imgtool::test::glance
