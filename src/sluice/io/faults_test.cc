#include "sluice/io/faults.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sluice/io/file_system.h"

namespace sluice::io {
namespace {

namespace fs = std::filesystem;

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice-faults-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Contents(const std::string& name) const {
    auto b = ReadFile(Path(name));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::string(b->view()) : "";
  }
  fs::path dir_;
};

TEST_F(FaultsTest, NthWriteFailsWithEioAndWritesNothing) {
  ScopedFaults faults({.fail_write = 2, .path_prefix = dir_.string()});
  auto w = FileWriter::Open(Path("a"), /*truncate=*/true);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("one").ok());
  ASSERT_TRUE((*w)->Sync().ok());  // write 1
  ASSERT_TRUE((*w)->Append("two").ok());
  Status st = (*w)->Sync();  // write 2 fails
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find(Path("a")), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find(std::strerror(EIO)), std::string::npos) << st.ToString();
  ASSERT_TRUE((*w)->Append("three").ok());
  ASSERT_TRUE((*w)->Sync().ok());  // write 3 succeeds again
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(Contents("a"), "onethree");
  EXPECT_EQ(faults.writes(), 3);
  EXPECT_EQ(faults.injected(), 1);
}

TEST_F(FaultsTest, NthFsyncFails) {
  ScopedFaults faults({.fail_fsync = 1, .path_prefix = dir_.string()});
  Status st = WriteFileAtomic(Path("b"), "content");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("fsync"), std::string::npos) << st.ToString();
  EXPECT_FALSE(fs::exists(Path("b")));  // the temporary file was never renamed into place
  for (const auto& e : fs::directory_iterator(dir_)) ADD_FAILURE() << "left behind: " << e.path();
  ASSERT_TRUE(WriteFileAtomic(Path("b"), "content").ok());
  EXPECT_EQ(Contents("b"), "content");
  EXPECT_EQ(faults.injected(), 1);
}

TEST_F(FaultsTest, NthRenameFailsAndKeepsTheOldFile) {
  ASSERT_TRUE(WriteFileAtomic(Path("c"), "old").ok());
  ScopedFaults faults({.fail_rename = 1, .path_prefix = dir_.string()});
  Status st = WriteFileAtomic(Path("c"), "new");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot rename"), std::string::npos) << st.ToString();
  EXPECT_EQ(Contents("c"), "old");
  EXPECT_EQ(faults.renames(), 1);
  ASSERT_TRUE(WriteFileAtomic(Path("c"), "new").ok());
  EXPECT_EQ(Contents("c"), "new");
}

TEST_F(FaultsTest, FullDiskWritesWhatFitsThenFailsWithEnospc) {
  ScopedFaults faults({.disk_bytes = 10, .path_prefix = dir_.string()});
  int fd = ::open(Path("d").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WriteAt(fd, "0123456", 0, Path("d")).ok());
  Status st = WriteAt(fd, "789abc", 7, Path("d"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(std::strerror(ENOSPC)), std::string::npos) << st.ToString();
  EXPECT_FALSE(WriteAt(fd, "x", 10, Path("d")).ok());  // the disk stays full
  EXPECT_TRUE(WriteAt(fd, "", 10, Path("d")).ok());    // an empty write needs no space
  EXPECT_TRUE(SyncFd(fd, Path("d")).ok());
  ::close(fd);
  EXPECT_EQ(Contents("d"), "0123456789");  // the failing write left the part that fit
  EXPECT_EQ(faults.bytes_written(), 10);
  EXPECT_EQ(faults.injected(), 2);
}

TEST_F(FaultsTest, OtherPathsAndTheTimeAfterTheScopeAreUntouched) {
  const std::string other = (dir_ / "other").string();
  {
    ScopedFaults faults({.fail_write = 1, .fail_fsync = 1, .path_prefix = (dir_ / "target").string()});
    ASSERT_TRUE(WriteFileAtomic(other, "fine").ok());
    EXPECT_EQ(faults.writes(), 0);
    EXPECT_FALSE(WriteFileAtomic(Path("target"), "x").ok());
    EXPECT_EQ(faults.writes(), 1);
  }
  ASSERT_TRUE(WriteFileAtomic(Path("target"), "x").ok());
  EXPECT_EQ(Contents("target"), "x");
  EXPECT_EQ(Contents("other"), "fine");
}

}  // namespace
}  // namespace sluice::io
