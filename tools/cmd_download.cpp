// imgtool download IMAGE [DST]: Glance -> local file or standard output,
// verified against the image's checksum and os_hash_value (imgtool::download).
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "progress_meter.hpp"

namespace imgtool::cli {
namespace {

struct DownloadArgs {
  std::string image, dst, cache = "writeback", output = "human", convert_to, store;
  std::vector<std::string> convert_opts;
  bool progress = false, no_sparse = false;
  GlanceCli glance;
};

// DST when none is given: the image's name in the current directory, as
// `openstack image save` users spell it by hand. Only a plain name is used.
std::string default_destination(const std::string& image) {
  if (image.empty() || image == "." || image == ".." || image.find('/') != std::string::npos ||
      image.find('\0') != std::string::npos)
    throw Error(ErrorKind::Usage, "",
                "give DST: '" + escape_name(image) + "' is not a plain file name to save the image under");
  return image;
}

int run_download(DownloadArgs& a) {
  finish_glance_options(a.glance);
  DownloadOptions o;
  o.connection = a.glance.conn;
  o.fsync = a.cache == "writeback";
  o.sparse = !a.no_sparse;
  o.notice = [](const std::string& s) { std::cerr << "imgtool: note: " << s << "\n"; };
  o.store = a.store;
  o.convert_options = parse_create_options(a.convert_opts);
  if (!a.convert_to.empty()) {
    o.convert_to = parse_format_option(a.convert_to);
    const std::vector<Format> w = writable_formats();
    if (std::find(w.begin(), w.end(), *o.convert_to) == w.end())
      throw Error(ErrorKind::Usage, "", "--convert-to " + a.convert_to + " is not one of " + format_list(w));
  } else if (!o.convert_options.empty()) {
    throw Error(ErrorKind::Usage, "", "-o gives options for --convert-to; no --convert-to was given");
  }
  const std::string dst = a.dst.empty() ? default_destination(a.image) : a.dst;
  if (dst == "-" && a.output == "json")
    throw Error(ErrorKind::Usage, "", "--output json and DST - both want standard output");
  std::shared_ptr<ProgressMeter> meter;
  if (a.progress) {
    meter = std::make_shared<ProgressMeter>(::isatty(STDERR_FILENO) == 1);
    o.progress = [meter](uint64_t done, std::optional<uint64_t> total) { meter->update(done, total); };
  }
  DownloadResult r = download(a.image, dst, o);
  if (meter) meter->finish();
  if (a.output == "json") {
    nlohmann::ordered_json j{{"id", r.image.id},
                             {"name", r.image.name},
                             {"disk_format", r.disk_format},
                             {"container_format", r.container_format},
                             {"file", r.destination},
                             {"size", r.bytes},
                             {"holes", r.holes},
                             {"checksum", r.received.checksum},
                             {"os_hash_algo", r.verified_hash_algo},
                             {"os_hash_value", r.received.os_hash_value},
                             {"verified", true}};
    if (!r.stores.empty()) j["stores"] = r.stores;
    if (r.converted_to) {
      j["source_format"] = std::string(format_name(*r.source_format));
      j["converted_to"] = std::string(format_name(*r.converted_to));
      j["virtual_size"] = r.virtual_size;
      j["bytes_written"] = r.bytes_written;
      j["spool_peak_memory"] = r.spool_peak_memory;
      j["spool_peak_file"] = r.spool_peak_file;
    }
    std::cout << j.dump(2) << "\n";
  } else {
    // The data may have gone to stdout: the summary goes to stderr then.
    std::ostream& os = dst == "-" ? std::cerr : std::cout;
    os << "downloaded image " << r.image.id << " (" << escape_name(r.image.name) << ", " << r.disk_format
       << ") to " << escape_name(r.destination) << ": " << r.bytes << " bytes"
       << (r.holes > 0 ? ", " + std::to_string(r.holes) + " as holes" : std::string());
    if (r.converted_to)
      os << ", converted to " << format_name(*r.converted_to) << " (" << r.bytes_written << " bytes written)";
    os << "; verified size, checksum, " << r.verified_hash_algo << "\n";
  }
  return kOk;
}

}  // namespace

Subcommand setup_download(CLI::App& app) {
  auto a = std::make_shared<DownloadArgs>();
  CLI::App* sub = app.add_subcommand(
      "download", "Download a Glance image, verified against its checksum and os_hash_value");
  sub->add_option("IMAGE", a->image, "Image id, or a name only one image has")->required();
  sub->add_option("DST", a->dst, "Output file (default: the image name; - for standard output)");
  sub->add_option("-t,--cache", a->cache, "writeback (default: fsync before the rename) or unsafe")
      ->check(CLI::IsMember({"writeback", "unsafe"}));
  sub->add_flag("--no-sparse", a->no_sparse, "Write runs of zeros as data instead of leaving holes");
  sub->add_option(
      "--convert-to", a->convert_to,
      "Convert while downloading, in the same pass: raw, qcow2 or vmdk (the image is checked first)");
  add_repeatable(sub, "-o", a->convert_opts,
                 "Options for --convert-to (key=value[,key=value], as convert -o)");
  sub->add_option(
      "--store", a->store,
      "Download only if the image has data in this Glance store (Glance still picks the location)");
  sub->add_flag("-p,--progress", a->progress, "Show bytes received, rate and ETA on stderr");
  sub->add_option("--output", a->output, "human or json")->check(CLI::IsMember({"human", "json"}));
  add_glance_options(sub, a->glance);
  return {sub, [a] { return run_download(*a); }};
}

}  // namespace imgtool::cli
