#include "sluice/io/file_system.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace sluice::io {
namespace {

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-io-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(FileSystemTest, AtomicWriteThenPaddedRead) {
  std::string p = (dir_ / "sub" / "a.txt").string();
  ASSERT_TRUE(WriteFileAtomic(p, "hello").ok());
  auto b = ReadFile(p, 64);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->view(), "hello");
  EXPECT_EQ(b->data()[5], 0);  // padding
  EXPECT_EQ(b->data()[68], 0);
}

TEST_F(FileSystemTest, ExpandsGlobsAndDirectoriesSorted) {
  for (auto n : {"b.json", "a.json", "c.csv", ".hidden.json"}) {
    ASSERT_TRUE(WriteFileAtomic((dir_ / n).string(), "x").ok());
  }
  auto g = ExpandPath((dir_ / "*.json").string());
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->size(), 2u);
  EXPECT_NE((*g)[0].find("a.json"), std::string::npos);
  auto d = ExpandPath(dir_.string());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size(), 3u);  // hidden file skipped
  auto none = ExpandPath((dir_ / "*.parquet").string());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

TEST_F(FileSystemTest, MissingFileIsAnError) {
  auto r = ReadFile((dir_ / "nope").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
}

TEST_F(FileSystemTest, WriterAppendsAndSyncs) {
  std::string p = (dir_ / "w.txt").string();
  auto w = FileWriter::Open(p, true);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("a\n").ok());
  ASSERT_TRUE((*w)->Append("b\n").ok());
  ASSERT_TRUE((*w)->Sync().ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(ReadFile(p)->view(), "a\nb\n");
}

TEST_F(FileSystemTest, ChunkedReaderCarriesTailsAndGrows) {
  std::string content;
  for (int i = 0; i < 1000; ++i) content += "line " + std::to_string(i) + "\n";
  content += std::string(300, 'x');  // a record longer than a chunk, without a line end
  std::string p = (dir_ / "c.txt").string();
  ASSERT_TRUE(WriteFileAtomic(p, content).ok());
  auto r = ChunkedReader::Open(p, 64, 16);  // mapped: chunks are views of the file
  ASSERT_TRUE(r.ok());
  std::string seen;
  size_t unconsumed = 0;
  for (;;) {
    auto chunk = (*r)->Next(unconsumed);
    ASSERT_TRUE(chunk.ok());
    std::string_view c = *chunk;
    if (c.empty()) break;
    // `padding` bytes past the chunk are readable (ASan would catch a read past the map); the
    // last chunk, past the end of the file, is zero-padded.
    volatile char past = c.data()[c.size() + 15];
    if ((*r)->at_end()) EXPECT_EQ(past, 0);
    // Consume complete lines only, as a decoder would; the rest comes back next time.
    size_t nl = c.rfind('\n');
    size_t take = (*r)->at_end() ? c.size() : (nl == std::string_view::npos ? 0 : nl + 1);
    seen.append(c.substr(0, take));
    unconsumed = c.size() - take;
    if ((*r)->at_end()) break;
  }
  EXPECT_EQ(seen, content);
}

// ----------------------------------------------------------------------------- durable names

// The directories fsynced while it lives, in order.
class SyncedDirs {
 public:
  SyncedDirs() {
    SetSyncDirObserverForTesting(
        [this](const std::string& d) { dirs_.push_back(std::filesystem::path(d).lexically_normal().string()); });
  }
  ~SyncedDirs() { SetSyncDirObserverForTesting(nullptr); }
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

std::string Text(const std::filesystem::path& p) {
  auto b = ReadFile(p.string(), 0);
  return b.ok() ? std::string(b->view()) : "<" + b.status().ToString() + ">";
}

TEST_F(FileSystemTest, RenameDurablySyncsTheDirectoriesOfBothNames) {
  ASSERT_TRUE(WriteFileAtomic((dir_ / "a" / "f.tmp").string(), "data").ok());
  ASSERT_TRUE(MakeDirs((dir_ / "b").string()).ok());
  SyncedDirs synced;
  ASSERT_TRUE(RenameDurably((dir_ / "a" / "f.tmp").string(), (dir_ / "b" / "f").string()).ok());
  EXPECT_EQ(Text(dir_ / "b" / "f"), "data");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a" / "f.tmp"));
  EXPECT_EQ(synced.dirs(), (std::vector<std::string>{(dir_ / "b").string(), (dir_ / "a").string()}));
  auto missing = RenameDurably((dir_ / "nothing").string(), (dir_ / "b" / "g").string());
  EXPECT_EQ(missing.code(), StatusCode::kIoError);
}

TEST_F(FileSystemTest, AtomicWriteSyncsItsDirectoryAndKeepsTheMode) {
  SyncedDirs synced;
  const auto file = dir_ / "secret.json";
  ASSERT_TRUE(WriteFileAtomic(file.string(), "{}", 0600).ok());
  EXPECT_EQ(synced.dirs(), (std::vector<std::string>{dir_.string()}));
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()), 1);
}

TEST_F(FileSystemTest, LinkDurablyPublishesOnlyIfAbsent) {
  ASSERT_TRUE(WriteFileAtomic((dir_ / "first").string(), "1").ok());
  ASSERT_TRUE(WriteFileAtomic((dir_ / "second").string(), "2").ok());
  SyncedDirs synced;
  ASSERT_TRUE(LinkDurably((dir_ / "first").string(), (dir_ / "name").string()).ok());
  EXPECT_EQ(synced.dirs(), (std::vector<std::string>{dir_.string()}));
  auto taken = LinkDurably((dir_ / "second").string(), (dir_ / "name").string());
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists) << taken.ToString();
  EXPECT_EQ(Text(dir_ / "name"), "1");
}

TEST_F(FileSystemTest, MakeDirsSyncsTheParentOfEveryDirectoryItCreates) {
  SyncedDirs synced;
  ASSERT_TRUE(MakeDirs((dir_ / "x" / "y" / "z/").string()).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "x" / "y" / "z"));
  EXPECT_EQ(synced.dirs(),
            (std::vector<std::string>{dir_.string(), (dir_ / "x").string(), (dir_ / "x" / "y").string()}));
  ASSERT_TRUE(MakeDirs((dir_ / "x" / "y").string()).ok());  // there already: nothing to sync
  EXPECT_EQ(synced.dirs().size(), 3u);
  EXPECT_EQ(SyncDir((dir_ / "absent").string()).code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace sluice::io
