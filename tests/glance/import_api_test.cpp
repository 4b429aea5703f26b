// Interoperable import through the library's ImportApi, against the real
// harness (glance-dev.sh): the main Glance's three stores (fast, slow, cold),
// a store made to fail (break-store), web-download from the harness's web
// server, copy-image as admin and as a member, and glance-two's
// image_conversion plugin. Every outcome is read from Glance itself (image
// record, tasks, store directories); every image made is deleted.
//
// The Glance tests run serially (tests/CMakeLists.txt: RUN_SERIAL), so no
// other test writes to "slow" while it is broken; TearDown mends it.
#include "glance/import_api.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <thread>

#include "glance/credentials.hpp"
#include "glance/glance_env.hpp"
#include "glance/images_api.hpp"
#include "glance/keystone.hpp"
#include "imgtool/error.hpp"
#include "support/test_util.hpp"

namespace imgtool::test::glance {
namespace {

using nlohmann::json;
namespace g = ::imgtool::glance;
using namespace std::chrono_literals;

// One identity's session on one region, with both API clients.
struct Client {
  Client(const std::string& who /* ADMIN or DEMO */, const std::string& region)
      : session(credentials(who, region)), images(session), imports(images) {}
  static g::Credentials credentials(const std::string& who, const std::string& region) {
    const Env& e = *env();
    g::Credentials c;
    c.auth_url = e.get("IMGTOOL_GLANCE_KEYSTONE_URL");
    c.username = e.get("IMGTOOL_GLANCE_" + who + "_USERNAME");
    c.password = e.get("IMGTOOL_GLANCE_" + who + "_PASSWORD");
    c.project_name = e.get("IMGTOOL_GLANCE_" + who + "_PROJECT");
    c.user_domain_name = "Default";
    c.project_domain_name = "Default";
    c.region = region;
    c.source = "test";
    return c;
  }
  g::Session session;
  g::ImagesApi images;
  g::ImportApi imports;
};

g::BodyReader body_of(std::string data) {
  auto pos = std::make_shared<size_t>(0);
  return [data = std::move(data), pos](std::span<std::byte> out) -> size_t {
    size_t n = std::min(out.size(), data.size() - *pos);
    std::memcpy(out.data(), data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string md5_of(const std::string& path) {
  return first_word(run_ok("md5sum " + sh_quote(path)));
}

// Glance's task times (UTC, microseconds, no zone:
// "2026-12-02T20:47:54.234565") and now, as seconds since the epoch.
double unix_seconds(const std::string& glance_time) {
  std::tm tm{};
  int usec = 0;
  if (sscanf(glance_time.c_str(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &usec) < 6)
    return -1e9;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + usec / 1e6;
}
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// How long after Glance ended the import's task (its last updated_at) the
// watcher had its answer, `detected`: negative when the watcher saw the
// failed store before the task ended. Waits up to 30 s for the (newest)
// task to end; `status` gets its final status.
double detection_lag(g::ImportApi& api, const std::string& id, double detected, std::string& status) {
  for (int i = 0; i < 300; ++i) {
    json t = api.tasks(id);
    const json* newest = nullptr;
    for (const auto& task : t["tasks"])
      if (newest == nullptr || task.value("created_at", "") > newest->value("created_at", "")) newest = &task;
    status = newest != nullptr ? newest->value("status", "") : "";
    if (status == "success" || status == "failure")
      return detected - unix_seconds(newest->value("updated_at", ""));
    std::this_thread::sleep_for(100ms);
  }
  return 1e9;
}

// A field of an image record, "" / -1 when absent or null (a failed
// import's record has nulls where an active one has values).
std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class GlanceImport : public ::testing::Test {
 protected:
  void SetUp() override {
    if (env() == nullptr) return;
    admin_ = std::make_unique<Client>("ADMIN", env()->get("IMGTOOL_GLANCE_REGION"));
    data_ = run_ok("head -c 1048576 /dev/urandom | base64 -w0").substr(0, 1 << 20);
  }
  void TearDown() override {
    if (env() == nullptr) return;
    if (broke_slow_) mend_store("slow");
    for (const auto& [id, base] : made_) glance_delete(id, base);
    for (const auto& [id, base] : made_) {
      json j = glance_get("images/" + id, base);
      EXPECT_TRUE(j.is_discarded() || !j.contains("id")) << "image " << id << " left behind: " << j.dump();
    }
    for (const auto& f : web_files_) std::filesystem::remove(f);
  }
  // A new image (queued) on `c`'s Glance, deleted in TearDown.
  std::string create(Client& c, const std::string& disk_format = "raw") {
    json im = c.images.create(
        {{"name", unique_name("import")}, {"disk_format", disk_format}, {"container_format", "bare"}});
    std::string id = im.value("id", "");
    made_.emplace_back(id, c.images.base_url());
    return id;
  }
  std::string staged(Client& c, const std::string& data, const std::string& disk_format = "raw") {
    std::string id = create(c, disk_format);
    c.images.upload(id, body_of(data), data.size(), true);
    return id;
  }
  void break_slow() {
    broke_slow_ = true;
    break_store("slow");
  }
  std::string store_file(const std::string& store, const std::string& id) {
    return env()->get("IMGTOOL_GLANCE_STATE") + "/glance/images/" + store + "/" + id;
  }

  std::unique_ptr<Client> admin_;
  std::string data_;
  std::vector<std::pair<std::string, std::string>> made_;  // id, Glance base URL
  std::vector<std::string> web_files_;
  bool broke_slow_ = false;
};

TEST_F(GlanceImport, MethodsAndStoresAreListedFastIsTheDefault) {
  REQUIRE_GLANCE();
  auto methods = admin_->imports.import_methods();
  for (const char* m : {"glance-direct", "web-download", "copy-image"}) EXPECT_TRUE(has(methods, m)) << m;
  auto stores = admin_->imports.stores();
  std::vector<std::string> ids;
  for (const auto& s : stores) ids.push_back(s.id);
  EXPECT_EQ(ids, glance_stores());
  ASSERT_EQ(ids, (std::vector<std::string>{"fast", "slow", "cold"}));
  EXPECT_TRUE(stores[0].is_default);
  EXPECT_FALSE(stores[1].is_default);
  EXPECT_FALSE(stores[2].is_default);
  EXPECT_EQ(stores[0].description, "Fast store (the default)");
  EXPECT_FALSE(stores[0].read_only);

  Client two("ADMIN", glance_two_region());
  EXPECT_EQ(two.images.base_url(), glance_two_url());
  auto two_stores = two.imports.stores();
  ASSERT_EQ(two_stores.size(), 2u);
  EXPECT_EQ(two_stores[0].id, "east");
  EXPECT_TRUE(two_stores[0].is_default);
  EXPECT_EQ(two_stores[1].id, "west");
}

TEST_F(GlanceImport, GlanceDirectToFastAndColdLandsInBoth) {
  REQUIRE_GLANCE();
  std::string id = staged(*admin_, data_);
  g::ImportRequest req;
  req.stores = {"fast", "cold"};
  g::validate_import(admin_->imports.import_methods(), admin_->imports.stores(), req);
  std::string rid = admin_->imports.import(id, req);
  EXPECT_EQ(rid.rfind("req-", 0), 0u) << rid;
  g::ImportOutcome o = admin_->imports.wait_for_import(id, req, 60s);
  EXPECT_EQ(o.result, g::ImportResult::Success) << o.image.dump();
  EXPECT_EQ(o.status(), "active");
  EXPECT_EQ(o.landed, (std::vector<std::string>{"fast", "cold"}));
  EXPECT_TRUE(o.failed.empty());
  EXPECT_EQ(o.task_status, "success");
  EXPECT_EQ(number(o.image, "size"), static_cast<int64_t>(data_.size()));
  // The bytes are in both store directories, and nowhere else.
  EXPECT_EQ(read_all(store_file("fast", id)), data_);
  EXPECT_EQ(read_all(store_file("cold", id)), data_);
  EXPECT_FALSE(std::filesystem::exists(store_file("slow", id)));
}

TEST_F(GlanceImport, FailingStoreWithAllMustSucceedIsATotalFailureSeenAtOnce) {
  REQUIRE_GLANCE();
  std::string id = staged(*admin_, data_);
  break_slow();
  g::ImportRequest req;
  req.stores = {"fast", "slow"};
  req.all_stores_must_succeed = true;
  admin_->imports.import(id, req);
  g::ImportOutcome o = admin_->imports.wait_for_import(id, req, 60s);
  std::string task_status;
  const double lag = detection_lag(admin_->imports, id, now_seconds(), task_status);
  EXPECT_EQ(o.result, g::ImportResult::Failure) << o.image.dump();
  EXPECT_EQ(o.failed, std::vector<std::string>{"slow"});
  EXPECT_EQ(o.status(), "importing");  // Glance leaves it there: only the store and the task tell
  // The failed store often shows before the task ends: the outcome may come first.
  EXPECT_EQ(task_status, "failure");
  EXPECT_LT(lag, 2.0) << "seen " << lag << " s after Glance ended the task";
  std::cerr << "slow failing, all_stores_must_succeed: seen " << lag << " s after the task ended\n";
}

TEST_F(GlanceImport, FailingStoreWithoutAllMustSucceedIsAPartialSuccess) {
  REQUIRE_GLANCE();
  std::string id = staged(*admin_, data_);
  break_slow();
  g::ImportRequest req;
  req.stores = {"fast", "slow"};
  req.all_stores_must_succeed = false;
  admin_->imports.import(id, req);
  g::ImportOutcome o = admin_->imports.wait_for_import(id, req, 60s);
  std::string task_status;
  const double lag = detection_lag(admin_->imports, id, now_seconds(), task_status);
  EXPECT_EQ(o.result, g::ImportResult::Partial) << o.image.dump();
  EXPECT_EQ(o.status(), "active");
  EXPECT_EQ(o.landed, std::vector<std::string>{"fast"});
  EXPECT_EQ(o.failed, std::vector<std::string>{"slow"});
  EXPECT_EQ(read_all(store_file("fast", id)), data_);
  EXPECT_EQ(task_status, "success");  // Glance's word for a partial import
  EXPECT_LT(lag, 2.0) << "seen " << lag << " s after Glance ended the task";
  std::cerr << "slow failing, partial: seen " << lag << " s after the task ended\n";
}

TEST_F(GlanceImport, OnlyStoreFailingSendsTheImageBackToQueued) {
  REQUIRE_GLANCE();
  std::string id = staged(*admin_, data_);
  break_slow();
  g::ImportRequest req;
  req.stores = {"slow"};
  req.all_stores_must_succeed = false;
  admin_->imports.import(id, req);
  auto t0 = std::chrono::steady_clock::now();
  g::ImportOutcome o = admin_->imports.wait_for_import(id, req, 60s);
  EXPECT_EQ(o.result, g::ImportResult::Failure) << o.image.dump();
  EXPECT_EQ(o.status(), "queued");
  EXPECT_TRUE(o.landed.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
}

TEST_F(GlanceImport, UnknownStoreAndMethodAreRefusedBeforeAnythingIsCreated) {
  REQUIRE_GLANCE();
  auto methods = admin_->imports.import_methods();
  auto stores = admin_->imports.stores();
  g::ImportRequest req;
  req.stores = {"fast", "nosuch"};
  try {
    g::validate_import(methods, stores, req);
    ADD_FAILURE() << "an unknown store passed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(e.message().find("'nosuch'"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("fast (default), slow, cold"), std::string::npos) << e.message();
  }
  g::ImportRequest m;
  m.method = "glance-download";
  try {
    g::validate_import(methods, stores, m);
    ADD_FAILURE() << "an unsupported method passed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(e.message().find("'glance-download'"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("glance-direct, web-download, copy-image"), std::string::npos) << e.message();
  }
  // Without the check, Glance itself says 409: one line with its message.
  std::string id = staged(*admin_, data_);
  try {
    admin_->imports.import(id, req);
    ADD_FAILURE() << "Glance accepted an unknown store";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("HTTP 409 Conflict"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("nosuch"), std::string::npos) << e.message();
    EXPECT_EQ(e.message().find('\n'), std::string::npos) << e.message();
  }
}

TEST_F(GlanceImport, WebDownloadFromTheWebDirLands) {
  REQUIRE_GLANCE();
  const std::string name = unique_name("web") + ".raw";
  const std::string file = web_dir() + "/" + name;
  web_files_.push_back(file);
  {
    std::ofstream out(file, std::ios::binary);
    out << data_;
  }
  std::string id = create(*admin_);
  g::ImportRequest req;
  req.method = "web-download";
  req.uri = web_url() + "/" + name;
  g::validate_import(admin_->imports.import_methods(), admin_->imports.stores(), req);
  admin_->imports.import(id, req);
  g::ImportOutcome o = admin_->imports.wait_for_import(id, req, 60s);
  EXPECT_EQ(o.result, g::ImportResult::Success) << o.image.dump() << " " << o.task_message;
  EXPECT_EQ(o.landed, std::vector<std::string>{"fast"});
  EXPECT_EQ(text(o.image, "checksum"), md5_of(file));
  EXPECT_EQ(read_all(store_file("fast", id)), data_);
}

TEST_F(GlanceImport, WebDownloadOfA404IsAFailureAndAFilteredUrlIsRefused) {
  REQUIRE_GLANCE();
  std::string id = create(*admin_);
  g::ImportRequest req;
  req.method = "web-download";
  req.uri = web_url() + "/" + unique_name("missing") + ".raw";
  admin_->imports.import(id, req);
  g::ImportOutcome o = admin_->imports.wait_for_import(id, req, 60s);
  EXPECT_EQ(o.result, g::ImportResult::Failure) << o.image.dump();
  // What Glance 25.1 does: the task fails with the HTTP error, the image
  // goes back to queued.
  EXPECT_EQ(o.task_status, "failure") << o.image.dump();
  EXPECT_EQ(o.status(), "queued") << o.image.dump();
  RecordProperty("web_download_404", o.status() + " / task: " + o.task_message);
  std::cerr << "web-download of a 404: image " << o.status() << ", task " << o.task_status << ": "
            << o.task_message << "\n";

  // A port outside [import_filtering_opts]: Glance says no at once.
  std::string id2 = create(*admin_);
  g::ImportRequest bad = req;
  bad.uri = "http://127.0.0.1:1/x.raw";
  try {
    admin_->imports.import(id2, bad);
    ADD_FAILURE() << "Glance accepted a filtered URL";
  } catch (const Error& e) {
    EXPECT_EQ(e.message().rfind("Glance refused the URL: http://127.0.0.1:1/x.raw: ", 0), 0u) << e.message();
    EXPECT_NE(e.message().find("filtering"), std::string::npos) << e.message();
  }
}

TEST_F(GlanceImport, CopyImageAsAdminAddsAStore) {
  REQUIRE_GLANCE();
  std::string id = staged(*admin_, data_);
  g::ImportRequest first;
  admin_->imports.import(id, first);
  ASSERT_EQ(admin_->imports.wait_for_import(id, first, 60s).result, g::ImportResult::Success);
  g::ImportRequest copy;
  copy.method = "copy-image";
  copy.stores = {"cold"};
  g::validate_import(admin_->imports.import_methods(), admin_->imports.stores(), copy);
  admin_->imports.import(id, copy);
  g::ImportOutcome o = admin_->imports.wait_for_import(id, copy, 60s);
  EXPECT_EQ(o.result, g::ImportResult::Success) << o.image.dump();
  EXPECT_EQ(o.landed, std::vector<std::string>{"cold"});
  EXPECT_EQ(g::split_store_list(text(o.image, "stores")), (std::vector<std::string>{"fast", "cold"}));
  EXPECT_EQ(read_all(store_file("cold", id)), data_);
  // The copy's own task, not the first import's.
  json tasks = admin_->imports.tasks(id);
  EXPECT_EQ(tasks["tasks"].size(), 2u);
}

TEST_F(GlanceImport, CopyImageAsMemberIsOneLineNamingTheAdminRole) {
  REQUIRE_GLANCE();
  Client demo("DEMO", env()->get("IMGTOOL_GLANCE_REGION"));
  std::string id = create(demo);
  demo.images.upload(id, body_of(data_), data_.size(), false);
  g::ImportRequest copy;
  copy.method = "copy-image";
  copy.stores = {"cold"};
  try {
    demo.imports.import(id, copy);
    ADD_FAILURE() << "a member could copy an image";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("HTTP 403 Forbidden"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("copy-image needs the admin role under Glance's default policy"),
              std::string::npos)
        << e.message();
    EXPECT_EQ(e.message().find('\n'), std::string::npos) << e.message();
  }
  EXPECT_EQ(g::split_store_list(text(glance_get("images/" + id), "stores")),
            std::vector<std::string>{"fast"});
}

TEST_F(GlanceImport, GlanceTwoConvertsAQcow2ImportToRaw) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("a.raw"), qcow = t.file("a.qcow2");
  {
    std::ofstream out(raw, std::ios::binary);
    out << data_ << std::string(1 << 20, '\0');  // 2 MiB, half of it zeros
  }
  run_ok("qemu-img convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  const std::string qdata = read_all(qcow);
  ASSERT_NE(qdata.size(), std::filesystem::file_size(raw));
  Client two("ADMIN", glance_two_region());
  std::string id = staged(two, qdata, "qcow2");
  g::ImportRequest req;
  two.imports.import(id, req);
  g::ImportOutcome o = two.imports.wait_for_import(id, req, 120s);
  EXPECT_EQ(o.result, g::ImportResult::Success) << o.image.dump() << " " << o.task_message;
  EXPECT_EQ(text(o.image, "disk_format"), "raw");
  EXPECT_EQ(number(o.image, "size"), static_cast<int64_t>(std::filesystem::file_size(raw)));
  EXPECT_EQ(number(o.image, "virtual_size"), static_cast<int64_t>(std::filesystem::file_size(raw)));
  EXPECT_EQ(text(o.image, "checksum"), md5_of(raw));
  EXPECT_EQ(o.landed, std::vector<std::string>{"east"});
}

TEST_F(GlanceImport, GlanceTwoCorruptQcow2FailsAndOnlyTheTaskSaysSo) {
  REQUIRE_GLANCE();
  TempDir t;
  const std::string raw = t.file("a.raw"), qcow = t.file("a.qcow2");
  {
    std::ofstream out(raw, std::ios::binary);
    out << data_;
  }
  run_ok("qemu-img convert -f raw -O qcow2 " + sh_quote(raw) + " " + sh_quote(qcow));
  // A qcow2 header whose L1 table offset is not cluster-aligned: qemu-img
  // refuses to open it ("L1 table offset invalid"), so the conversion fails.
  std::string qdata = read_all(qcow);
  ASSERT_GT(qdata.size(), 48u);
  const unsigned char odd[8] = {0, 0, 0, 0, 0, 1, 0, 1};  // 0x10001, big-endian
  std::memcpy(qdata.data() + 40, odd, 8);                 // l1_table_offset
  {
    std::ofstream bad(qcow + ".bad", std::ios::binary);
    bad << qdata;
  }
  ASSERT_NE(run("qemu-img info " + sh_quote(qcow + ".bad") + " 2>&1").exit_code, 0);
  Client two("ADMIN", glance_two_region());
  std::string id = staged(two, qdata, "qcow2");
  g::ImportRequest req;
  two.imports.import(id, req);
  g::ImportOutcome o = two.imports.wait_for_import(id, req, 120s);
  EXPECT_EQ(o.result, g::ImportResult::Failure) << o.image.dump();
  EXPECT_EQ(o.task_status, "failure");
  EXPECT_FALSE(o.task_message.empty());
  EXPECT_TRUE(o.failed.empty()) << o.image.dump();  // os_glance_failed_import says nothing
  std::cerr << "corrupt qcow2 on glance-two: image " << o.status() << ", task: " << o.task_message << "\n";
}

}  // namespace
}  // namespace imgtool::test::glance
