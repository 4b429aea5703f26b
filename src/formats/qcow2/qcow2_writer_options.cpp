// -o options of the qcow2 target, with qemu-img's names, defaults and rules
// (qemu block/qcow2.c qcow2_co_create_opts / qcow2_co_create).
#include "formats/driver.hpp"
#include "formats/qcow2/qcow2_header.hpp"
#include "formats/qcow2/qcow2_layout.hpp"
#include "formats/qcow2/qcow2_writer.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"

namespace imgtool::formats {

std::vector<std::string> qcow2_option_keys() {
  return {"compat", "cluster_size", "refcount_bits", "lazy_refcounts", "compression_type", "preallocation"};
}

}  // namespace imgtool::formats

namespace imgtool::qcow2 {
namespace {

[[noreturn]] void bad(const std::string& target, const std::string& msg) {
  throw Error(ErrorKind::Usage, target, "qcow2 option " + msg);
}

bool parse_bool(const std::string& key, const std::string& v, const std::string& target) {
  if (v == "on" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "no" || v == "false") return false;
  bad(target, key + "='" + v + "': expected on or off");
}

uint64_t parse_size(const std::string& key, const std::string& v, const std::string& target) {
  std::optional<uint64_t> n = parse_qemu_size(v);
  if (!n) bad(target, key + "='" + v + "': expected a size such as 65536 or 64k (suffixes k, M, G)");
  return *n;
}

}  // namespace

WriterOptions parse_writer_options(const convert::TargetOptions& opts, const std::string& target) {
  WriterOptions o;
  o.compress = opts.compress;
  bool refcount_set = false, lazy_set = false, zstd_set = false;
  for (const auto& [key, v] : opts.options) {
    if (key == "compat") {
      if (v == "0.10" || v == "v2")
        o.version = 2;
      else if (v == "1.1" || v == "v3")
        o.version = 3;
      else
        bad(target, "compat='" + v + "': expected 0.10 or 1.1");
    } else if (key == "cluster_size") {
      uint64_t cs = parse_size(key, v, target);
      // qcow2.txt: cluster_bits >= 9; qemu caps at 21 (2 MiB).
      if (cs < (uint64_t{1} << kMinClusterBits) || cs > (uint64_t{1} << kMaxClusterBits) ||
          (cs & (cs - 1)) != 0)
        bad(target, "cluster_size=" + v + ": expected a power of two from 512 to 2M");
      o.cluster_bits = static_cast<uint32_t>(__builtin_ctzll(cs));
    } else if (key == "refcount_bits") {
      uint64_t bits = parse_size(key, v, target);
      if (bits == 0 || bits > (uint64_t{1} << kMaxRefcountOrder) || (bits & (bits - 1)) != 0)
        bad(target, "refcount_bits=" + v + ": expected 1, 2, 4, 8, 16, 32 or 64");
      o.refcount_order = static_cast<uint32_t>(__builtin_ctzll(bits));
      refcount_set = bits != 16;
    } else if (key == "lazy_refcounts") {
      o.lazy_refcounts = parse_bool(key, v, target);
      lazy_set = o.lazy_refcounts;
    } else if (key == "compression_type") {
      if (v == "zlib")
        o.zstd = false;
      else if (v == "zstd")
        o.zstd = true;
      else
        bad(target, "compression_type='" + v + "': expected zlib or zstd");
      zstd_set = o.zstd;
    } else if (key == "preallocation") {
      if (v == "off")
        o.prealloc_metadata = false;
      else if (v == "metadata")
        o.prealloc_metadata = true;
      else
        bad(target, "preallocation='" + v + "': expected off or metadata");
    } else {
      std::string list;
      for (const auto& k : formats::qcow2_option_keys()) list += (list.empty() ? "" : ", ") + k;
      bad(target, "'" + key + "' is unknown (valid: " + list + ")");
    }
  }
  // The same refusals as qemu's qcow2_co_create.
  if (o.version == 2) {
    if (refcount_set) bad(target, "refcount_bits other than 16 needs compat=1.1");
    if (lazy_set) bad(target, "lazy_refcounts=on needs compat=1.1");
    if (zstd_set) bad(target, "compression_type=zstd needs compat=1.1");
  }
  if (o.prealloc_metadata && o.compress)
    bad(target, "preallocation=metadata cannot be combined with compression (-c)");
  return o;
}

}  // namespace imgtool::qcow2
