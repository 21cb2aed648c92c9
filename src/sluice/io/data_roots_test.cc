#include "sluice/io/data_roots.h"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

namespace sluice::io {
namespace {

namespace fs = std::filesystem;

class DataRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-roots-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "team" / "in");
    fs::create_directories(dir_ / "other");
    std::ofstream(dir_ / "other" / "secret.txt") << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(DataRootsTest, UnconfinedAllowsEveryPath) {
  const DataRoots roots;
  EXPECT_FALSE(roots.confined());
  EXPECT_TRUE(roots.Check("/etc/passwd").ok());
  EXPECT_TRUE(roots.Check("../../anything").ok());
}

TEST_F(DataRootsTest, AllowsPathsInsideARootThatExistOrNot) {
  const auto roots = DataRoots::Confined({dir_ / "team"});
  EXPECT_TRUE(roots.Check((dir_ / "team").string()).ok());
  EXPECT_TRUE(roots.Check((dir_ / "team" / "in").string()).ok());
  EXPECT_TRUE(roots.Check((dir_ / "team" / "out" / "new" / "file.parquet").string()).ok());
  EXPECT_TRUE(roots.Check((dir_ / "team" / "in" / ".." / "x.json").string()).ok());
}

TEST_F(DataRootsTest, RefusesAbsolutePathsElsewhereDotDotAndPrefixSiblings) {
  const auto roots = DataRoots::Confined({dir_ / "team"});
  const Status abs = roots.Check("/etc/passwd");
  ASSERT_FALSE(abs.ok());
  EXPECT_EQ(abs.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(abs.message().find("'/etc/passwd'"), std::string::npos) << abs.message();
  EXPECT_NE(abs.message().find((dir_ / "team").string()), std::string::npos) << abs.message();
  EXPECT_FALSE(roots.Check((dir_ / "team" / ".." / "other" / "secret.txt").string()).ok());
  // "<dir>/team2" starts with the text "<dir>/team" but is not inside it.
  EXPECT_FALSE(roots.Check((dir_ / "team2" / "x").string()).ok());
  EXPECT_FALSE(roots.Check(dir_.string()).ok());
}

TEST_F(DataRootsTest, FollowsSymlinksThatLeadOut) {
  fs::create_symlink(dir_ / "other", dir_ / "team" / "escape");
  fs::create_symlink(dir_ / "other" / "secret.txt", dir_ / "team" / "in" / "link.txt");
  const auto roots = DataRoots::Confined({dir_ / "team"});
  const Status through_dir = roots.Check((dir_ / "team" / "escape" / "secret.txt").string());
  ASSERT_FALSE(through_dir.ok());
  EXPECT_NE(through_dir.message().find("it leads to"), std::string::npos) << through_dir.message();
  EXPECT_FALSE(roots.Check((dir_ / "team" / "in" / "link.txt").string()).ok());
  // A file not yet written below a symlinked folder is refused too.
  EXPECT_FALSE(roots.Check((dir_ / "team" / "escape" / "new" / "out.json").string()).ok());
}

TEST_F(DataRootsTest, ARootThatIsASymlinkIsResolvedToo) {
  fs::create_symlink(dir_ / "team", dir_ / "team-link");
  const auto roots = DataRoots::Confined({dir_ / "team-link"});
  EXPECT_TRUE(roots.Check((dir_ / "team" / "in" / "a.json").string()).ok());
  EXPECT_TRUE(roots.Check((dir_ / "team-link" / "in" / "a.json").string()).ok());
  EXPECT_FALSE(roots.Check((dir_ / "other" / "secret.txt").string()).ok());
}

TEST_F(DataRootsTest, ExtraRootsAreAllowedAndListedInTheMessage) {
  const auto roots = DataRoots::Confined({dir_ / "team", dir_ / "other"});
  EXPECT_TRUE(roots.Check((dir_ / "other" / "secret.txt").string()).ok());
  EXPECT_EQ(roots.Describe(), (dir_ / "team").string() + ", " + (dir_ / "other").string());
}

}  // namespace
}  // namespace sluice::io
