#pragma once
// The test side of tests/glance/glance-dev.sh: reads the env file named by
// IMGTOOL_GLANCE_ENV (its `export NAME='value'` lines), builds clean
// environments for imgtool/openstack, and talks to Glance with curl for checks
// (an `openstack` call costs ~1.7 s; curl ~10 ms).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.hpp"

namespace imgtool::test::glance {

struct Env {
  std::map<std::string, std::string> vars;
  std::string get(const std::string& k) const {
    auto it = vars.find(k);
    return it == vars.end() ? std::string() : it->second;
  }
};

// Why there is no Glance to test against; empty when env() is usable.
inline std::string& env_missing_reason() {
  static std::string why;
  return why;
}

// nullptr when there is no Glance to test against (env_missing_reason() says why).
inline const Env* env() {
  static Env e;
  static bool loaded = false;
  static bool ok = false;
  if (!loaded) {
    loaded = true;
    const char* p = std::getenv("IMGTOOL_GLANCE_ENV");
    if (p == nullptr || *p == '\0') {
      env_missing_reason() = "IMGTOOL_GLANCE_ENV is not set";
      return nullptr;
    }
    std::ifstream in(p);
    if (!in) {
      env_missing_reason() = std::string("IMGTOOL_GLANCE_ENV=") + p + " cannot be read";
      return nullptr;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("export ", 0) != 0) continue;
      auto eq = line.find('=');
      if (eq == std::string::npos || line.size() < eq + 3 || line[eq + 1] != '\'' || line.back() != '\'')
        continue;
      e.vars[line.substr(7, eq - 7)] = line.substr(eq + 2, line.size() - eq - 3);
    }
    ok = !e.get("IMGTOOL_GLANCE_URL").empty();
    if (!ok) env_missing_reason() = std::string("IMGTOOL_GLANCE_ENV=") + p + " defines no IMGTOOL_GLANCE_URL";
  }
  return ok ? &e : nullptr;
}

// What to do when Glance is missing.
inline constexpr const char* kStartGlanceHint =
    "run scripts/deps.sh test, tests/glance/glance-dev.sh start and set "
    "IMGTOOL_GLANCE_ENV=tests/glance/.state/env (scripts/test.sh does all three), or leave the Glance "
    "tests out with ctest -LE glance";

// In a test body: fails without Glance. Never a skip: ctest counts a skipped
// test as passed, so a run without Glance would look like a tested one.
// Not wanting these tests is said with ctest -LE glance (scripts/test.sh does
// that under IMGTOOL_TEST_SKIP=glance).
#define REQUIRE_GLANCE()                                                               \
  do {                                                                                 \
    if (::imgtool::test::glance::env() == nullptr)                                     \
      FAIL() << "no Glance: " << ::imgtool::test::glance::env_missing_reason() << ": " \
             << ::imgtool::test::glance::kStartGlanceHint;                             \
  } while (0)

// `env -i` prefix with only PATH, a throw-away HOME (no stray clouds.yaml)
// and the given variables.
inline std::string clean_env(const std::map<std::string, std::string>& vars) {
  std::string s =
      "env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent-home";
  for (const auto& [k, v] : vars) s += " " + k + "=" + sh_quote(v);
  return s + " ";
}

// The harness's layout (glance-dev.sh header): the main Glance's stores
// ("fast slow cold", the first is the default), glance-two (RegionTwo: its own
// database, stores "east west", image_conversion to raw) and the web server
// that web-download imports fetch from (files dropped into web_dir()).
inline std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}
inline std::string glance_url() {
  return env()->get("IMGTOOL_GLANCE_URL");
}
inline std::vector<std::string> glance_stores() {
  return split_words(env()->get("IMGTOOL_GLANCE_STORES"));
}
inline std::string glance_two_url() {
  return env()->get("IMGTOOL_GLANCE_TWO_URL");
}
inline std::string glance_two_region() {
  return env()->get("IMGTOOL_GLANCE_TWO_REGION");
}
inline std::vector<std::string> glance_two_stores() {
  return split_words(env()->get("IMGTOOL_GLANCE_TWO_STORES"));
}
inline std::string web_dir() {
  return env()->get("IMGTOOL_GLANCE_WEB_DIR");
}
inline std::string web_url() {
  return env()->get("IMGTOOL_GLANCE_WEB_URL");
}

// glance-dev.sh break-store / mend-store on this harness's state: the
// store's directory becomes a regular file (every write to it fails), or an
// empty directory again. `two`: a store of glance-two.
inline void glance_dev(const std::string& args) {
  run_ok("IMGTOOL_GLANCE_STATE=" + sh_quote(env()->get("IMGTOOL_GLANCE_STATE")) + " bash " +
         sh_quote(std::string(IMGTOOL_SOURCE_DIR) + "/tests/glance/glance-dev.sh") + " " + args);
}
inline void break_store(const std::string& name, bool two = false) {
  glance_dev("break-store " + sh_quote(name) + (two ? " two" : ""));
}
inline void mend_store(const std::string& name, bool two = false) {
  glance_dev("mend-store " + sh_quote(name) + (two ? " two" : ""));
}

// OS_* variables of ADMIN or DEMO; `region` empty: the main Glance's
// (RegionOne), glance_two_region() for glance-two.
inline std::map<std::string, std::string> password_vars(const std::string& who /* ADMIN or DEMO */,
                                                        const std::string& region = "") {
  const Env& e = *env();
  return {{"OS_AUTH_URL", e.get("IMGTOOL_GLANCE_KEYSTONE_URL")},
          {"OS_IDENTITY_API_VERSION", "3"},
          {"OS_USERNAME", e.get("IMGTOOL_GLANCE_" + who + "_USERNAME")},
          {"OS_PASSWORD", e.get("IMGTOOL_GLANCE_" + who + "_PASSWORD")},
          {"OS_PROJECT_NAME", e.get("IMGTOOL_GLANCE_" + who + "_PROJECT")},
          {"OS_USER_DOMAIN_NAME", "Default"},
          {"OS_PROJECT_DOMAIN_NAME", "Default"},
          {"OS_REGION_NAME", region.empty() ? e.get("IMGTOOL_GLANCE_REGION") : region}};
}
inline std::map<std::string, std::string> admin_vars() {
  return password_vars("ADMIN");
}

// An admin token (cached) for curl checks.
inline std::string admin_token() {
  static std::string tok;
  if (!tok.empty()) return tok;
  const Env& e = *env();
  nlohmann::json body = {
      {"auth",
       {{"identity",
         {{"methods", {"password"}},
          {"password",
           {{"user",
             {{"name", e.get("IMGTOOL_GLANCE_ADMIN_USERNAME")},
              {"domain", {{"name", "Default"}}},
              {"password", e.get("IMGTOOL_GLANCE_ADMIN_PASSWORD")}}}}}}},
        {"scope",
         {{"project",
           {{"name", e.get("IMGTOOL_GLANCE_ADMIN_PROJECT")}, {"domain", {{"name", "Default"}}}}}}}}}};
  RunResult r =
      run("curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d " + sh_quote(body.dump()) + " " +
          sh_quote(e.get("IMGTOOL_GLANCE_KEYSTONE_URL") + "/auth/tokens"));
  std::string h = r.out;
  auto pos = h.find("X-Subject-Token: ");
  if (pos == std::string::npos) pos = h.find("x-subject-token: ");
  if (pos == std::string::npos) return "";
  auto end = h.find_first_of("\r\n", pos);
  tok = h.substr(pos + 17, end - pos - 17);
  return tok;
}

// GET <glance>/v2/<path> as admin; parsed JSON (null on error). `base`:
// another Glance (glance_two_url()); empty: the main one.
inline nlohmann::json glance_get(const std::string& path, const std::string& base = "") {
  RunResult r = run("curl -s -H " + sh_quote("X-Auth-Token: " + admin_token()) + " " +
                    sh_quote((base.empty() ? glance_url() : base) + "/v2/" + path));
  return nlohmann::json::parse(r.out, nullptr, false);
}

// Images (any owner: admin sees all) with this exact name.
inline size_t count_named(const std::string& name) {
  nlohmann::json j = glance_get("images?name=" + name + "&limit=100");
  if (!j.is_object() || !j.contains("images")) return 9999;
  return j["images"].size();
}

// Polls (100 ms steps, up to `seconds`) until the one image called `name`
// has `status`; false when it never does.
inline bool wait_for_image_status(const std::string& name, const std::string& status, int seconds = 30) {
  for (int i = 0; i < seconds * 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    nlohmann::json l = glance_get("images?name=" + name);
    if (l.is_object() && l["images"].size() == 1 && l["images"][0]["status"] == status) return true;
  }
  return false;
}

inline void glance_delete(const std::string& id, const std::string& base = "") {
  run("curl -s -X DELETE -H " + sh_quote("X-Auth-Token: " + admin_token()) + " " +
      sh_quote((base.empty() ? glance_url() : base) + "/v2/images/" + id));
}

// Downloads an image's data into `dst` (curl, admin).
inline void glance_download(const std::string& id, const std::string& dst) {
  run_ok("curl -sf -o " + sh_quote(dst) + " -H " + sh_quote("X-Auth-Token: " + admin_token()) + " " +
         sh_quote(env()->get("IMGTOOL_GLANCE_URL") + "/v2/images/" + id + "/file"));
}

// A name no other test (or earlier run) uses.
inline std::string unique_name(const std::string& base) {
  static int n = 0;
  return "imgtool-test-" + base + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

inline std::string first_word(const std::string& s) {
  return s.substr(0, s.find_first_of(" \n"));
}

}  // namespace imgtool::test::glance
