// Public entry points of the format layer: probe_all, detect_format, open_image.
// open_image() hands drivers a gate that denies everything: only assess()
// (verdict.cpp) opens files named inside an image.
#include <algorithm>

#include "formats/driver.hpp"
#include "formats/gate.hpp"
#include "imgtool/error.hpp"

namespace imgtool {
namespace formats {

std::vector<ProbeResult> probe_window(const ProbeWindow& w) {
  std::vector<ProbeResult> out;
  for (const auto& f : registry()) {
    int score = f.probe(w.input());
    if (score > 0) out.push_back({f.id, score});
  }
  // Best first; stable so that table order breaks ties.
  std::stable_sort(out.begin(), out.end(),
                   [](const ProbeResult& a, const ProbeResult& b) { return a.score > b.score; });
  return out;
}

std::unique_ptr<Image> open_with_gate(std::shared_ptr<const ByteSource> src, Format f, Gate& gate) {
  try {
    return descriptor(f).open(src, gate);
  } catch (const Error& e) {
    throw e.with_path(src->name());
  }
}

}  // namespace formats

std::vector<ProbeResult> probe_all(const ByteSource& src) {
  return formats::probe_window(formats::read_probe_window(src));
}

Format detect_format(const ByteSource& src) {
  auto all = probe_all(src);
  return all.empty() ? Format::Raw : all.front().format;
}

std::unique_ptr<Image> open_image(std::shared_ptr<const ByteSource> src, const OpenOptions& opts) {
  const Format fmt = opts.format ? *opts.format : detect_format(*src);
  formats::Gate gate = formats::Gate::for_open_image(*src);
  return formats::open_with_gate(std::move(src), fmt, gate);
}

std::unique_ptr<Image> open_image(const std::string& path, const OpenOptions& opts) {
  std::shared_ptr<const ByteSource> src = open_file_source(path);
  return open_image(std::move(src), opts);
}

size_t CheckReport::count(Severity s) const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(),
                                           [s](const Finding& f) { return f.severity == s; }));
}

bool CheckReport::clean() const {
  return std::none_of(findings.begin(), findings.end(), [](const Finding& f) { return f.severity > Severity::Note; });
}

}  // namespace imgtool
