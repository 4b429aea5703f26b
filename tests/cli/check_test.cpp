// `imgtool check`: exit codes (0 clean, 1 cannot open, 2 corrupt, 3 leaks,
// 4 unsafe; unsafe > corrupt > leaks), findings on stderr one per line naming
// the file, and for qcow2 the same stdout summary as `qemu-img check`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_util.hpp"

namespace imgtool::test {
namespace {

class CheckCli : public ::testing::Test {
 protected:
  void SetUp() override { IMGTOOL_REQUIRE_TOOL("qemu-img"); }
  RunResult check(const std::string& file, const std::string& extra = "") {
    return run("cd " + sh_quote(dir_.path().string()) + " && " + sh_quote(imgtool_bin()) + " check " + extra +
               " " + sh_quote(file));
  }
  RunResult qemu_check(const std::string& file, const std::string& extra = "") {
    return run("cd " + sh_quote(dir_.path().string()) + " && qemu-img check " + extra + " " + sh_quote(file));
  }
  void sh(const std::string& cmd) {
    RunResult r = run("cd " + sh_quote(dir_.path().string()) + " && (" + cmd + ")");
    ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  }
  // Every stderr line is "imgtool: FILE: ..."; returns the number of lines.
  static size_t finding_lines(const RunResult& r, const std::string& file) {
    size_t n = 0, pos = 0;
    while (pos < r.err.size()) {
      size_t nl = r.err.find('\n', pos);
      if (nl == std::string::npos) nl = r.err.size();
      EXPECT_EQ(r.err.compare(pos, 11 + file.size(), "imgtool: " + file + ": "), 0) << r.err;
      ++n;
      pos = nl + 1;
    }
    return n;
  }
  // A qemu-made qcow2 whose L2 table (at 0x40000 in a fresh 64 MiB image with
  // two clusters written) gets a second pointer to the first data cluster.
  void make_shared_cluster(const std::string& name) {
    sh("qemu-img create -q -f qcow2 " + name + " 64M && qemu-io -c 'write 0 64k' -c 'write 64k 64k' " + name +
       " >/dev/null");
    std::string img = dir_.file(name);
    std::string l2 = read_file(img).substr(0x40000, 8);
    poke(img, 0x40008, l2);
  }
  TempDir dir_;
};

TEST_F(CheckCli, CleanQcow2SummaryEqualsQemuImg) {
  sh("qemu-img create -q -f qcow2 a.qcow2 64M && qemu-io -c 'write 0 1M' -c 'write 9M 64k' a.qcow2 "
     ">/dev/null");
  RunResult got = check("a.qcow2"), ref = qemu_check("a.qcow2");
  EXPECT_EQ(got.exit_code, 0);
  EXPECT_EQ(got.err, "");
  EXPECT_EQ(got.out, ref.out);
  EXPECT_NE(got.out.find("No errors were found on the image.\n"), std::string::npos);
}

TEST_F(CheckCli, CleanQcow2JsonHasQemuKeysAndVerdict) {
  sh("qemu-img create -q -f qcow2 -o cluster_size=4k a.qcow2 64M && qemu-io -c 'write 0 1M' a.qcow2 "
     ">/dev/null");
  RunResult got = check("a.qcow2", "--output=json"), ref = qemu_check("a.qcow2", "--output=json");
  ASSERT_EQ(got.exit_code, 0) << got.err;
  auto g = nlohmann::json::parse(got.out), q = nlohmann::json::parse(ref.out);
  for (auto it = q.begin(); it != q.end(); ++it) EXPECT_EQ(g[it.key()], it.value()) << it.key();
  EXPECT_EQ(g["verdict"], "clean");
  EXPECT_TRUE(g["unsafe"].empty());
  EXPECT_TRUE(g["findings"].empty());
}

TEST_F(CheckCli, SharedClusterIsCorruptExit2) {
  make_shared_cluster("c.qcow2");
  RunResult got = check("c.qcow2"), ref = qemu_check("c.qcow2");
  EXPECT_EQ(ref.exit_code, 2);
  EXPECT_EQ(got.exit_code, 2) << got.err;
  EXPECT_EQ(got.out, ref.out);  // same counts as qemu-img check
  EXPECT_GE(finding_lines(got, "c.qcow2"), 1u);
  RunResult j = check("c.qcow2", "--output=json");
  EXPECT_EQ(j.exit_code, 2);
  auto g = nlohmann::json::parse(j.out);
  EXPECT_EQ(g["verdict"], "corrupt");
  EXPECT_GE(g["corruptions"].get<int>(), 1);
  EXPECT_EQ(g["findings"].size(), g["corruptions"].get<size_t>() + g.value("leaks", size_t{0}));
}

TEST_F(CheckCli, LeakedClusterOnlyIsExit3) {
  // Cluster 6 gets refcount 1 (refcount block at 0x20000, 16-bit entries) but
  // nothing points at it.
  sh("qemu-img create -q -f qcow2 l.qcow2 64M && qemu-io -c 'write 0 64k' l.qcow2 >/dev/null && "
     "truncate -s 458752 l.qcow2");
  poke_be32(dir_.file("l.qcow2"), 0x20000 + 12, 0x00010000);  // entries 6, 7 = 1, 0
  RunResult got = check("l.qcow2"), ref = qemu_check("l.qcow2");
  EXPECT_EQ(ref.exit_code, 3);
  EXPECT_EQ(got.exit_code, 3) << got.err;
  EXPECT_EQ(got.out, ref.out);
  EXPECT_EQ(finding_lines(got, "l.qcow2"), 1u);
}

TEST_F(CheckCli, BackingFileIsUnsafeExit4WithoutOpeningIt) {
  sh("qemu-img create -q -f qcow2 base.qcow2 64M && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "
     "o.qcow2 && "
     "rm base.qcow2");
  RunResult got = check("o.qcow2");
  EXPECT_EQ(got.exit_code, 4) << got.err;
  EXPECT_NE(got.out.find("o.qcow2: unsafe: "), std::string::npos) << got.out;
  EXPECT_NE(got.out.find("base.qcow2"), std::string::npos);
  EXPECT_EQ(finding_lines(got, "o.qcow2"), 1u);
  auto g = nlohmann::json::parse(check("o.qcow2", "--output=json").out);
  EXPECT_EQ(g["verdict"], "unsafe");
  ASSERT_EQ(g["unsafe"].size(), 1u);
  EXPECT_EQ(g["findings"][0]["severity"], "unsafe");
  EXPECT_EQ(g["findings"][0]["kind"], "named-file");
  EXPECT_EQ(g["findings"][0]["file"]["role"], "backing-file");
  EXPECT_EQ(g["findings"][0]["file"]["name"], "base.qcow2");
  EXPECT_EQ(g["findings"][0]["override"], "--allow-backing");
}

TEST_F(CheckCli, UnsafeWinsOverCorrupt) {
  make_shared_cluster("c.qcow2");
  // Add a backing file name to the corrupt image (qemu-img rebase -u only
  // rewrites the header).
  sh("qemu-img create -q -f qcow2 base.qcow2 64M && qemu-img rebase -u -b base.qcow2 -F qcow2 c.qcow2");
  RunResult got = check("c.qcow2");
  EXPECT_EQ(got.exit_code, 4) << got.err;
  EXPECT_NE(got.out.find("errors were found on the image"), std::string::npos);
}

TEST_F(CheckCli, RawIsCleanUnlikeQemuImg) {
  sh("truncate -s 1M r.raw");
  RunResult got = check("r.raw");
  EXPECT_EQ(got.exit_code, 0);
  EXPECT_EQ(got.out, "No errors were found on the image.\n");
  EXPECT_EQ(got.err, "");
  EXPECT_EQ(qemu_check("r.raw").exit_code, 63);  // "This image format does not support checks"
}

TEST_F(CheckCli, RawWithBadMbrFailsGlanceCheck) {
  sh("truncate -s 1M r.raw");
  std::string img = dir_.file("r.raw");
  poke(img, 446, std::string("\x0a\x00\x02\x00\x83\x00\x00\x00", 8));  // boot flag 0x0A, type 0x83
  poke(img, 446 + 8, std::string("\x01\x00\x00\x00\x00\x01\x00\x00", 8));
  poke(img, 510, "\x55\xaa");
  RunResult got = check("r.raw");
  EXPECT_EQ(got.exit_code, 4) << got.out << got.err;
  EXPECT_NE(got.err.find("boot flag"), std::string::npos) << got.err;
}

TEST_F(CheckCli, TwoFormatsClaimingTheBytesIsUnsafe) {
  sh("qemu-img create -q -f qcow2 a.qcow2 64M");
  poke(dir_.file("a.qcow2"), 0x8001, "CD001");  // an ISO 9660 volume descriptor inside cluster 0
  RunResult got = check("a.qcow2");
  EXPECT_EQ(got.exit_code, 4) << got.err;
  EXPECT_NE(got.err.find("iso"), std::string::npos) << got.err;
}

TEST_F(CheckCli, MissingFileIsExit1WithOneLine) {
  RunResult got = check("nope.qcow2");
  EXPECT_EQ(got.exit_code, 1);
  EXPECT_EQ(finding_lines(got, "nope.qcow2"), 1u);
  EXPECT_EQ(got.out, "");
}

}  // namespace
}  // namespace imgtool::test
