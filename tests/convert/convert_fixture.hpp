#pragma once
// Source images for the convert tests, made once per test binary run with
// qemu-img/qemu-io: an odd virtual size (41126400), data at scattered
// offsets (patterns and incompressible random bytes), explicit zero ranges
// (write -z) and holes, in every source variant the engine reads.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "support/test_util.hpp"

namespace imgtool::test {

constexpr uint64_t kConvertVsize = 41126400;

struct SourceImage {
  std::string name;  // test label
  std::string path;
  std::string format;  // qemu format name
};

namespace convert_fixture_detail {

// Guest writes shared by every source (offsets in bytes).
inline const char* const kWrites[] = {
    "write -P 0x11 0 64k",
    "write -P 0x22 1048576 4k",  // partial cluster
    "write -P 0x33 3145728 1M",
    "write -z 3211264 64k",  // zeros inside data
    "write -P 0x44 17825792 512",
    "write -s RAND 26214400 256k",  // incompressible
    "write -P 0x55 30408704 2M",   "write -z 31457280 256k",
    "write -P 0x66 41125888 512",  // the last sector of the odd-sized disk
};

inline std::string io_script(const std::string& rand) {
  std::string s;
  for (const char* w : kWrites) {
    std::string cmd = w;
    auto p = cmd.find("RAND");
    if (p != std::string::npos) cmd.replace(p, 4, rand);
    s += " -c " + sh_quote(cmd);
  }
  return s;
}

struct Fixture {
  TempDir dir;
  std::vector<SourceImage> sources;

  Fixture() {
    const std::string rand = dir.file("rand.bin");
    run_ok("head -c 262144 /dev/urandom > " + sh_quote(rand));
    const std::string script = io_script(rand);
    auto make = [&](const std::string& name, const std::string& fmt, const std::string& create_opts) {
      std::string p = dir.file(name + "." + (fmt == "raw" ? std::string("raw") : fmt));
      run_ok("qemu-img create -q -f " + fmt + (create_opts.empty() ? "" : " -o " + create_opts) + " " +
             sh_quote(p) + " " + std::to_string(kConvertVsize));
      run_ok("qemu-io -f " + fmt + script + " " + sh_quote(p));
      sources.push_back({name, p, fmt});
      return p;
    };
    const std::string raw = make("raw", "raw", "");
    make("qcow2_v2", "qcow2", "compat=0.10");
    make("qcow2_v3", "qcow2", "compat=1.1");
    // Extended L2: 2 KiB subclusters written and zeroed one by one.
    std::string ext = make("qcow2_extl2", "qcow2", "compat=1.1,extended_l2=on,cluster_size=64k");
    run_ok(
        "qemu-io -f qcow2 -c 'write -P 0x77 5244928 2k' -c 'write -P 0x78 5251072 6k' "
        "-c 'write -z 5253120 2k' -c 'write -P 0x79 8390656 1k' " +
        sh_quote(ext));
    auto conv = [&](const std::string& name, const std::string& fmt, const std::string& args) {
      std::string p = dir.file(name + "." + fmt);
      run_ok("qemu-img convert -f raw -O " + fmt + " " + args + " " + sh_quote(raw) + " " + sh_quote(p));
      sources.push_back({name, p, fmt});
    };
    conv("qcow2_zlib", "qcow2", "-c -o compression_type=zlib");
    conv("qcow2_zstd", "qcow2", "-c -o compression_type=zstd");
    conv("vmdk_sparse", "vmdk", "-o subformat=monolithicSparse");
    conv("vmdk_stream", "vmdk", "-o subformat=streamOptimized");
  }
};

inline Fixture& fixture() {
  static std::once_flag once;
  static std::unique_ptr<Fixture> f;
  std::call_once(once, [] { f = std::make_unique<Fixture>(); });
  return *f;
}

}  // namespace convert_fixture_detail
using namespace convert_fixture_detail;

inline const std::vector<SourceImage>& convert_sources() {
  return fixture().sources;
}

inline const SourceImage& convert_source(const std::string& name) {
  for (const auto& s : convert_sources())
    if (s.name == name) return s;
  throw std::runtime_error("no convert source " + name);
}

inline const TempDir& convert_fixture_dir() {
  return fixture().dir;
}

}  // namespace imgtool::test
