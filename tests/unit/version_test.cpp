// imgtool::version(), the generated version macros and the umbrella header.
// Including only <imgtool/imgtool.hpp> here proves that it compiles on its
// own and declares what the other headers declare.
#include <imgtool/imgtool.hpp>
#include <string>

#include "support/test_util.hpp"

namespace imgtool::test {

TEST(Version, LibraryMatchesTheGeneratedHeader) {
  EXPECT_EQ(imgtool::version(), IMGTOOL_VERSION_STRING);
  const std::string parts = std::to_string(IMGTOOL_VERSION_MAJOR) + "." +
                            std::to_string(IMGTOOL_VERSION_MINOR) + "." +
                            std::to_string(IMGTOOL_VERSION_PATCH);
  EXPECT_EQ(imgtool::version(), parts);
}

TEST(Version, CliPrintsTheLibraryVersion) {
  const RunResult r = run(sh_quote(imgtool_bin()) + " --version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "imgtool " + std::string(imgtool::version()) + "\n");
}

TEST(Version, UmbrellaHeaderDeclaresTheApi) {
  // One name from a few headers, through the umbrella include only.
  EXPECT_EQ(format_name(Format::Qcow2), "qcow2");
  EXPECT_EQ(to_string(Verdict::Clean), "clean");
  EXPECT_STREQ(to_string(HashAlgo::sha512), "sha512");
  EXPECT_FALSE(convert_option_keys(Format::Qcow2).empty());
}

}  // namespace imgtool::test
