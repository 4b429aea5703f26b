// -o options of the vmdk target, with qemu-img's names, defaults and rules
// (qemu block/vmdk.c vmdk_co_create_opts / vmdk_co_do_create).
#include <algorithm>

#include "formats/driver.hpp"
#include "formats/vmdk/vmdk_writer.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {

std::vector<std::string> vmdk_option_keys() {
  return {"subformat", "adapter_type", "hwversion", "compat6", "toolsversion", "zeroed_grain"};
}

}  // namespace imgtool::formats

namespace imgtool::vmdk {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// qemu's QEMU_OPT_BOOL spellings.
bool parse_bool(const std::string& key, const std::string& v, const std::string& target) {
  if (v == "on" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "no" || v == "false") return false;
  throw Error(ErrorKind::Usage, target, "vmdk option " + key + "='" + v + "': expected on or off");
}

// hwversion/toolsversion end up inside a quoted descriptor value: keep them
// to the characters VMware itself writes there.
std::string parse_token(const std::string& key, const std::string& v, const std::string& target) {
  constexpr size_t kMaxLen = 32;
  bool ok = !v.empty() && v.size() <= kMaxLen && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '_';
  });
  if (!ok)
    throw Error(ErrorKind::Usage, target,
                "vmdk option " + key + "='" + v + "': expected 1 to " + std::to_string(kMaxLen) +
                    " characters from [A-Za-z0-9._-]");
  return v;
}

}  // namespace

WriterOptions parse_writer_options(const convert::TargetOptions& opts, const std::string& target) {
  WriterOptions o;
  bool compat6 = false;
  bool hwversion_set = false;
  const auto keys = formats::vmdk_option_keys();
  for (const auto& [key, value] : opts.options) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      throw Error(ErrorKind::Usage, target, "unknown option '" + key + "' for vmdk; valid: " + join(keys));
    if (key == "subformat") {
      if (value == "monolithicSparse") {
        o.subformat = Subformat::MonolithicSparse;
      } else if (value == "streamOptimized") {
        o.subformat = Subformat::StreamOptimized;
      } else {
        throw Error(ErrorKind::Usage, target,
                    "vmdk subformat '" + value +
                        "' is not supported; supported: monolithicSparse (default), streamOptimized "
                        "(single-file images; the flat and split subformats name other files)");
      }
    } else if (key == "adapter_type") {
      static const std::vector<std::string> kAdapters = {"ide", "lsilogic", "buslogic", "legacyESX"};
      if (std::find(kAdapters.begin(), kAdapters.end(), value) == kAdapters.end())
        throw Error(ErrorKind::Usage, target,
                    "vmdk adapter_type '" + value + "' is not valid; expected one of " + join(kAdapters));
      o.adapter_type = value;
    } else if (key == "hwversion") {
      // qemu's default value string "undefined" means "not set".
      if (value != "undefined") {
        o.hwversion = parse_token(key, value, target);
        hwversion_set = true;
      }
    } else if (key == "compat6") {
      compat6 = parse_bool(key, value, target);
    } else if (key == "toolsversion") {
      o.toolsversion = parse_token(key, value, target);
    } else if (key == "zeroed_grain") {
      o.zeroed_grain = parse_bool(key, value, target);
    }
  }
  if (compat6) {
    if (hwversion_set)
      throw Error(ErrorKind::Usage, target, "vmdk: compat6 cannot be enabled with hwversion set");
    o.hwversion = "6";
  }
  if (opts.compress && o.subformat != Subformat::StreamOptimized)
    throw Error(
        ErrorKind::Usage, target,
        "vmdk: -c needs -o subformat=streamOptimized (monolithicSparse grains are stored uncompressed)");
  return o;
}

}  // namespace imgtool::vmdk
