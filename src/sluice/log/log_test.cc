#include "sluice/log/log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "sluice/io/faults.h"
#include "sluice/log/crc32c.h"
#include "sluice/log/format.h"

namespace sluice::log {
namespace {

namespace fs = std::filesystem;

// The value of the record at `offset` of `partition`: its length varies with the offset.
std::string ValueFor(int partition, int64_t offset) {
  std::string v = "p" + std::to_string(partition) + "-o" + std::to_string(offset) + "-";
  v.append(static_cast<size_t>(offset * 37 % 300), static_cast<char>('a' + offset % 26));
  return v;
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sluice-log-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Log> OpenLog(LogOptions o) {
    auto r = Log::Open(root_.string(), "events", o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  // Appends batches of 1..5 records until the partition's end offset reaches `end`.
  static void Fill(Log& log, int partition, int64_t end) {
    while (log.EndOffset(partition) < end) {
      int64_t off = log.EndOffset(partition);
      int n = static_cast<int>(std::min<int64_t>(1 + off % 5, end - off));
      std::vector<std::string> vals;
      for (int i = 0; i < n; ++i) vals.push_back(ValueFor(partition, off + i));
      std::vector<std::string_view> views(vals.begin(), vals.end());
      auto r = log.Append(partition, views);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(*r, off);
    }
  }
  static void ExpectAll(Log& log, int partition, int64_t from, int64_t end) {
    int64_t next = from;
    while (next < end) {
      auto r = log.Read(partition, next, 7);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_FALSE(r->empty());
      for (const auto& rec : *r) {
        ASSERT_EQ(rec.offset, next);
        ASSERT_EQ(rec.value, ValueFor(partition, next));
        ++next;
      }
    }
    EXPECT_EQ(next, end);
  }
  std::vector<fs::path> Segments(int partition) {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(root_ / "events" / ("p-" + std::to_string(partition)))) {
      if (e.path().extension() == ".log") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path root_;
};

TEST(Crc32cTest, KnownValueAndPortableAgree) {
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xE3069283u);
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  for (size_t n : {0, 1, 7, 8, 9, 63, 1000}) {
    EXPECT_EQ(crc32c::Extend(5, data.data(), n), crc32c::ExtendPortable(5, data.data(), n)) << n;
  }
  EXPECT_EQ(crc32c::Extend(crc32c::Value(data.data(), 100), data.data() + 100, 900),
            crc32c::Value(data.data(), 1000));
}

TEST_F(LogTest, RoundTripAcrossPartitionsAndSegmentRolls) {
  auto log = OpenLog({.partitions = 3, .segment_bytes = 4096});
  ASSERT_TRUE(log);
  EXPECT_EQ(log->partitions(), 3);
  for (int p = 0; p < 3; ++p) Fill(*log, p, 200 + 50 * p);
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(log->EndOffset(p), 200 + 50 * p);
    ExpectAll(*log, p, 0, log->EndOffset(p));
    ExpectAll(*log, p, 123, log->EndOffset(p));  // starts mid-batch, mid-segment
    EXPECT_GT(Segments(p).size(), 3u);
  }
  // Segment names are the 20-digit base offset.
  EXPECT_EQ(Segments(0).front().filename(), "00000000000000000000.log");
  auto empty = log->Read(0, 200, 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(log->Read(0, 201, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Read(3, 0, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Append(0, {}).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(log->Close().ok());
  auto topics = Log::ListTopics(root_.string());
  ASSERT_TRUE(topics.ok());
  EXPECT_EQ(*topics, std::vector<std::string>{"events"});
}

TEST_F(LogTest, SparseIndexFindsLateOffsetsInLargeSegment) {
  auto log = OpenLog({.partitions = 1, .segment_bytes = 1 << 20});
  ASSERT_TRUE(log);
  Fill(*log, 0, 2000);
  ASSERT_EQ(Segments(0).size(), 1u);
  EXPECT_GT(fs::file_size(root_ / "events/p-0/00000000000000000000.index"), 8u);
  ExpectAll(*log, 0, 1777, 2000);
  ASSERT_TRUE(log->Close().ok());
  auto again = OpenLog({.partitions = 1, .segment_bytes = 1 << 20});
  ExpectAll(*again, 0, 1500, 2000);
}

TEST_F(LogTest, OffsetsAreDense) {
  auto log = OpenLog({.partitions = 1});
  ASSERT_TRUE(log);
  int64_t expected = 0;
  for (int n : {1, 3, 2, 10, 1}) {
    std::vector<std::string_view> recs(n, "x");
    auto r = log->Append(0, recs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, expected);
    expected += n;
  }
  EXPECT_EQ(log->EndOffset(0), expected);
  auto all = log->Read(0, 0, 1000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(static_cast<int64_t>(all->size()), expected);
  for (int64_t i = 0; i < expected; ++i) EXPECT_EQ((*all)[i].offset, i);
}

TEST_F(LogTest, ReopenKeepsEverythingAndPartitionCount) {
  {
    auto log = OpenLog({.partitions = 2, .segment_bytes = 4096, .fsync = FsyncPolicy::Interval(50)});
    ASSERT_TRUE(log);
    Fill(*log, 0, 300);
    Fill(*log, 1, 10);
    ASSERT_TRUE(log->Close().ok());
    EXPECT_EQ(log->Append(0, {"x"}).status().code(), StatusCode::kFailedPrecondition);
  }
  auto mismatch = Log::Open(root_.string(), "events", {.partitions = 3});
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("has 2 partitions"), std::string::npos);
  auto log = OpenLog({.partitions = 0, .segment_bytes = 4096});
  ASSERT_TRUE(log);
  EXPECT_EQ(log->partitions(), 2);
  EXPECT_EQ(log->EndOffset(0), 300);
  EXPECT_EQ(log->EndOffset(1), 10);
  ExpectAll(*log, 0, 0, 300);
  ExpectAll(*log, 1, 0, 10);
  // A second open of the same topic is refused while the first holds it.
  EXPECT_EQ(Log::Open(root_.string(), "events", {.partitions = 2}).status().code(),
            StatusCode::kFailedPrecondition);
  Fill(*log, 0, 320);
  ExpectAll(*log, 0, 0, 320);
}

TEST_F(LogTest, RecoveryTruncatesTornLastBatch) {
  auto segment = root_ / "events/p-0/00000000000000000000.log";
  {
    auto log = OpenLog({.partitions = 1});
    Fill(*log, 0, 40);
    ASSERT_TRUE(log->Close().ok());
  }
  const auto full = fs::file_size(segment);
  // Cut a few bytes off the end: the last batch goes, everything before stays.
  fs::resize_file(segment, full - 3);
  int64_t after_cut;
  {
    auto log = OpenLog({.partitions = 1});
    after_cut = log->EndOffset(0);
    EXPECT_LT(after_cut, 40);
    EXPECT_GE(after_cut, 35);
    ExpectAll(*log, 0, 0, after_cut);
    Fill(*log, 0, 40);  // appends continue cleanly after the truncation point
    ExpectAll(*log, 0, 0, 40);
  }
  // Flip one payload byte of the last batch: its CRC fails and it is dropped.
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-2, std::ios::end);
    char c;
    f.get(c);
    f.seekp(-2, std::ios::end);
    f.put(static_cast<char>(c ^ 0x40));
  }
  {
    auto log = OpenLog({.partitions = 1});
    EXPECT_EQ(log->EndOffset(0), after_cut);
    ExpectAll(*log, 0, 0, after_cut);
  }
  // Only a partial header left.
  auto size = fs::file_size(segment);
  {
    std::ofstream f(segment, std::ios::app | std::ios::binary);
    f.write("SLLG\x01", 5);
  }
  auto log = OpenLog({.partitions = 1});
  EXPECT_EQ(log->EndOffset(0), after_cut);
  EXPECT_EQ(fs::file_size(segment), size);
}

TEST_F(LogTest, CorruptionInSealedSegmentIsAnErrorNamingTheFile) {
  {
    auto log = OpenLog({.partitions = 1, .segment_bytes = 2048});
    Fill(*log, 0, 100);
    ASSERT_TRUE(log->Close().ok());
  }
  auto segs = Segments(0);
  ASSERT_GE(segs.size(), 3u);
  auto sealed = segs[1];
  {
    std::fstream f(sealed, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(format::kBatchHeaderBytes + 5);
    f.put('\xff');
  }
  auto log = OpenLog({.partitions = 1, .segment_bytes = 2048});
  ASSERT_TRUE(log);
  auto r = log->Read(0, 0, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find(sealed.filename().string()), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("position 0"), std::string::npos) << r.status().ToString();
  // Segments before it still read.
  auto first = log->Read(0, 0, 3);
  EXPECT_TRUE(first.ok());
}

TEST_F(LogTest, CorruptionBeforeTheLastBatchOfActiveSegmentFailsOpen) {
  {
    auto log = OpenLog({.partitions = 1});
    Fill(*log, 0, 30);
    ASSERT_TRUE(log->Close().ok());
  }
  auto segment = Segments(0).front();
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(format::kBatchHeaderBytes + 3);
    f.put('\xff');
  }
  auto r = Log::Open(root_.string(), "events", {.partitions = 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find(segment.filename().string()), std::string::npos);
}

TEST_F(LogTest, RetentionDropsOldSegments) {
  LogOptions o{.partitions = 1, .segment_bytes = 2048, .retention_bytes = 6000};
  auto log = OpenLog(o);
  Fill(*log, 0, 300);
  int64_t start = log->StartOffset(0);
  EXPECT_GT(start, 0);
  int64_t total = 0;
  for (auto& s : Segments(0)) total += static_cast<int64_t>(fs::file_size(s));
  EXPECT_LE(total, 6000 + 2048);
  EXPECT_EQ(fs::path(Segments(0).front()).filename().string(), fmt::format("{:020d}.log", start));
  ExpectAll(*log, 0, start, 300);
  auto r = log->Read(0, start - 1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(fmt::format("now starts at {}", start)), std::string::npos)
      << r.status().ToString();
  ASSERT_TRUE(log->Close().ok());
  auto again = OpenLog(o);
  EXPECT_EQ(again->StartOffset(0), start);
  ExpectAll(*again, 0, start, 300);
}

TEST_F(LogTest, InvalidArguments) {
  EXPECT_EQ(Log::Open(root_.string(), "../x", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Log::Open(root_.string(), "t", {.partitions = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Log::Open(root_.string(), "t", {.segment_bytes = 10}).status().code(), StatusCode::kInvalidArgument);
}

// A child appends with fsync per batch and reports each acknowledged end offset through a pipe;
// it is killed with SIGKILL at a random moment. Every acknowledged record must survive intact.
TEST_F(LogTest, SigkillDuringAppendsLosesNothingAcknowledged) {
  LogOptions o{.partitions = 2, .segment_bytes = 8192, .fsync = FsyncPolicy::EveryBatch()};
  std::mt19937 rng(42);
  int64_t acked_total = 0;
  for (int round = 0; round < 8; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto r = Log::Open(root_.string(), "events", o);
      if (!r.ok()) ::_exit(3);
      Log& log = **r;
      for (int64_t i = 0;; ++i) {
        int p = static_cast<int>(i % 2);
        int64_t off = log.EndOffset(p);
        int n = static_cast<int>(1 + off % 4);
        std::vector<std::string> vals;
        for (int k = 0; k < n; ++k) vals.push_back(ValueFor(p, off + k));
        std::vector<std::string_view> views(vals.begin(), vals.end());
        if (!log.Append(p, views).ok()) ::_exit(4);
        int64_t msg[2] = {p, off + n};
        if (::write(fds[1], msg, sizeof msg) != sizeof msg) ::_exit(5);
      }
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
    int64_t acked[2] = {0, 0}, msg[2];
    while (::read(fds[0], msg, sizeof msg) == sizeof msg) acked[msg[0]] = msg[1];
    ::close(fds[0]);
    acked_total += acked[0] + acked[1];

    auto log = OpenLog(o);
    ASSERT_TRUE(log);
    for (int p = 0; p < 2; ++p) {
      EXPECT_GE(log->EndOffset(p), acked[p]) << "round " << round << " partition " << p;
      ExpectAll(*log, p, 0, log->EndOffset(p));
    }
    ASSERT_TRUE(log->Close().ok());
  }
  EXPECT_GT(acked_total, 0);  // the children did get appends acknowledged before being killed
}

// Fault injection: appends under a FaultPlan until one fails, while a reader in the same process
// follows the end offset. The oracle is the list of acknowledged values: the reader, the log
// right after the failure and the log after a reopen must each give exactly that list, in offset
// order; the failed batch is never read and later appends are refused until the reopen.
class LogFaultTest : public LogTest {
 protected:
  // Reads every record of partition 0 from offset 0 and checks offsets are dense.
  static std::vector<std::string> ReadValues(Log& log) {
    std::vector<std::string> out;
    while (static_cast<int64_t>(out.size()) < log.EndOffset(0)) {
      auto r = log.Read(0, static_cast<int64_t>(out.size()), 64);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || r->empty()) break;
      for (auto& rec : *r) {
        EXPECT_EQ(rec.offset, static_cast<int64_t>(out.size()));
        out.push_back(std::move(rec.value));
      }
    }
    return out;
  }

  // Appends a batch of 1..4 values named after `tag` and the attempt number; acknowledged
  // values join `acked`. Returns Append's status.
  static Status AppendAttempt(Log& log, const std::string& tag, int attempt, std::vector<std::string>* acked) {
    std::vector<std::string> vals;
    for (int i = 0; i <= attempt % 4; ++i) {
      vals.push_back(
          fmt::format("{}-{}-{}-{}", tag, attempt, i, std::string(static_cast<size_t>(attempt * 53 % 400), 'v')));
    }
    std::vector<std::string_view> views(vals.begin(), vals.end());
    const int64_t end = log.EndOffset(0);
    auto r = log.Append(0, views);
    if (!r.ok()) return r.status();
    EXPECT_EQ(*r, end);
    acked->insert(acked->end(), vals.begin(), vals.end());
    return Status::OK();
  }

  // Runs the scenario; `errno_text` is what the failing call's message must name.
  void Run(io::FaultPlan plan, const char* errno_text) {
    const LogOptions o{.partitions = 1, .segment_bytes = 8192};
    std::vector<std::string> acked;
    {
      auto log = OpenLog(o);
      ASSERT_TRUE(log);
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendAttempt(*log, "before", i, &acked).ok());

      std::atomic<bool> writer_done{false};
      std::vector<std::string> seen;
      std::thread reader([&] {
        while (true) {
          const bool done = writer_done.load();
          while (static_cast<int64_t>(seen.size()) < log->EndOffset(0)) {
            auto r = log->Read(0, static_cast<int64_t>(seen.size()), 16);
            ASSERT_TRUE(r.ok()) << r.status().ToString();
            for (auto& rec : *r) seen.push_back(std::move(rec.value));
          }
          if (done) return;  // everything up to the end offset after the writer stopped
          std::this_thread::yield();
        }
      });

      Status failure;
      {
        plan.path_prefix = (root_ / "events").string();
        io::ScopedFaults faults(plan);
        for (int attempt = 0; attempt < 500 && failure.ok(); ++attempt) {
          failure = AppendAttempt(*log, "faulted", attempt, &acked);
        }
        EXPECT_EQ(faults.injected() > 0, !failure.ok());
      }
      writer_done = true;
      reader.join();
      ASSERT_FALSE(failure.ok()) << "no fault was hit";
      EXPECT_EQ(failure.code(), StatusCode::kIoError) << failure.ToString();
      EXPECT_NE(failure.message().find(errno_text), std::string::npos) << failure.ToString();
      EXPECT_NE(failure.message().find("was not appended"), std::string::npos) << failure.ToString();

      // Nothing unacknowledged is visible, to the reader that followed along or to a new read.
      EXPECT_EQ(seen, acked);
      EXPECT_EQ(log->EndOffset(0), static_cast<int64_t>(acked.size()));
      EXPECT_EQ(ReadValues(*log), acked);
      EXPECT_EQ(log->Read(0, static_cast<int64_t>(acked.size()) + 1, 1).status().code(), StatusCode::kInvalidArgument);

      // Sticky: every later append is refused, saying why and what to do; no fault is active now.
      for (int i = 0; i < 2; ++i) {
        std::vector<std::string> ignored;
        Status again = AppendAttempt(*log, "refused", i, &ignored);
        EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition) << again.ToString();
        EXPECT_NE(again.message().find(errno_text), std::string::npos) << again.ToString();
        EXPECT_NE(again.message().find("reopen"), std::string::npos) << again.ToString();
        EXPECT_TRUE(ignored.empty());
      }
      EXPECT_EQ(log->EndOffset(0), static_cast<int64_t>(acked.size()));
      EXPECT_TRUE(log->Close().ok());
    }
    // A reopen recovers exactly the acknowledged records, and appends continue after them.
    auto log = OpenLog(o);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->EndOffset(0), static_cast<int64_t>(acked.size()));
    EXPECT_EQ(ReadValues(*log), acked);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(AppendAttempt(*log, "after", i, &acked).ok());
    EXPECT_EQ(ReadValues(*log), acked);
    ASSERT_TRUE(log->Close().ok());
    auto last = OpenLog(o);
    ASSERT_TRUE(last);
    EXPECT_EQ(ReadValues(*last), acked);
  }
};

// The Nth write from the fault on: segment and index writes, early and across segment rolls.
TEST_F(LogFaultTest, EioOnWrite) {
  for (int64_t n : {1, 2, 3, 5, 8, 13, 21, 34}) {
    SCOPED_TRACE(fmt::format("write {}", n));
    Run({.fail_write = n}, std::strerror(EIO));
    TearDown();
    SetUp();
  }
}

// A failed fsync leaves the whole batch in the file, with a valid CRC: it must still never be
// read, not now and not after the reopen. Later counts hit the fsyncs of a segment roll.
TEST_F(LogFaultTest, EioOnFsync) {
  for (int64_t n : {1, 2, 3, 5, 8, 13, 21}) {
    SCOPED_TRACE(fmt::format("fsync {}", n));
    Run({.fail_fsync = n}, std::strerror(EIO));
    TearDown();
    SetUp();
  }
}

// The disk fills mid-batch: part of the batch reaches the file.
TEST_F(LogFaultTest, DiskFullMidBatch) {
  for (int64_t bytes : {0, 1, 40, 700, 5000, 12000}) {
    SCOPED_TRACE(fmt::format("disk of {} bytes", bytes));
    Run({.disk_bytes = bytes}, std::strerror(ENOSPC));
    TearDown();
    SetUp();
  }
}

}  // namespace
}  // namespace sluice::log
