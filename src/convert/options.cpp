// Target selection and the -o/-S validation shared by convert() and the CLI.
#include "formats/qcow2/qcow2_writer.hpp"
#include "formats/vmdk/vmdk_writer.hpp"
#include "convert/writers.hpp"
#include "imgtool/error.hpp"

namespace imgtool::convert {
namespace {

const std::vector<std::string> kTargets{"raw", "qcow2", "vmdk"};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Validation needs a sink to construct a writer; this one accepts everything
// and behaves like a file (so no layout is refused for being a stream).
class DiscardSink final : public ByteSink {
 public:
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> d) override { pos_ += d.size(); }
  void write_zeros(uint64_t n) override { pos_ += n; }
  uint64_t position() const override { return pos_; }
  void finish() override {}
  bool seekable() const override { return true; }
  void pwrite(uint64_t, std::span<const std::byte>) override {}

 private:
  std::string name_ = "(output)";
  uint64_t pos_ = 0;
};

}  // namespace

std::vector<std::string> valid_option_keys(const std::string& format) {
  if (format == "raw") return {};
  if (format == "qcow2") return qcow2_option_keys();
  if (format == "vmdk") return vmdk_option_keys();
  throw Error(ErrorKind::Usage, "", "unknown output format '" + format + "' (valid: " + join(kTargets) + ")");
}

void validate_zero_granularity(uint64_t s) {
  // qemu-img convert: "Invalid buffer size for sparse output specified.
  // Valid sizes are multiples of 512 up to 16MB" (MAX_BUF_SECTORS = 32768).
  if (s % 512 != 0 || s > (uint64_t{16} << 20))
    throw Error(ErrorKind::Usage, "",
                "-S " + std::to_string(s) + ": expected 0 or a multiple of 512 up to 16M");
}

std::unique_ptr<TargetWriter> make_writer(ByteSink& sink, const ConvertOptions& opts) {
  const std::vector<std::string> keys = valid_option_keys(opts.target_format);
  for (const auto& kv : opts.options)
    if (std::find(keys.begin(), keys.end(), kv.first) == keys.end())
      throw Error(ErrorKind::Usage, "",
                  "unknown -o option '" + kv.first + "' for " + opts.target_format +
                      (keys.empty() ? " (it takes none)" : " (valid: " + join(keys) + ")"));
  validate_zero_granularity(opts.zero_granularity);
  TargetOptions t{opts.options, opts.compress};
  if (opts.target_format == "raw") return make_raw_writer(sink, t);
  if (opts.target_format == "qcow2") return make_qcow2_writer(sink, t);
  return make_vmdk_writer(sink, t);
}

}  // namespace imgtool::convert

namespace imgtool {

std::vector<std::string> convert_option_keys(const std::string& target_format) {
  return convert::valid_option_keys(target_format);
}

void validate_convert_options(const ConvertOptions& opts) {
  convert::DiscardSink sink;
  (void)convert::make_writer(sink, opts);
}

}  // namespace imgtool
