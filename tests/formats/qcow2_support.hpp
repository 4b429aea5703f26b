#pragma once
// Helpers for the qcow2 tests: compare what imgtool sees in an image with
// what qemu-img 7.2 reports for the same file (data, map, check, info).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "imgtool/error.hpp"
#include "imgtool/image.hpp"

namespace imgtool::test {

nlohmann::json qemu_json(const std::string& cmd);  // runs `qemu-img <cmd>`, parses stdout
nlohmann::json info_node_json(const InfoNode& n);  // InfoNode -> json (dict order ignored by ==)
// allow_external = false: open_image() (opens no other file); true: the
// verdict's image with --allow-external-files (a data file beside it is read).
std::shared_ptr<const Image> open_qcow2(const std::string& path, bool allow_external = false);

// Every guest byte read through imgtool equals `qemu-img convert -O raw`.
void expect_same_data(const Image& img, const std::string& path, const std::string& tmp_raw);
// map() agrees with `qemu-img map --output=json` on present/data per byte range.
void expect_same_map(const Image& img, const std::string& path);
// check() statistics and error/leak counts equal `qemu-img check --output=json`.
void expect_same_check(const Image& img, const std::string& path);
// info() equals `qemu-img info --output=json` (sizes, format-specific data, snapshots, backing).
void expect_same_info(const Image& img, const std::string& path);
// All four.
void expect_like_qemu(const std::string& path, const std::string& tmp_raw);

// Runs `fn` and asserts it throws imgtool::Error of `kind` whose text contains `needle`.
template <class Fn>
void expect_error(Fn&& fn, ErrorKind kind, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown; expected " << to_string(kind) << " containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace imgtool::test
