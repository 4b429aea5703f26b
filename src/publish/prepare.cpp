// prepare: every option validated before anything is opened or sent, then
// the image opened, detected and judged (the verdict refuses before a byte
// leaves), and the create request built.
#include "publish/prepare.hpp"

#include <algorithm>
#include <filesystem>

#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/verdict.hpp"
#include "sources/http_stream.hpp"

namespace imgtool::publishing {
namespace {

using nlohmann::json;

// Glance's default [image_format] disk_formats / container_formats.
const char* const kDiskFormats[] = {"ami", "ari",   "aki", "vhd", "vhdx", "vmdk",
                                    "raw", "qcow2", "vdi", "iso", "ploop"};
const char* const kContainerFormats[] = {"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"};
const char* const kVisibilities[] = {"public", "private", "shared", "community"};

template <size_t N>
bool one_of(const std::string& v, const char* const (&list)[N]) {
  return std::any_of(std::begin(list), std::end(list), [&](const char* s) { return v == s; });
}
template <size_t N>
std::string joined(const char* const (&list)[N]) {
  std::string s;
  for (const char* x : list) s += (s.empty() ? "" : ", ") + std::string(x);
  return s;
}

void validate(const PublishOptions& o) {
  if (o.disk_format != "auto" && !one_of(o.disk_format, kDiskFormats))
    throw Error(ErrorKind::Usage, "",
                "--disk-format " + o.disk_format + " is not one of auto, " + joined(kDiskFormats));
  if (!one_of(o.container_format, kContainerFormats))
    throw Error(ErrorKind::Usage, "",
                "--container-format " + o.container_format + " is not one of " + joined(kContainerFormats));
  if (!o.visibility.empty() && !one_of(o.visibility, kVisibilities))
    throw Error(ErrorKind::Usage, "",
                "visibility " + o.visibility + " is not one of " + joined(kVisibilities));
  if (!o.convert_to && !o.convert_options.empty()) throw Error(ErrorKind::Usage, "", "-o needs --convert-to");
  const bool importing = uses_import(o);
  if (o.protected_image && importing && o.no_wait && !o.dry_run)
    throw Error(ErrorKind::Usage, "",
                "--protected with --no-wait: the image is protected only once it is verified");
  if (o.no_wait && !importing) throw Error(ErrorKind::Usage, "", "--no-wait only applies to an import");
  if (o.all_stores && !o.stores.empty())
    throw Error(ErrorKind::Usage, "", "choose --store or --all-stores, not both");
  for (size_t i = 0; i < o.stores.size(); ++i) {
    if (o.stores[i].empty()) throw Error(ErrorKind::Usage, "", "--store needs a store name");
    for (size_t j = 0; j < i; ++j)
      if (o.stores[j] == o.stores[i])
        throw Error(ErrorKind::Usage, "", "--store " + o.stores[i] + " given twice");
  }
  if (o.wait_timeout_seconds == 0)
    throw Error(ErrorKind::Usage, "", "--wait-timeout must be at least 1 second");
  if (!o.web_download_uri.empty()) {
    const std::string& u = o.web_download_uri;
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
      throw Error(ErrorKind::Usage, u, "--web-download needs an http:// or https:// URL");
    // Glance stores what it downloads as it is: converting or unpacking
    // locally would verify other bytes than the ones Glance keeps.
    if (o.convert_to)
      throw Error(
          ErrorKind::Usage, u,
          "--web-download cannot be combined with --convert-to (Glance stores the URL's bytes as they are)");
    if (o.reuse_existing)
      throw Error(ErrorKind::Usage, u, "--web-download cannot be combined with --reuse-existing");
  }
  for (size_t i = 0; i < o.targets.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (o.targets[j].cloud == o.targets[i].cloud && o.targets[j].region == o.targets[i].region)
        throw Error(ErrorKind::Usage, "",
                    "the same target twice (--os-cloud " +
                        (o.targets[i].cloud.empty() ? "(OS_* variables)" : o.targets[i].cloud) + ")");
  if (o.convert_to) {
    ConvertOptions c;
    c.target_format = *o.convert_to;
    c.options = o.convert_options;
    validate_convert_options(c);  // format, -o keys and values
    if (convert_needs_seekable_output(c))
      throw Error(ErrorKind::Usage, "",
                  "--convert-to " + std::string(format_name(c.target_format)) +
                      " with these options patches its output after writing it, which an upload cannot do");
  }
  for (const auto& [k, v] : o.properties) {
    (void)v;
    if (k.empty()) throw Error(ErrorKind::Usage, "", "--property needs KEY=VALUE with a non-empty KEY");
    if (k.rfind("os_glance", 0) == 0 || k == "checksum" || k == "os_hash_value" || k == "os_hash_algo" ||
        k == "size" || k == "status" || k == "id" || k == "locations" || k == "location")
      throw Error(ErrorKind::Usage, "", "--property " + k + " is reserved or read-only in Glance");
  }
}

// Raw bytes may be declared as the raw-like Glance formats too.
bool compatible(const std::string& detected, const std::string& declared) {
  if (detected == declared) return true;
  if (detected == "raw") return declared == "ami" || declared == "aki" || declared == "ari";
  return false;
}

std::string default_name(const std::string& path) {
  std::filesystem::path p(path);
  std::string stem = p.stem().string();
  return stem.empty() ? p.filename().string() : stem;
}

}  // namespace

std::string default_image_name(const Source& src) {
  if (src.name() == "-")
    throw Error(ErrorKind::Usage, "-", "--name is needed for an image read from standard input");
  std::string file = src.name();
  if (src.remote()) file = sources::url_file_name(file);
  // "jammy.img.xz" is published as "jammy", as it would be once decompressed.
  for (const SourceLayer& l : src.layers()) {
    (void)l;
    for (const char* ext : {".gz", ".xz", ".bz2", ".zst", ".ova", ".tar"}) {
      const std::string e(ext);
      if (file.size() > e.size() && file.compare(file.size() - e.size(), e.size(), e) == 0) {
        file.resize(file.size() - e.size());
        break;
      }
    }
  }
  return default_name(file);
}

bool uses_import(const PublishOptions& o) {
  return o.use_import || !o.stores.empty() || o.all_stores || !o.web_download_uri.empty();
}

void validate_publish_options(const PublishOptions& opts) {
  validate(opts);
}

PreparedImage prepare_image(std::shared_ptr<const ByteSource> source, const PublishOptions& opts) {
  validate(opts);
  PreparedImage p;
  p.source = std::move(source);
  const std::string path = p.source->name();
  // Without conversion the bytes go as they are, to readers imgtool does not
  // control: nothing named inside may be followed (Glance 25 stores backing
  // files, extents naming host files and mismatched formats without a word).
  AssessOptions a;
  a.gate = opts.gate;
  a.purpose = opts.convert_to ? Purpose::Read : Purpose::HandOver;
  a.defer_check = opts.defer_consistency_check;
  Assessment verdict = assess(p.source, a);
  p.verdict = verdict;
  p.assess_options = a;
  verdict.throw_if_refused("upload");
  std::shared_ptr<const Image> img = verdict.image;
  const ImageInfo& info = img->info();
  p.detected_format = info.format;
  const std::string detected(glance_disk_format(info.format));
  if (opts.convert_to) {
    if (!img->readable())
      throw Error(ErrorKind::Unsupported, path,
                  "cannot convert a " + std::string(format_name(info.format)) + " image (detection only)");
    const std::string target(glance_disk_format(*opts.convert_to));
    if (opts.disk_format != "auto" && opts.disk_format != target)
      throw Error(ErrorKind::Usage, path,
                  "--disk-format " + opts.disk_format + " contradicts --convert-to " + target);
    p.disk_format = target;
  } else {
    if (detected.empty())
      throw Error(ErrorKind::Unsupported, path,
                  "the bytes are a " + std::string(format_name(info.format)) +
                      " image, which Glance has no disk_format for");
    if (opts.disk_format != "auto" && !compatible(detected, opts.disk_format))
      throw Error(ErrorKind::Mismatch, path,
                  "--disk-format " + opts.disk_format + " contradicts the bytes: they are a " +
                      std::string(format_name(info.format)) + " image (disk_format " + detected +
                      "); nothing was sent (use --disk-format " + detected + " or auto)");
    p.disk_format = opts.disk_format == "auto" ? detected : opts.disk_format;
    if (!info.virtual_size_pending) p.virtual_size = info.virtual_size;
  }
  p.name = opts.name.empty() ? default_name(path) : opts.name;
  p.image = std::move(img);
  return p;
}

nlohmann::json create_body(const PreparedImage& p, const PublishOptions& opts) {
  json b{{"name", p.name}, {"disk_format", p.disk_format}, {"container_format", opts.container_format}};
  if (!opts.visibility.empty()) b["visibility"] = opts.visibility;
  if (opts.min_disk) b["min_disk"] = *opts.min_disk;
  if (opts.min_ram) b["min_ram"] = *opts.min_ram;
  // "protected" is not sent: publish sets it by a PATCH once the image is
  // verified, so that a failed upload can still be deleted.
  if (!opts.tags.empty()) b["tags"] = opts.tags;
  // Glance's schema: extra properties are strings. The SDK's
  // owner_specified.openstack.* digests are not sent here: in one pass they
  // are known only after the upload. When a pre-pass computed them
  // (--reuse-existing), add_owner_specified() adds them.
  for (const auto& [k, v] : opts.properties) b[k] = v;
  return b;
}

}  // namespace imgtool::publishing
