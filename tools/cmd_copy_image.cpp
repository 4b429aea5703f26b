// imgtool copy-image IMAGE --store S…: an existing Glance image into more
// stores (imgtool::copy_image), then the stores it is in.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool::cli {
namespace {

struct CopyArgs {
  std::string image;
  CopyImageOptions o;
  bool disallow_failure = false;
  std::string output = "human";
  GlanceCli glance;
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

int run_copy(CopyArgs& a) {
  finish_glance_options(a.glance);
  a.o.connection = a.glance.conn;
  if (a.o.allow_failure && a.disallow_failure)
    throw Error(ErrorKind::Usage, "", "choose --allow-failure or --disallow-failure, not both");
  a.o.notice = [](const std::string& s) { std::cerr << "imgtool: note: " << s << "\n"; };
  const CopyImageResult r = copy_image(a.image, a.o);
  if (a.output == "json") {
    nlohmann::json j{{"id", r.image.id},
                     {"status", r.image.status},
                     {"stores", r.image.stores},
                     {"stores_before", r.stores_before},
                     {"stores_failed", r.stores_failed},
                     {"verified", r.verified}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << r.image.id << ": stores " << joined(r.image.stores)
              << " (before: " << joined(r.stores_before) << ")";
    if (!r.stores_failed.empty()) std::cout << "; failed: " << joined(r.stores_failed);
    std::cout << (r.verified ? "; verified: checksum and os_hash_value unchanged"
                             : "; not verified (--no-wait)")
              << "\n";
  }
  return kOk;
}

}  // namespace

Subcommand setup_copy_image(CLI::App& app) {
  auto a = std::make_shared<CopyArgs>();
  CLI::App* sub = app.add_subcommand(
      "copy-image", "Copy a Glance image into more stores (import method copy-image; admin by default)");
  sub->add_option("IMAGE", a->image, "Image id or unique name")->required();
  add_repeatable(sub, "--store", a->o.stores, "Store to copy into (repeatable)");
  sub->add_flag("--all-stores", a->o.all_stores, "Every store the image is not in yet");
  sub->add_flag("--allow-failure", a->o.allow_failure, "Keep the stores that worked when others fail");
  sub->add_flag("--disallow-failure", a->disallow_failure, "A store that fails fails the copy (the default)");
  sub->add_option("--wait-timeout", a->o.wait_timeout_seconds, "Seconds to wait for the copy (default 3600)")
      ->check(CLI::Range(1u, 7u * 86400u));
  sub->add_flag("--no-wait", a->o.no_wait, "Return once Glance accepted the copy (not verified)");
  sub->add_option("--output", a->output, "human or json")->check(CLI::IsMember({"human", "json"}));
  add_glance_options(sub, a->glance);
  return {sub, [a] { return run_copy(*a); }};
}

}  // namespace imgtool::cli
