// imgtool publish FILE: upload an image to Glance (imgtool::publish), then
// print the image as `openstack image show` does (or JSON).
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"

namespace imgtool::cli {
namespace {

struct PublishArgs {
  std::string file;
  PublishOptions o;
  bool vis_public = false, vis_private = false, vis_shared = false, vis_community = false;
  std::vector<std::string> properties, convert_opts;
  std::string output = "human";
  bool progress = false;
  std::string password_flag;
};

std::string opt_str(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "None"; }

void print_table(const PublishResult& r) {
  std::vector<std::pair<std::string, std::string>> rows{
      {"checksum", r.checksum.empty() ? "None" : r.checksum},
      {"container_format", r.container_format},
      {"disk_format", r.disk_format},
      {"id", r.id.empty() ? "None" : r.id},
      {"name", r.name},
      {"os_hash_algo", r.os_hash_algo.empty() ? "None" : r.os_hash_algo},
      {"os_hash_value", r.os_hash_value.empty() ? "None" : r.os_hash_value},
      {"size", opt_str(r.size)},
      {"status", r.status},
      {"virtual_size", opt_str(r.virtual_size)},
      {"visibility", r.visibility.empty() ? "None" : r.visibility}};
  std::string tags;
  for (const auto& t : r.tags) tags += (tags.empty() ? "" : ", ") + t;
  rows.emplace_back("tags", tags);
  std::string props;
  for (const auto& [k, v] : r.properties) props += (props.empty() ? "" : ", ") + k + "='" + v + "'";
  if (!props.empty()) rows.emplace_back("properties", props);
  if (r.dry_run) {
    rows.emplace_back("local md5", r.local_md5);
    rows.emplace_back("local sha512", r.local_sha512);
    rows.emplace_back("request", r.request_json);
  } else if (r.reused) {
    rows.emplace_back("reused", "yes (an active image with the same size and hashes exists)");
  } else {
    rows.emplace_back("verified", r.verified_hash_algo.empty() ? "size, checksum" : "size, checksum, " + r.verified_hash_algo);
  }
  size_t w1 = 5, w2 = 5;
  for (const auto& [k, v] : rows) {
    w1 = std::max(w1, k.size());
    w2 = std::max(w2, v.size());
  }
  std::string sep = "+" + std::string(w1 + 2, '-') + "+" + std::string(w2 + 2, '-') + "+\n";
  auto row = [&](const std::string& k, const std::string& v) {
    std::cout << "| " << k << std::string(w1 - k.size(), ' ') << " | " << v << std::string(w2 - v.size(), ' ') << " |\n";
  };
  std::cout << sep;
  row("Field", "Value");
  std::cout << sep;
  for (const auto& [k, v] : rows) row(k, v);
  std::cout << sep;
}

void print_json(const PublishResult& r) {
  nlohmann::json j{{"id", r.id},
                   {"name", r.name},
                   {"status", r.status},
                   {"disk_format", r.disk_format},
                   {"container_format", r.container_format},
                   {"visibility", r.visibility},
                   {"size", r.size ? nlohmann::json(*r.size) : nlohmann::json()},
                   {"virtual_size", r.virtual_size ? nlohmann::json(*r.virtual_size) : nlohmann::json()},
                   {"checksum", r.checksum},
                   {"os_hash_algo", r.os_hash_algo},
                   {"os_hash_value", r.os_hash_value},
                   {"tags", r.tags},
                   {"properties", r.properties},
                   {"local_md5", r.local_md5},
                   {"local_sha512", r.local_sha512},
                   {"sent_bytes", r.sent_bytes},
                   {"verified_hash_algo", r.verified_hash_algo},
                   {"dry_run", r.dry_run},
                   {"reused", r.reused}};
  if (r.dry_run) j["request"] = nlohmann::json::parse(r.request_json, nullptr, false);
  std::cout << j.dump(2) << "\n";
}

int run_publish(PublishArgs& a) {
  if (!a.password_flag.empty())
    throw Error(ErrorKind::Usage, "",
                "--os-password is refused: a password on the command line shows in /proc/PID/cmdline; "
                "set OS_PASSWORD or use clouds.yaml (--os-cloud)");
  int vis = a.vis_public + a.vis_private + a.vis_shared + a.vis_community;
  if (vis > 1) throw Error(ErrorKind::Usage, "", "choose one of --public, --private, --shared, --community");
  a.o.visibility = a.vis_public ? "public" : a.vis_private ? "private" : a.vis_shared ? "shared"
                                           : a.vis_community ? "community" : "";
  for (const auto& p : a.properties) {
    auto eq = p.find('=');
    if (eq == std::string::npos) throw Error(ErrorKind::Usage, "", "--property " + p + ": expected KEY=VALUE");
    a.o.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  for (const auto& list : a.convert_opts) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string kv = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto eq = kv.find('=');
      if (eq == std::string::npos) throw Error(ErrorKind::Usage, "", "-o " + kv + ": expected key=value");
      a.o.convert_options[kv.substr(0, eq)] = kv.substr(eq + 1);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  a.o.notice = [](const std::string& s) { std::cerr << "imgtool: note: " << s << "\n"; };
  if (a.progress) {
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    a.o.progress = [last](uint64_t done, std::optional<uint64_t> total) {
      auto now = std::chrono::steady_clock::now();
      if (now - *last < std::chrono::milliseconds(500) && !(total && done == *total)) return;
      *last = now;
      if (total && *total > 0)
        std::cerr << "\r    (" << (done * 100 / *total) << ".00/100%)" << std::flush;
      else
        std::cerr << "\r    " << (done >> 20) << " MiB sent" << std::flush;
    };
  }
  PublishResult r = publish(a.file, a.o);
  if (a.progress) std::cerr << "\n";
  if (a.output == "json")
    print_json(r);
  else
    print_table(r);
  return kOk;
}

}  // namespace

Subcommand setup_publish(CLI::App& app) {
  auto a = std::make_shared<PublishArgs>();
  CLI::App* sub = app.add_subcommand("publish", "Upload an image to OpenStack Glance (verified, no orphans)");
  sub->add_option("FILE", a->file, "Image file")->required();
  sub->add_option("--name", a->o.name, "Image name (default: file name without extension)");
  sub->add_option("--disk-format", a->o.disk_format, "auto (detected) or a Glance disk_format; must match the bytes");
  sub->add_option("--container-format", a->o.container_format, "Glance container_format (default bare)");
  sub->add_flag("--public", a->vis_public, "visibility public (usually admin only)");
  sub->add_flag("--private", a->vis_private, "visibility private");
  sub->add_flag("--shared", a->vis_shared, "visibility shared (Glance's default)");
  sub->add_flag("--community", a->vis_community, "visibility community");
  sub->add_option("--property", a->properties, "KEY=VALUE image property (repeatable)");
  sub->add_option("--tag", a->o.tags, "Image tag (repeatable)");
  sub->add_option("--min-disk", a->o.min_disk, "Minimum disk size (GiB)");
  sub->add_option("--min-ram", a->o.min_ram, "Minimum RAM (MiB)");
  sub->add_flag("--protected", a->o.protected_image, "Protect the image from deletion");
  sub->add_option("--convert-to", a->o.convert_to, "Convert while uploading: raw, qcow2 or vmdk");
  sub->add_option("-o", a->convert_opts, "Options for --convert-to (key=value[,key=value])");
  sub->add_flag("--import", a->o.use_import, "Stage + import (glance-direct) instead of a direct upload");
  sub->add_option("--store", a->o.stores, "Store for --import (repeatable)");
  sub->add_option("--os-cloud", a->o.connection.cloud, "Cloud in clouds.yaml (default: OS_CLOUD, else OS_* variables)");
  sub->add_option("--os-cacert", a->o.connection.cacert, "PEM CA bundle for https (default: OS_CACERT)");
  sub->add_flag("--insecure", a->o.connection.insecure, "Do not verify TLS certificates");
  sub->add_option("--os-password", a->password_flag)->group("");  // refused with an explanation
  sub->add_flag("--dry-run", a->o.dry_run, "Check, hash and show the request; send nothing");
  sub->add_flag("--wait", a->o.wait, "With --import: wait for active and verify");
  sub->add_flag("-p,--progress", a->progress, "Show progress on stderr");
  sub->add_option("--output", a->output, "human or json")->check(CLI::IsMember({"human", "json"}));
  sub->add_flag("--keep-on-error", a->o.keep_on_error, "Do not delete the image when publishing fails");
  sub->add_flag("--reuse-existing", a->o.reuse_existing,
                "Return an active image with the same size and hashes instead of uploading");
  return {sub, [a] { return run_publish(*a); }};
}

}  // namespace imgtool::cli
