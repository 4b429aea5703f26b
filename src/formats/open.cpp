// Public entry points of the format layer: probe_all, detect_format, open_image.
#include <algorithm>

#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool {

std::vector<ProbeResult> probe_all(const ByteSource& src) {
  formats::ProbeWindow w = formats::read_probe_window(src);
  std::vector<ProbeResult> out;
  for (const auto& f : formats::registry()) {
    int score = f.probe(w.input());
    if (score > 0)
      out.push_back({std::string(f.name), std::string(f.glance_disk_format), score});
  }
  // Best first; stable so that table order breaks ties.
  std::stable_sort(out.begin(), out.end(),
                   [](const ProbeResult& a, const ProbeResult& b) { return a.score > b.score; });
  return out;
}

std::string detect_format(const ByteSource& src) {
  auto all = probe_all(src);
  return all.empty() ? "raw" : all.front().format;
}

std::vector<std::string> known_formats() {
  std::vector<std::string> v;
  for (const auto& f : formats::registry()) v.emplace_back(f.name);
  return v;
}

std::unique_ptr<Image> open_image(std::shared_ptr<const ByteSource> src, const OpenOptions& opts) {
  std::string fmt = opts.format.empty() ? detect_format(*src) : opts.format;
  const formats::FormatDescriptor* d = formats::find_format(fmt);
  if (d == nullptr) {
    std::string list;
    for (const auto& n : known_formats()) list += (list.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::Usage, src->name(), "unknown format '" + fmt + "' (known: " + list + ")");
  }
  try {
    return d->open(src, opts);
  } catch (const Error& e) {
    throw e.with_path(src->name());
  }
}

std::unique_ptr<Image> open_image(const std::string& path, const OpenOptions& opts) {
  std::shared_ptr<const ByteSource> src = open_file_source(path);
  return open_image(std::move(src), opts);
}

size_t CheckReport::count(FindingKind k) const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(),
                                           [k](const Finding& f) { return f.kind == k; }));
}

}  // namespace imgtool
