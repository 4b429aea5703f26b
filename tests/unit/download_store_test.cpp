// download --store: the record's "stores" string as Glance writes it, and
// the refusal line (src/glance/download_parts.cpp). The real Glance cases
// are in tests/glance/download_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "glance/download_parts.hpp"
#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

using nlohmann::json;

TEST(DownloadStore, StoresFieldIsSplitAtCommas) {
  EXPECT_EQ(image_stores(json{{"stores", "local"}}), std::vector<std::string>{"local"});
  EXPECT_EQ(image_stores(json{{"stores", "ceph, fast ,local"}}),
            (std::vector<std::string>{"ceph", "fast", "local"}));
  EXPECT_EQ(image_stores(json{{"stores", ",,"}}), std::vector<std::string>{});
  EXPECT_TRUE(image_stores(json{{"id", "x"}}).empty());
  EXPECT_TRUE(image_stores(json{{"stores", 3}}).empty());
}

TEST(DownloadStore, RefusalListsTheStoresOrSaysThereAreNone) {
  EXPECT_NO_THROW(require_store(json{{"stores", "ceph,local"}}, "id1", "local"));
  try {
    require_store(json{{"stores", "ceph,fast"}}, "id1", "local");
    FAIL() << "no refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_EQ(e.path(), "id1");
    EXPECT_EQ(e.message(), "has no data in store 'local'; it is in: ceph, fast (nothing was downloaded)");
  }
  try {
    require_store(json{{"id", "id2"}}, "id2", "local");
    FAIL() << "no refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(e.message().find("Glance reports no stores for this image"), std::string::npos) << e.message();
  }
  // A store name that is a prefix of another is not that store.
  EXPECT_THROW(require_store(json{{"stores", "local-ssd"}}, "id3", "local"), Error);
}

}  // namespace
}  // namespace imgtool::glance
