// imgtool publish FILE: upload an image to Glance (imgtool::publish), then
// print the image as `openstack image show` does (or JSON).
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "progress_meter.hpp"
#include "publish_output.hpp"

namespace imgtool::cli {
namespace {

struct PublishArgs {
  std::string file;
  PublishOptions o;
  bool vis_public = false, vis_private = false, vis_shared = false, vis_community = false;
  std::vector<std::string> properties, convert_opts;
  std::string convert_to;
  std::string output = "human";
  bool progress = false;
  bool allow_failure = false, disallow_failure = false, wait = false;
  GlanceCli glance;
  SourceCli source;
};

int run_publish(PublishArgs& a) {
  finish_glance_options(a.glance);
  a.o.connection = a.glance.conn;
  a.o.targets = a.glance.targets;
  if (a.file.empty()) a.file = a.o.web_download_uri;  // the URL Glance fetches is the source read
  if (a.file.empty()) throw Error(ErrorKind::Usage, "", "FILE is required");
  if (a.allow_failure && a.disallow_failure)
    throw Error(ErrorKind::Usage, "", "choose --allow-failure or --disallow-failure, not both");
  a.o.allow_failure = a.allow_failure;
  if (a.wait && a.o.no_wait) throw Error(ErrorKind::Usage, "", "choose --wait or --no-wait, not both");
  a.o.source = finish_source_options(a.source, a.glance.conn.insecure);
  int vis = a.vis_public + a.vis_private + a.vis_shared + a.vis_community;
  if (vis > 1) throw Error(ErrorKind::Usage, "", "choose one of --public, --private, --shared, --community");
  a.o.visibility = a.vis_public      ? "public"
                   : a.vis_private   ? "private"
                   : a.vis_shared    ? "shared"
                   : a.vis_community ? "community"
                                     : "";
  for (const auto& p : a.properties) {
    auto eq = p.find('=');
    if (eq == std::string::npos)
      throw Error(ErrorKind::Usage, "", "--property " + p + ": expected KEY=VALUE");
    a.o.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  a.o.convert_options = parse_create_options(a.convert_opts);
  if (!a.convert_to.empty()) {
    a.o.convert_to = parse_format_option(a.convert_to);
    const std::vector<Format> w = writable_formats();
    if (std::find(w.begin(), w.end(), *a.o.convert_to) == w.end())
      throw Error(ErrorKind::Usage, "", "--convert-to " + a.convert_to + " is not one of " + format_list(w));
  }
  a.o.notice = [](const std::string& s) { std::cerr << "imgtool: note: " << s << "\n"; };
  std::shared_ptr<ProgressMeter> meter;
  if (a.progress) {
    meter = std::make_shared<ProgressMeter>(::isatty(STDERR_FILENO) == 1);
    a.o.progress = [meter](uint64_t done, std::optional<uint64_t> total) { meter->update(done, total); };
  }
  PublishResult r = publish(a.file, a.o);
  if (meter) meter->finish();
  if (a.output == "json")
    print_publish_json(r);
  else
    print_publish_table(r);
  return kOk;
}

}  // namespace

Subcommand setup_publish(CLI::App& app) {
  auto a = std::make_shared<PublishArgs>();
  CLI::App* sub = app.add_subcommand("publish", "Upload an image to OpenStack Glance (verified, no orphans)");
  sub->add_option(
      "FILE", a->file,
      "Image: a file, - (standard input) or an http(s) URL; compressed and OVA sources publish the disk "
      "image inside (with --web-download: that URL, which may then be left out)");
  sub->add_option("--name", a->o.name, "Image name (default: file name without extension)");
  sub->add_option("--disk-format", a->o.disk_format,
                  "auto (detected) or a Glance disk_format; must match the bytes");
  sub->add_option("--container-format", a->o.container_format, "Glance container_format (default bare)");
  sub->add_flag("--public", a->vis_public, "visibility public (usually admin only)");
  sub->add_flag("--private", a->vis_private, "visibility private");
  sub->add_flag("--shared", a->vis_shared, "visibility shared (Glance's default)");
  sub->add_flag("--community", a->vis_community, "visibility community");
  add_repeatable(sub, "--property", a->properties, "KEY=VALUE image property (repeatable)");
  add_repeatable(sub, "--tag", a->o.tags, "Image tag (repeatable)");
  sub->add_option("--min-disk", a->o.min_disk, "Minimum disk size (GiB)");
  sub->add_option("--min-ram", a->o.min_ram, "Minimum RAM (MiB)");
  sub->add_flag("--protected", a->o.protected_image, "Protect the image from deletion");
  sub->add_option("--convert-to", a->convert_to, "Convert while uploading: raw, qcow2 or vmdk");
  add_gate_options(sub, a->o.gate);
  add_repeatable(sub, "-o", a->convert_opts, "Options for --convert-to (key=value[,key=value])");
  sub->add_flag(
      "--import", a->o.use_import,
      "Stage + import (glance-direct) instead of a direct upload; implied by --store, --all-stores and "
      "--web-download");
  add_repeatable(sub, "--store", a->o.stores,
                 "Import into this store (repeatable); checked against the server's stores first");
  sub->add_flag("--all-stores", a->o.all_stores, "Import into every store the server offers");
  sub->add_option("--web-download", a->o.web_download_uri,
                  "Let Glance download this URL itself (import method web-download); imgtool reads it once "
                  "to check and hash it, and verifies what Glance stored");
  sub->add_flag("--allow-failure", a->allow_failure,
                "Keep the image in the stores and clouds that worked when others fail (named in the result)");
  sub->add_flag("--disallow-failure", a->disallow_failure,
                "All or nothing (the default): a store or cloud that fails deletes every image created");
  sub->add_option("--wait-timeout", a->o.wait_timeout_seconds,
                  "Seconds to wait for an import to finish (default 3600)")
      ->check(CLI::Range(1u, 7u * 86400u));
  sub->add_flag("--no-wait", a->o.no_wait, "With an import: return once Glance accepted it (not verified)");
  add_glance_options(sub, a->glance, /*several_targets=*/true);
  add_source_options(sub, a->source, false);
  sub->add_flag("--dry-run", a->o.dry_run, "Check, hash and show the request; send nothing");
  sub->add_flag("--wait", a->wait, "With an import: wait for active and verify (the default)");
  sub->add_flag(
      "-p,--progress", a->progress,
      "Show bytes sent, rate and ETA on stderr (redrawn on a terminal, a line every 5 s otherwise)");
  sub->add_option("--output", a->output, "human or json")->check(CLI::IsMember({"human", "json"}));
  sub->add_flag("--auto-properties", a->o.auto_properties,
                "Inspect the guest (libguestfs) and set os_type, os_distro, os_version, architecture, hw_*");
  sub->add_option("--inspect-timeout", a->o.inspect_timeout_seconds, "Deadline for --auto-properties (s)")
      ->check(CLI::Range(1, 86400));
  sub->add_flag("--keep-on-error", a->o.keep_on_error, "Do not delete the image when publishing fails");
  sub->add_flag("--reuse-existing", a->o.reuse_existing,
                "Return an active image with the same size and hashes instead of uploading");
  return {sub, [a] { return run_publish(*a); }};
}

}  // namespace imgtool::cli
