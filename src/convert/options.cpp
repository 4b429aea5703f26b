// Target selection and -o/-S validation, driven by the format table: the
// descriptor of the target format knows its writer and its -o keys.
#include <algorithm>

#include "convert/writers.hpp"
#include "formats/driver.hpp"
#include "imgtool/error.hpp"

namespace imgtool::convert {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

const formats::FormatDescriptor& target(Format f) {
  const formats::FormatDescriptor& d = formats::descriptor(f);
  if (!d.make_writer)
    throw Error(ErrorKind::Usage, "",
                "imgtool does not write " + std::string(d.name) +
                    " images (valid: " + format_list(writable_formats()) + ")");
  return d;
}

}  // namespace

void validate_zero_granularity(uint64_t s) {
  // qemu-img convert: "Invalid buffer size for sparse output specified.
  // Valid sizes are multiples of 512 up to 16MB" (MAX_BUF_SECTORS = 32768).
  if (s % 512 != 0 || s > (uint64_t{16} << 20))
    throw Error(ErrorKind::Usage, "",
                "-S " + std::to_string(s) + ": expected 0 or a multiple of 512 up to 16M");
}

std::unique_ptr<TargetWriter> make_writer(ByteSink& sink, const ConvertOptions& opts) {
  const formats::FormatDescriptor& d = target(opts.target_format);
  const std::vector<std::string> keys = d.option_keys ? d.option_keys() : std::vector<std::string>{};
  for (const auto& kv : opts.options)
    if (std::find(keys.begin(), keys.end(), kv.first) == keys.end())
      throw Error(ErrorKind::Usage, "",
                  "unknown -o option '" + kv.first + "' for " + std::string(d.name) +
                      (keys.empty() ? " (it takes none)" : " (valid: " + join(keys) + ")"));
  validate_zero_granularity(opts.zero_granularity);
  return d.make_writer(sink, TargetOptions{opts.options, opts.compress});
}

}  // namespace imgtool::convert

namespace imgtool {

std::vector<std::string> convert_option_keys(Format target_format) {
  const formats::FormatDescriptor& d = formats::descriptor(target_format);
  return d.option_keys ? d.option_keys() : std::vector<std::string>{};
}

void validate_convert_options(const ConvertOptions& opts) {
  convert::DiscardSink sink(/*seekable=*/true);
  (void)convert::make_writer(sink, opts);
}

bool convert_needs_seekable_output(const ConvertOptions& opts) {
  const formats::FormatDescriptor& d = formats::descriptor(opts.target_format);
  return d.needs_seekable_sink && d.needs_seekable_sink(convert::TargetOptions{opts.options, opts.compress});
}

std::map<std::string, std::string> parse_create_options(const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& arg : args) {
    size_t start = 0;
    while (start <= arg.size()) {
      const size_t comma = arg.find(',', start);
      std::string kv = arg.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? arg.size() + 1 : comma + 1;
      if (kv.empty()) continue;
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw Error(ErrorKind::Usage, "", "-o '" + kv + "': expected key=value");
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return out;
}

}  // namespace imgtool
