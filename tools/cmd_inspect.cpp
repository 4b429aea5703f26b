// `imgtool inspect --guest FILE`: OS facts from inside the guest and the
// Glance properties they map to.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "imgtool/error.hpp"
#include "imgtool/inspect.hpp"
#include "imgtool/sources.hpp"
#include "inspect/guest_child.hpp"

namespace imgtool::cli {

Subcommand setup_inspect(CLI::App& app) {
  struct Opts {
    std::string file, format, output = "human";
    bool guest = false;
    int timeout = 300;
    SourceCli source;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub =
      app.add_subcommand("inspect", "Look inside the guest (libguestfs): OS facts and Glance properties");
  sub->add_flag("--guest", o->guest, "Inspect the guest operating system (required)");
  sub->add_option("-f,--format", o->format, "Image format (default: detect from the bytes)");
  sub->add_option("--timeout", o->timeout, "Deadline in seconds for the whole inspection")
      ->check(CLI::Range(1, 86400));
  sub->add_option("--output", o->output, "human or json")->check(CLI::IsMember({"human", "json"}));
  add_source_options(sub, o->source);
  sub->add_option(
         "file", o->file,
         "Image: a file, - or an http(s) URL (compressed and OVA too: copied to a temporary file first)")
      ->required();
  return {sub, [o] {
            if (!o->guest) throw Error(ErrorKind::Usage, "", "inspect: say what to inspect: --guest");
            InspectOptions opts;
            opts.format = parse_format_option(o->format);
            opts.timeout = std::chrono::seconds(o->timeout);
            std::unique_ptr<Source> src =
                open_source(o->file, declared_source_options(finish_source_options(o->source), opts.format));
            std::shared_ptr<const ByteSource> bytes;
            if (src->remote() || !src->layers().empty() || o->file == "-") {
              // libguestfs reads a file: the disk image inside goes to an
              // unlinked temporary file (holes kept), checked like any file.
              std::unique_ptr<ByteStream> s = src->stream();
              uint64_t n = 0;
              bytes = copy_to_temporary_file(*s, &n);
              std::cerr << "imgtool: note: guest inspection needs random access: " << n
                        << " bytes of the disk image were copied to an unnamed temporary file in TMPDIR\n";
            } else {
              bytes = src->random_access();
            }
            src->finish();
            GuestFacts f = inspect_guest(bytes, opts);
            auto props = glance_properties(f);
            if (o->output == "json") {
              nlohmann::json j;
              j["file"] = o->file;
              // The same serialization the inspection child uses; run facts are listed separately.
              j["os"] = nlohmann::json::parse(inspect::facts_to_json(f));
              j["os"].erase("backend");
              j["os"].erase("seconds");
              j["properties"] = props;
              j["backend"] = f.backend;
              j["seconds"] = f.seconds;
              std::cout << j.dump(2) << "\n";
              return kOk;
            }
            // Facts come from inside the guest (hostname, product name...): escaped.
            auto line = [](const char* k, const std::string& v) {
              std::cout << k << ": " << (v.empty() ? "-" : escape_name(v)) << "\n";
            };
            std::cout << "file: " << o->file << "\n";
            line("type", f.type);
            line("distro", f.distro);
            line("product name", f.product_name);
            line("version", std::to_string(f.major_version) + "." + std::to_string(f.minor_version));
            line("arch", f.arch);
            line("hostname", f.hostname);
            line("package format", f.package_format);
            line("osinfo", f.osinfo);
            line("qemu guest agent", f.qemu_guest_agent ? (*f.qemu_guest_agent ? "yes" : "no") : "");
            std::string virtio;
            if (f.virtio_blk) virtio += " virtio_blk";
            if (f.virtio_scsi) virtio += " virtio_scsi";
            if (f.virtio_net) virtio += " virtio_net";
            line("virtio drivers", virtio.empty() ? "none" : virtio.substr(1));
            line("partition table", f.partition_table.empty() ? "none" : f.partition_table);
            line("firmware", f.firmware);
            char secs[32];
            std::snprintf(secs, sizeof secs, "%.1f s", f.seconds);
            line("inspected with", "libguestfs " + f.backend + " in " + secs);
            std::cout << "Glance properties:\n";
            for (const auto& [k, v] : props) std::cout << "    " << k << "=" << escape_name(v) << "\n";
            return kOk;
          }};
}

}  // namespace imgtool::cli
