#include "glance/publish_checks.hpp"

#include <algorithm>
#include <filesystem>

#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/verdict.hpp"
#include "sources/http_stream.hpp"

namespace imgtool::glance {
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
  if (o.protected_image && o.use_import && !o.wait && !o.dry_run)
    throw Error(ErrorKind::Usage, "",
                "--protected with --import needs --wait: the image is protected only once it is verified");
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
  if (o.wait && !o.use_import) throw Error(ErrorKind::Usage, "", "--wait only applies to --import");
  if (!o.stores.empty() && !o.use_import) throw Error(ErrorKind::Usage, "", "--store needs --import");
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

void add_owner_specified(nlohmann::json& body, const GlanceDigests& d, const std::string& name) {
  // openstacksdk (image/_base_proxy.py create_image): md5 and sha256 of the
  // data, and "<container>/<name>" with the default container "images". A
  // value the user gave with --property wins.
  auto set = [&](const char* k, const std::string& v) {
    if (!body.contains(k)) body[k] = v;
  };
  set("owner_specified.openstack.md5", d.checksum);
  if (d.sha256) set("owner_specified.openstack.sha256", *d.sha256);
  set("owner_specified.openstack.object", "images/" + name);
}

std::optional<nlohmann::json> find_reusable(ImagesApi& api, const GlanceDigests& d,
                                            const std::string& disk_format,
                                            const std::string& container_format, const std::string& owner) {
  // Glance 25 filters on os_hash_value (and size_min/size_max, status,
  // owner); the result is checked again client-side so a server ignoring a
  // filter is harmless. Only the caller's own project: another project's
  // public image with the same bytes is not the caller's to hand out (its
  // owner may delete or change it at any time).
  auto list = api.list({{"os_hash_value", d.os_hash_value},
                        {"status", "active"},
                        {"owner", owner},
                        {"size_min", std::to_string(d.size)},
                        {"size_max", std::to_string(d.size)}});
  for (const auto& im : list) {
    if (!im.is_object()) continue;
    if (owner.empty() || im.value("owner", "") != owner) continue;
    if (im.value("container_format", "") != container_format) continue;
    if (im.value("status", "") != "active") continue;
    if (im.value("os_hash_algo", "") != "sha512" || im.value("os_hash_value", "") != d.os_hash_value)
      continue;
    if (im.value("checksum", "") != d.checksum) continue;
    if (!im.contains("size") || !im["size"].is_number() || im["size"].get<uint64_t>() != d.size) continue;
    if (im.value("disk_format", "") != disk_format) continue;
    return im;
  }
  return std::nullopt;
}

std::vector<std::string> unapplied_attributes(const nlohmann::json& im, const PreparedImage& p,
                                              const PublishOptions& opts) {
  std::vector<std::string> out;
  auto differs = [&](const char* key, const std::string& wanted) {
    const std::string have = im.contains(key) && im[key].is_string() ? im[key].get<std::string>() : "";
    if (have != wanted) out.push_back(std::string(key) + " '" + wanted + "' (it has '" + have + "')");
  };
  differs("name", p.name);
  if (!opts.visibility.empty()) differs("visibility", opts.visibility);
  auto number = [&](const char* key, const std::optional<uint64_t>& wanted) {
    if (!wanted) return;
    const uint64_t have = im.contains(key) && im[key].is_number_unsigned() ? im[key].get<uint64_t>() : 0;
    if (have != *wanted)
      out.push_back(std::string(key) + " " + std::to_string(*wanted) + " (it has " + std::to_string(have) +
                    ")");
  };
  number("min_disk", opts.min_disk);
  number("min_ram", opts.min_ram);
  if (opts.protected_image && !(im.contains("protected") && im["protected"] == true))
    out.push_back("protected (it is not protected)");
  for (const auto& t : opts.tags) {
    bool has = false;
    if (im.contains("tags") && im["tags"].is_array())
      for (const auto& x : im["tags"]) has = has || (x.is_string() && x.get<std::string>() == t);
    if (!has) out.push_back("tag '" + t + "'");
  }
  for (const auto& [k, v] : opts.properties) {
    const std::string have = im.contains(k) && im[k].is_string() ? im[k].get<std::string>() : "";
    if (have != v) out.push_back("property " + k + "='" + v + "'");
  }
  return out;
}

}  // namespace imgtool::glance
