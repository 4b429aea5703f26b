// Command-line habits qemu-img and openstackclient users bring: a repeatable
// option takes one value per occurrence (so it never swallows the positional
// argument after it), positionals may come anywhere, and convert accepts -U
// like info does.
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

class CliHabits : public ::testing::Test {
 protected:
  void SetUp() override {
    IMGTOOL_REQUIRE_TOOL("qemu-img");
    qemu_img("create -q -f qcow2 " + sh_quote(dir_.file("a.qcow2")) + " 1M");
  }
  RunResult tool(const std::string& args) {
    return run("cd " + sh_quote(dir_.path().string()) + " && " + sh_quote(imgtool_bin()) + " " + args);
  }
  TempDir dir_;
};

TEST_F(CliHabits, RepeatableOptionsTakeOneValuePerOccurrence) {
  RunResult r = tool("publish --tag t1 a.qcow2 --dry-run --output=json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"t1\""), std::string::npos) << r.out;
  r = tool("publish --property a=1 a.qcow2 --property b=2 --tag x --tag y --dry-run --output=json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"\"a\"", "\"b\"", "\"x\"", "\"y\""})
    EXPECT_NE(r.out.find(want), std::string::npos) << want;
}

TEST_F(CliHabits, PositionalsAnywhereAsInQemuImg) {
  RunResult r = tool("convert -o compat=0.10 a.qcow2 b.qcow2 -O qcow2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult i = run("qemu-img info " + sh_quote(dir_.file("b.qcow2")));
  EXPECT_NE(i.out.find("compat: 0.10"), std::string::npos) << i.out;
  r = tool("convert a.qcow2 -O raw c.raw -o ''");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliHabits, ConvertAcceptsForceShare) {
  RunResult r = tool("convert -U -O raw a.qcow2 d.raw");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace imgtool::test
