// The verdict at the command line: the flag a refusal names is accepted by
// every command that can be refused for it and does what it says; names taken
// from images never reach the terminal as control bytes.
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

class VerdictCli : public ::testing::Test {
 protected:
  void SetUp() override { IMGTOOL_REQUIRE_TOOL("qemu-img"); }
  // Runs `imgtool ARGS` in the test directory.
  RunResult tool(const std::string& args) {
    return run("cd " + sh_quote(dir_.path().string()) + " && " + sh_quote(imgtool_bin()) + " " + args);
  }
  void sh(const std::string& cmd) {
    RunResult r = run("cd " + sh_quote(dir_.path().string()) + " && (" + cmd + ")");
    ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  }
  bool exists(const std::string& name) const { return std::filesystem::exists(dir_.path() / name); }
  TempDir dir_;
};

// convert once advised --allow-external-files for a qcow2 data file and then
// rejected it as an unknown option.
TEST_F(VerdictCli, EveryCommandAcceptsTheFlagTheRefusalNames) {
  sh("printf 'secret' > secret.txt && printf '# Disk DescriptorFile\\nversion=1\\nCID=12345678\\n"
     "parentCID=ffffffff\\ncreateType=\"monolithicFlat\"\\nRW 1 FLAT \"secret.txt\" 0\\n' > d.vmdk");
  RunResult c = tool("check d.vmdk");
  EXPECT_EQ(c.exit_code, 4) << c.err;
  EXPECT_NE(c.err.find("--allow-external-files"), std::string::npos) << c.err;
  RunResult v = tool("convert -O raw d.vmdk o.raw");
  EXPECT_EQ(v.exit_code, 4) << v.err;
  EXPECT_NE(v.err.find("--allow-external-files"), std::string::npos) << v.err;
  EXPECT_FALSE(exists("o.raw"));
  RunResult p = tool("publish --dry-run --convert-to raw d.vmdk");
  EXPECT_EQ(p.exit_code, 4) << p.err;
  EXPECT_NE(p.err.find("--allow-external-files"), std::string::npos) << p.err;

  EXPECT_EQ(tool("check --allow-external-files d.vmdk").exit_code, 0);
  RunResult ok = tool("convert --allow-external-files -O raw d.vmdk o.raw");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(read_file((dir_.path() / "o.raw").string()).substr(0, 6), "secret");
  RunResult pub = tool("publish --dry-run --convert-to raw --allow-external-files --output=json d.vmdk");
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  // Without conversion the descriptor itself would go to Glance: no flag makes
  // that safe, and the refusal says what does.
  RunResult as_is = tool("publish --dry-run --allow-external-files d.vmdk");
  EXPECT_EQ(as_is.exit_code, 4) << as_is.err;
  EXPECT_NE(as_is.err.find("self-contained"), std::string::npos) << as_is.err;
}

TEST_F(VerdictCli, BackingFileFlagOnCheckConvertAndPublish) {
  sh("qemu-img create -q -f qcow2 base.qcow2 4M && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "
     "top.qcow2");
  for (const char* cmd : {"check top.qcow2", "convert -O raw top.qcow2 o.raw",
                          "publish --dry-run --convert-to raw top.qcow2"}) {
    RunResult r = tool(cmd);
    EXPECT_EQ(r.exit_code, 4) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("--allow-backing"), std::string::npos) << cmd << ": " << r.err;
  }
  EXPECT_EQ(tool("check --allow-backing top.qcow2").exit_code, 0);
  EXPECT_EQ(tool("convert --allow-backing -O raw top.qcow2 o.raw").exit_code, 0);
  EXPECT_EQ(tool("publish --dry-run --allow-backing --convert-to raw top.qcow2").exit_code, 0);
  EXPECT_EQ(tool("inspect --guest top.qcow2").exit_code, 4);  // qemu would follow it
}

// A backing file name carrying a terminal escape sequence and a newline.
TEST_F(VerdictCli, NamesFromImagesReachTheTerminalEscaped) {
  sh("qemu-img create -q -f qcow2 -u -b \"$(printf 'a\\033[2J\\nb.qcow2')\" -F raw evil.qcow2 1M");
  for (const char* cmd :
       {"check evil.qcow2", "check --output=json evil.qcow2", "convert -O raw evil.qcow2 o.raw",
        "publish --dry-run evil.qcow2", "info --imgtool evil.qcow2"}) {
    RunResult r = tool(cmd);
    SCOPED_TRACE(cmd);
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
    if (std::string(cmd).rfind("info", 0) != 0) {
      EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
    }
    if (!r.err.empty()) {
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
      EXPECT_NE(r.err.find("a\\x1b[2J\\x0ab.qcow2"), std::string::npos) << r.err;
    }
  }
  // info's first part stays byte-identical to qemu-img (which prints the name
  // as stored); the imgtool block after it is escaped.
  RunResult i = tool("info --imgtool evil.qcow2");
  RunResult q = run("cd " + sh_quote(dir_.path().string()) + " && qemu-img info evil.qcow2");
  ASSERT_EQ(i.out.compare(0, q.out.size(), q.out), 0) << i.out;
  EXPECT_EQ(i.out.find('\x1b', q.out.size()), std::string::npos) << i.out;
}

}  // namespace
}  // namespace imgtool::test
