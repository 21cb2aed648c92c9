// The watermark rule of the stream runner (ComputeWatermark, including the idle advance of a quiet
// stream) and the checkpoint files (CheckpointStore): round trips, pruning, and damaged files.
#include "sluice/engine/exec/stream_runner.h"

#include <stdlib.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/engine/exec/checkpoint.h"

namespace sluice::engine {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kMs = 1000;

// ----- ComputeWatermark

PartitionClock Part(int64_t max_event_time, int64_t last_data, int64_t out_of_order = 0, int64_t idle = 0,
                    bool advance = false) {
  return PartitionClock{max_event_time, last_data, out_of_order, idle, advance};
}

constexpr int64_t kStarted = 1000 * kSecond;  // monotonic time the runner started
constexpr int64_t kNow = kStarted + 60 * kSecond;

TEST(ComputeWatermark, IsTheMinimumOverPartitionsOfMaxEventTimeMinusOutOfOrder) {
  // Each partition subtracts its own max_out_of_order.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, kNow, 10 * kSecond), Part(50 * kSecond, kNow, 5 * kSecond)}, kNow,
                             kStarted, INT64_MIN),
            45 * kSecond);
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, kNow, 10 * kSecond), Part(95 * kSecond, kNow, 1 * kSecond)}, kNow,
                             kStarted, INT64_MIN),
            90 * kSecond);
  // One partition.
  EXPECT_EQ(ComputeWatermark({Part(7 * kSecond, kNow)}, kNow, kStarted, INT64_MIN), 7 * kSecond);
  // Event times before 1970 are ordinary values.
  EXPECT_EQ(ComputeWatermark({Part(-5 * kSecond, kNow, 2 * kSecond)}, kNow, kStarted, INT64_MIN), -7 * kSecond);
}

TEST(ComputeWatermark, NoPartitionsKeepsThePrevious) {
  EXPECT_EQ(ComputeWatermark({}, kNow, kStarted, INT64_MIN), INT64_MIN);
  EXPECT_EQ(ComputeWatermark({}, kNow, kStarted, 3 * kSecond), 3 * kSecond);
}

TEST(ComputeWatermark, AnIdlePartitionStopsHoldingItBack) {
  const int64_t idle = 200 * kMs;
  // Partition 1 is far behind but last had data 300 ms ago: idle.
  EXPECT_EQ(ComputeWatermark(
                {Part(100 * kSecond, kNow, 10 * kSecond, idle), Part(5 * kSecond, kNow - 300 * kMs, 0, idle)}, kNow,
                kStarted, INT64_MIN),
            90 * kSecond);
  // Exactly idle_timeout without data is idle.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, kNow, 0, idle), Part(5 * kSecond, kNow - idle, 0, idle)}, kNow,
                             kStarted, INT64_MIN),
            100 * kSecond);
  // One microsecond less is not: it holds the watermark at its own progress.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, kNow, 0, idle), Part(5 * kSecond, kNow - idle + 1, 0, idle)}, kNow,
                             kStarted, INT64_MIN),
            5 * kSecond);
  // Without an idle_timeout a partition is never idle, however long it has been quiet.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, kNow, 0, 0), Part(5 * kSecond, kStarted - 3600 * kSecond, 0, 0)},
                             kNow, kStarted, INT64_MIN),
            5 * kSecond);
}

TEST(ComputeWatermark, IdlenessOfAPartitionWithoutDataCountsFromTheStart) {
  const int64_t idle = 200 * kMs;
  const PartitionClock active = Part(100 * kSecond, kStarted + 150 * kMs, 10 * kSecond, idle);
  const PartitionClock never = Part(INT64_MIN, INT64_MIN, 10 * kSecond, idle);
  // 150 ms after the start the empty partition is not idle yet: it holds the watermark.
  EXPECT_EQ(ComputeWatermark({active, never}, kStarted + 150 * kMs, kStarted, INT64_MIN), INT64_MIN);
  EXPECT_EQ(ComputeWatermark({active, never}, kStarted + 150 * kMs, kStarted, 4 * kSecond), 4 * kSecond);
  // 200 ms after the start it is idle; the active partition (data 50 ms ago) alone sets it.
  EXPECT_EQ(ComputeWatermark({active, never}, kStarted + 200 * kMs, kStarted, INT64_MIN), 90 * kSecond);
  // A partition whose event time was restored from a checkpoint but that has had no data since
  // the start is idle by the same rule.
  const PartitionClock restored = Part(20 * kSecond, INT64_MIN, 0, idle);
  EXPECT_EQ(ComputeWatermark({active, restored}, kStarted + 150 * kMs, kStarted, INT64_MIN), 20 * kSecond);
  EXPECT_EQ(ComputeWatermark({active, restored}, kStarted + 200 * kMs, kStarted, INT64_MIN), 90 * kSecond);
}

TEST(ComputeWatermark, ANonIdlePartitionWithoutDataHoldsIt) {
  // No idle_timeout: the empty partition holds the watermark forever.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, kNow), Part(INT64_MIN, INT64_MIN)}, kNow, kStarted, INT64_MIN),
            INT64_MIN);
  EXPECT_EQ(ComputeWatermark({Part(INT64_MIN, INT64_MIN), Part(100 * kSecond, kNow)}, kNow, kStarted, 12 * kSecond),
            12 * kSecond);
  // With an idle_timeout that has not run out yet, likewise.
  EXPECT_EQ(ComputeWatermark(
                {Part(100 * kSecond, kNow, 0, 120 * kSecond), Part(INT64_MIN, INT64_MIN, 0, 120 * kSecond)}, kNow,
                kStarted, 12 * kSecond),
            12 * kSecond);
}

TEST(ComputeWatermark, NeverGoesBackwards) {
  // A partition that was idle becomes active again behind the watermark: it stays.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, kNow), Part(30 * kSecond, kNow)}, kNow, kStarted, 90 * kSecond),
            90 * kSecond);
  // Equal is kept, larger moves it.
  EXPECT_EQ(ComputeWatermark({Part(90 * kSecond, kNow)}, kNow, kStarted, 90 * kSecond), 90 * kSecond);
  EXPECT_EQ(ComputeWatermark({Part(91 * kSecond, kNow)}, kNow, kStarted, 90 * kSecond), 91 * kSecond);
  // A sequence of epochs: the result is monotonic whatever the partitions report.
  int64_t w = INT64_MIN;
  const std::vector<std::pair<int64_t, int64_t>> maxima = {{10, 12}, {20, 11}, {15, 30}, {40, 35}, {38, 36}};
  int64_t expected = INT64_MIN;
  for (const auto& [a, b] : maxima) {
    const int64_t next = ComputeWatermark({Part(a * kSecond, kNow), Part(b * kSecond, kNow)}, kNow, kStarted, w);
    expected = std::max(expected, std::min(a, b) * kSecond);
    EXPECT_EQ(next, expected);
    EXPECT_GE(next, w);
    w = next;
  }
}

TEST(ComputeWatermark, AllIdleLetsThePartitionsWithDataDecide) {
  const int64_t idle = 200 * kMs;
  const int64_t long_ago = kNow - 10 * kSecond;
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, long_ago, 0, idle), Part(200 * kSecond, long_ago, 0, idle)}, kNow,
                             kStarted, 40 * kSecond),
            100 * kSecond);
  // A burst into one partition next to an empty one: both idle, the one with data decides.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, long_ago, 5 * kSecond, idle), Part(INT64_MIN, INT64_MIN, 0, idle)},
                             kNow, kStarted, INT64_MIN),
            95 * kSecond);
  // Never backwards, and no data at all keeps the previous value.
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, long_ago, 0, idle)}, kNow, kStarted, 150 * kSecond), 150 * kSecond);
  EXPECT_EQ(ComputeWatermark({Part(INT64_MIN, INT64_MIN, 0, idle), Part(INT64_MIN, INT64_MIN, 0, idle)}, kNow, kStarted,
                             40 * kSecond),
            40 * kSecond);
}

// ----- ComputeWatermark: idle advance (docs/streaming.md#a-quiet-stream)

// With idle_advance the parts below are the same as above plus the flag.
PartitionClock Adv(int64_t max_event_time, int64_t last_data, int64_t out_of_order, int64_t idle) {
  return Part(max_event_time, last_data, out_of_order, idle, true);
}

TEST(ComputeWatermark, AllIdleAdvancesWithProcessingTimeInStepsOfIdleTimeout) {
  const int64_t idle = 1 * kSecond;
  // Two partitions; the later arrival was 3.5 s ago: k = 3 steps past the largest event time,
  // whatever max_out_of_order says.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - 3500 * kMs, 30 * kSecond, idle),
                              Adv(90 * kSecond, kNow - 5 * kSecond, 30 * kSecond, idle)},
                             kNow, kStarted, INT64_MIN),
            103 * kSecond);
  // The moment the stream is quiet for idle_timeout: one step.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - idle, 30 * kSecond, idle)}, kNow, kStarted, INT64_MIN),
            101 * kSecond);
  // One microsecond before, the partition is not idle yet and holds it at its own progress.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - idle + 1, 30 * kSecond, idle)}, kNow, kStarted, INT64_MIN),
            70 * kSecond);
  // Between steps it stays: 1.999 s of quiet is still one step.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - 1999 * kMs, 0, idle)}, kNow, kStarted, INT64_MIN),
            101 * kSecond);
  // Never backwards.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - 3 * kSecond, 0, idle)}, kNow, kStarted, 500 * kSecond),
            500 * kSecond);
  // Event times before 1970 move the same way.
  EXPECT_EQ(ComputeWatermark({Adv(-50 * kSecond, kNow - 2 * kSecond, 0, idle)}, kNow, kStarted, INT64_MIN),
            -48 * kSecond);
}

TEST(ComputeWatermark, OneActivePartitionStopsTheIdleAdvance) {
  const int64_t idle = 1 * kSecond;
  // Partition 1 had data 100 ms ago: not idle, so the ordinary rule holds (partition 0, quiet
  // for a minute, no longer holds it back, but nothing moves with processing time).
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - 60 * kSecond, 5 * kSecond, idle),
                              Adv(80 * kSecond, kNow - 100 * kMs, 5 * kSecond, idle)},
                             kNow, kStarted, INT64_MIN),
            75 * kSecond);
  // An empty partition that is not idle yet (the runner started 500 ms ago) holds it entirely.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kStarted - 60 * kSecond, 0, idle), Adv(INT64_MIN, INT64_MIN, 0, idle)},
                             kStarted + 500 * kMs, kStarted, 7 * kSecond),
            7 * kSecond);
}

TEST(ComputeWatermark, IdleAdvanceOffKeepsTheWatermarkTheDataGave) {
  const int64_t idle = 1 * kSecond;
  const int64_t long_ago = kNow - 3600 * kSecond;
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, long_ago, 5 * kSecond, idle, false)}, kNow, kStarted, INT64_MIN),
            95 * kSecond);
  EXPECT_EQ(ComputeWatermark({Part(100 * kSecond, long_ago, 5 * kSecond, idle, false),
                              Part(120 * kSecond, long_ago, 5 * kSecond, idle, false)},
                             kNow, kStarted, INT64_MIN),
            95 * kSecond);
  // One source without it holds back the stream's advance: every partition must allow it.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, long_ago, 5 * kSecond, idle),
                              Part(120 * kSecond, long_ago, 5 * kSecond, idle, false)},
                             kNow, kStarted, INT64_MIN),
            95 * kSecond);
}

TEST(ComputeWatermark, WithoutIdleTimeoutNothingAdvances) {
  // idle_advance is meaningless without an idle_timeout: a partition is never idle.
  const int64_t long_ago = kStarted - 3600 * kSecond;
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, long_ago, 5 * kSecond, 0)}, kNow, kStarted, INT64_MIN), 95 * kSecond);
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, long_ago, 0, 0), Adv(INT64_MIN, INT64_MIN, 0, 0)}, kNow, kStarted,
                             3 * kSecond),
            3 * kSecond);
  // And one partition without idle_timeout among idle ones is never idle: it holds the watermark.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, long_ago, 0, kSecond), Adv(40 * kSecond, long_ago, 0, 0)}, kNow,
                             kStarted, INT64_MIN),
            40 * kSecond);
}

TEST(ComputeWatermark, IdleAdvanceCountsFromTheStartAndNeedsData) {
  const int64_t idle = 1 * kSecond;
  // No record ever: nothing to advance from.
  EXPECT_EQ(ComputeWatermark({Adv(INT64_MIN, INT64_MIN, 0, idle), Adv(INT64_MIN, INT64_MIN, 0, idle)}, kNow, kStarted,
                             INT64_MIN),
            INT64_MIN);
  EXPECT_EQ(ComputeWatermark({Adv(INT64_MIN, INT64_MIN, 0, idle)}, kNow, kStarted, 9 * kSecond), 9 * kSecond);
  // An event time restored from a checkpoint and no data since the start: quiet counts from the
  // start (2.5 s ago: two steps).
  EXPECT_EQ(ComputeWatermark({Adv(20 * kSecond, INT64_MIN, 10 * kSecond, idle)}, kStarted + 2500 * kMs, kStarted,
                             15 * kSecond),
            22 * kSecond);
  // An empty partition next to one with data: the latest arrival counts (the empty partition's
  // start is older), the partition with data gives the event time.
  EXPECT_EQ(ComputeWatermark({Adv(50 * kSecond, kStarted + 1 * kSecond, 0, idle), Adv(INT64_MIN, INT64_MIN, 0, idle)},
                             kStarted + 3500 * kMs, kStarted, INT64_MIN),
            52 * kSecond);
}

TEST(ComputeWatermark, IdleAdvanceStepsByTheLargestIdleTimeout) {
  // Sources with idle_timeout 1 s and 4 s, both quiet for 9 s: steps of 4 s, two of them.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - 9 * kSecond, 0, 1 * kSecond),
                              Adv(60 * kSecond, kNow - 9 * kSecond, 0, 4 * kSecond)},
                             kNow, kStarted, INT64_MIN),
            108 * kSecond);
  // Both idle but not yet quiet for the larger one (partition 0: 5 s, partition 1 went quiet 2 s
  // ago with a 1 s timeout): no step yet, the idle partitions decide as without the advance.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - 5 * kSecond, 0, 4 * kSecond),
                              Adv(60 * kSecond, kNow - 2 * kSecond, 0, 1 * kSecond)},
                             kNow, kStarted, INT64_MIN),
            60 * kSecond);
}

TEST(ComputeWatermark, IdleAdvanceStaysBelowEndOfInput) {
  const int64_t idle = 1 * kSecond;
  EXPECT_EQ(ComputeWatermark({Adv(INT64_MAX - 10, kNow - 5 * kSecond, 0, idle)}, kNow, kStarted, INT64_MIN),
            INT64_MAX - 1);
  EXPECT_EQ(ComputeWatermark({Adv(INT64_MAX - 1, kNow - 5 * kSecond, 0, idle)}, kNow, kStarted, INT64_MIN),
            INT64_MAX - 1);
  // A drained stream ("end of input") stays there.
  EXPECT_EQ(ComputeWatermark({Adv(100 * kSecond, kNow - 5 * kSecond, 0, idle)}, kNow, kStarted, INT64_MAX), INT64_MAX);
}

TEST(ComputeWatermark, AQuietStreamMovesOncePerIdleTimeout) {
  // Epochs every 250 ms after the last record (at kStarted, event time 100 s): the watermark is
  // the data's until the stream is idle, then moves by idle_timeout once per idle_timeout, so a
  // quiet stream commits an epoch per idle_timeout, not per epoch.
  const int64_t idle = 1 * kSecond;
  int64_t w = INT64_MIN;
  int changes = 0;
  for (int64_t t = 0; t <= 4 * kSecond; t += 250 * kMs) {
    const int64_t next = ComputeWatermark({Adv(100 * kSecond, kStarted, 10 * kSecond, idle)}, kStarted + t, kStarted,
                                          w);
    const int64_t expected = t < idle ? 90 * kSecond : 100 * kSecond + (t / idle) * idle;
    EXPECT_EQ(next, expected) << "at " << t << " us";
    changes += next != w;
    w = next;
  }
  EXPECT_EQ(changes, 1 + 4);  // the data's watermark, then four steps
}

// ----- CheckpointStore

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sluice-checkpoint-XXXXXX").string();
    const char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.insert(it->path().filename().string());
  }
  return out;
}

EpochOffsets SampleOffsets(int64_t epoch) {
  EpochOffsets o;
  o.epoch = epoch;
  o.watermark = 1793525400000000 + epoch;
  o.time_micros = 1795000000000000 + epoch;
  o.final = epoch % 2 == 0;
  o.end["clicks"] = {{0, 40000 + epoch}, {1, 39876}, {7, 0}};
  o.end["orders"] = {{0, 12}};
  if (epoch != 2) {  // epoch 2: a file without an order, as older versions wrote
    o.order = {{"orders", 0, 12}, {"clicks", 1, 30000}, {"clicks", 0, 40000 + epoch}, {"clicks", 1, 39876}};
  }
  return o;
}

Checkpoint SampleCheckpoint(int64_t epoch) {
  Checkpoint c;
  c.epoch = epoch;
  c.watermark = 1793525400000000 + epoch;
  PartitionProgress p0;
  p0.next = 40000 + epoch;
  p0.max_event_time = 1793526060000000;
  PartitionProgress p1;
  p1.next = 0;
  p1.max_event_time = INT64_MIN;  // no record yet
  c.sources["clicks"] = {{0, p0}, {1, p1}};
  c.counters["clicks"] = NodeCounters{100 + epoch, 98, 2, 0, 0, 0};
  c.counters["per_minute"] = NodeCounters{98, 7, 3, 1, 5, 4};
  std::string blob = {'\x01', '\0', '\0', '\0', '\0', '\0', '\0', '\0', '\xff', '\0'};
  c.state["per_minute"] = blob + "binary";
  c.state["unique"] = std::string(1000, 'k') + std::to_string(epoch);
  return c;
}

void ExpectSameOffsets(const EpochOffsets& a, const EpochOffsets& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.watermark, b.watermark);
  EXPECT_EQ(a.time_micros, b.time_micros);
  EXPECT_EQ(a.final, b.final);
  EXPECT_EQ(a.end, b.end);
  EXPECT_EQ(a.order, b.order);
}

void ExpectSameCheckpoint(const Checkpoint& a, const Checkpoint& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.watermark, b.watermark);
  ASSERT_EQ(a.sources.size(), b.sources.size());
  for (const auto& [src, parts] : a.sources) {
    ASSERT_TRUE(b.sources.count(src)) << src;
    const auto& other = b.sources.at(src);
    ASSERT_EQ(parts.size(), other.size()) << src;
    for (const auto& [p, prog] : parts) {
      ASSERT_TRUE(other.count(p)) << src << "/" << p;
      EXPECT_EQ(prog.next, other.at(p).next) << src << "/" << p;
      EXPECT_EQ(prog.max_event_time, other.at(p).max_event_time) << src << "/" << p;
    }
  }
  ASSERT_EQ(a.counters.size(), b.counters.size());
  for (const auto& [name, k] : a.counters) {
    ASSERT_TRUE(b.counters.count(name)) << name;
    const NodeCounters& o = b.counters.at(name);
    EXPECT_EQ(k.in, o.in) << name;
    EXPECT_EQ(k.out, o.out) << name;
    EXPECT_EQ(k.dead_letter, o.dead_letter) << name;
    EXPECT_EQ(k.dropped, o.dropped) << name;
    EXPECT_EQ(k.warnings, o.warnings) << name;
    EXPECT_EQ(k.late, o.late) << name;
  }
  EXPECT_EQ(a.state, b.state);
}

std::string StatePath(const std::string& dir, int64_t epoch) {
  char name[64];
  std::snprintf(name, sizeof(name), "%020lld.ckpt", static_cast<long long>(epoch));
  return dir + "/state/" + name;
}

std::string OffsetsPath(const std::string& dir, int64_t epoch) {
  char name[64];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(epoch));
  return dir + "/offsets/" + name;
}

TEST(CheckpointStore, OffsetsRoundTrip) {
  TempDir tmp;
  CheckpointStore store(tmp.path() + "/checkpoints/p");
  auto missing = store.LoadOffsets(1);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(missing->has_value());

  for (int64_t e : {1, 2, 7}) ASSERT_TRUE(store.WriteOffsets(SampleOffsets(e)).ok());
  for (int64_t e : {1, 2, 7}) {
    auto got = store.LoadOffsets(e);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(got->has_value());
    ExpectSameOffsets(**got, SampleOffsets(e));
  }
  EXPECT_TRUE(fs::exists(OffsetsPath(store.dir(), 7)));
  auto absent = store.LoadOffsets(3);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  // The watermark's two sentinels ("none yet", "end of input") and an empty source survive.
  EpochOffsets edge = SampleOffsets(8);
  edge.watermark = INT64_MIN;
  edge.end["empty"] = {};
  ASSERT_TRUE(store.WriteOffsets(edge).ok());
  auto got = store.LoadOffsets(8);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->watermark, INT64_MIN);
  edge.watermark = INT64_MAX;
  edge.final = true;
  ASSERT_TRUE(store.WriteOffsets(edge).ok());  // rewriting an epoch replaces it
  got = store.LoadOffsets(8);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->watermark, INT64_MAX);
  EXPECT_TRUE((*got)->final);
  EXPECT_EQ((*got)->end.at("clicks"), edge.end.at("clicks"));
}

TEST(CheckpointStore, DamagedOffsetsAreADataErrorNamingTheFile) {
  TempDir tmp;
  CheckpointStore store(tmp.path() + "/ck");
  ASSERT_TRUE(store.WriteOffsets(SampleOffsets(3)).ok());
  const std::string path = OffsetsPath(store.dir(), 3);
  const std::string good = Slurp(path);
  ASSERT_FALSE(good.empty());
  for (const std::string& bad : {good.substr(0, good.size() / 2), std::string("[]"), std::string("")}) {
    Spit(path, bad);
    auto r = store.LoadOffsets(3);
    ASSERT_FALSE(r.ok()) << "accepted: " << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kDataError) << r.status().ToString();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
  }
  // A run naming a source the file does not list.
  nlohmann::json bad_run = nlohmann::json::parse(good);
  ASSERT_TRUE(bad_run["order"].is_array()) << good;
  bad_run["order"][0][0] = 9;
  Spit(path, bad_run.dump());
  auto run = store.LoadOffsets(3);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::kDataError) << run.status().ToString();
  // A file that names another epoch is damaged too.
  ASSERT_TRUE(store.WriteOffsets(SampleOffsets(4)).ok());
  fs::copy_file(OffsetsPath(store.dir(), 4), path, fs::copy_options::overwrite_existing);
  auto r = store.LoadOffsets(3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
}

TEST(CheckpointStore, CheckpointRoundTrip) {
  TempDir tmp;
  CheckpointStore store(tmp.path() + "/checkpoints/p");
  auto none = store.LoadLatest();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(store.WriteCheckpoint(SampleCheckpoint(1)).ok());
  auto one = store.LoadLatest();
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_TRUE(one->has_value());
  ExpectSameCheckpoint(**one, SampleCheckpoint(1));

  ASSERT_TRUE(store.WriteCheckpoint(SampleCheckpoint(2)).ok());
  auto two = store.LoadLatest();
  ASSERT_TRUE(two.ok() && two->has_value());
  ExpectSameCheckpoint(**two, SampleCheckpoint(2));

  // The encoding alone round-trips too, including an empty checkpoint.
  Checkpoint empty;
  empty.epoch = 1;
  auto decoded = CheckpointStore::DecodeCheckpoint(CheckpointStore::EncodeCheckpoint(empty), "x");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameCheckpoint(*decoded, empty);
}

TEST(CheckpointStore, PruningKeepsTheNewestTwo) {
  TempDir tmp;
  CheckpointStore store(tmp.path() + "/ck");
  for (int64_t e = 1; e <= 6; ++e) {
    ASSERT_TRUE(store.WriteOffsets(SampleOffsets(e)).ok());
    ASSERT_TRUE(store.WriteCheckpoint(SampleCheckpoint(e)).ok());
    // The state files present: the newest two written so far.
    std::set<std::string> expected = {fs::path(StatePath(store.dir(), e)).filename().string()};
    if (e > 1) expected.insert(fs::path(StatePath(store.dir(), e - 1)).filename().string());
    EXPECT_EQ(Names(store.dir() + "/state"), expected) << "after epoch " << e;
  }
  // Offsets of the kept checkpoints' epochs, and of the epoch being started, stay.
  ASSERT_TRUE(store.WriteOffsets(SampleOffsets(7)).ok());
  EXPECT_EQ(Names(store.dir() + "/offsets"),
            (std::set<std::string>{fs::path(OffsetsPath(store.dir(), 5)).filename().string(),
                                   fs::path(OffsetsPath(store.dir(), 6)).filename().string(),
                                   fs::path(OffsetsPath(store.dir(), 7)).filename().string()}));
  auto latest = store.LoadLatest();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->epoch, 6);
  auto seven = store.LoadOffsets(7);
  ASSERT_TRUE(seven.ok() && seven->has_value());
  ExpectSameOffsets(**seven, SampleOffsets(7));
  // No temporary files are left behind.
  for (const char* sub : {"/state", "/offsets"}) {
    for (const auto& name : Names(store.dir() + sub)) {
      EXPECT_TRUE(name.ends_with(".ckpt") || name.ends_with(".json")) << name;
    }
  }
}

// A worker that took a stream over fences the checkpoint before reading it; the worker that lost
// its lease can then write neither offsets nor a checkpoint, and a newer generation still can.
TEST(CheckpointStore, AnOlderLeaseGenerationCannotWriteOnceANewerOneFenced) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/ck";
  CheckpointStore old_worker(dir, 5), new_worker(dir, 6), local(dir);
  ASSERT_TRUE(old_worker.Fence().ok());
  ASSERT_TRUE(old_worker.WriteOffsets(SampleOffsets(1)).ok());
  ASSERT_TRUE(old_worker.WriteCheckpoint(SampleCheckpoint(1)).ok());
  ASSERT_TRUE(new_worker.Fence().ok());
  for (const Status& st : {old_worker.WriteOffsets(SampleOffsets(2)), old_worker.WriteCheckpoint(SampleCheckpoint(2)),
                           old_worker.Fence()}) {
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
    EXPECT_NE(st.message().find("lease generation 6"), std::string::npos) << st.ToString();
  }
  EXPECT_EQ((*old_worker.LoadLatest())->epoch, 1);  // nothing of the old worker's epoch 2 landed
  EXPECT_FALSE(old_worker.LoadOffsets(2)->has_value());
  ASSERT_TRUE(new_worker.WriteOffsets(SampleOffsets(2)).ok());
  ASSERT_TRUE(new_worker.WriteCheckpoint(SampleCheckpoint(2)).ok());
  EXPECT_EQ((*new_worker.LoadLatest())->epoch, 2);
  // Fencing again with the same generation is a no-op; a store without a fence is not checked.
  EXPECT_TRUE(new_worker.Fence().ok());
  EXPECT_TRUE(local.WriteCheckpoint(SampleCheckpoint(3)).ok());
  // A damaged fence file is an error, not a free pass.
  std::ofstream(dir + "/fence") << "six";
  EXPECT_EQ(new_worker.WriteCheckpoint(SampleCheckpoint(4)).code(), StatusCode::kDataError);
}

// Every single-byte change and every truncation of a checkpoint file is reported as damage,
// naming the file; the store does not silently fall back to an older checkpoint.
TEST(CheckpointStore, DamagedCheckpointIsADataErrorNamingTheFile) {
  TempDir tmp;
  CheckpointStore store(tmp.path() + "/ck");
  ASSERT_TRUE(store.WriteCheckpoint(SampleCheckpoint(1)).ok());
  ASSERT_TRUE(store.WriteCheckpoint(SampleCheckpoint(2)).ok());
  const std::string path = StatePath(store.dir(), 2);
  const std::string good = Slurp(path);
  ASSERT_GT(good.size(), 40u);

  auto expect_damaged = [&](const std::string& what) {
    auto r = store.LoadLatest();
    ASSERT_FALSE(r.ok()) << what << ": the damaged checkpoint was accepted";
    EXPECT_EQ(r.status().code(), StatusCode::kDataError) << what << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << what << ": " << r.status().ToString();
  };
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    Spit(path, bad);
    expect_damaged("byte " + std::to_string(i) + " of " + std::to_string(good.size()) + " flipped");
    if (HasFailure()) return;
  }
  for (size_t n = 0; n < good.size(); ++n) {
    Spit(path, good.substr(0, n));
    expect_damaged("truncated to " + std::to_string(n) + " bytes");
    if (HasFailure()) return;
  }
  // Trailing bytes after the CRC are damage as well.
  Spit(path, good + "x");
  expect_damaged("a byte appended");

  // The intact file loads again.
  Spit(path, good);
  auto r = store.LoadLatest();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  ExpectSameCheckpoint(**r, SampleCheckpoint(2));

  // DecodeCheckpoint names the file it is given.
  auto d = CheckpointStore::DecodeCheckpoint(good.substr(0, good.size() - 1), "/some/where/00000000000000000002.ckpt");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kDataError);
  EXPECT_NE(d.status().message().find("/some/where/00000000000000000002.ckpt"), std::string::npos);
}

}  // namespace
}  // namespace sluice::engine
