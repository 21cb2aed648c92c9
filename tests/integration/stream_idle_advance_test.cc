// A quiet stream closes its last windows (event_time.idle_advance, docs/streaming.md#a-quiet-stream).
// The stream runs in-process on a manual clock: the clock moves only when the runner has waited
// for input and none came (StreamOptions::on_wait), by a fixed step, so epochs end and partitions
// go idle at exactly known clock times, and the test sees the output table at each of them.
// The window values are checked against a reference computed here from the produced records.
#include <algorithm>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/process.h"
#include "sluice/engine/exec/stream_runner.h"
#include "sluice/lake/delta_table.h"
#include "sluice/log/log.h"
#include "sluice/pipeline/compile.h"
#include "sluice/types/temporal.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMs = 1'000;
constexpr int64_t kWindow = 10 * kSecond;      // tumble
constexpr int64_t kOutOfOrder = 30 * kSecond;  // max_out_of_order
constexpr int64_t kIdle = 10 * kSecond;        // idle_timeout
constexpr int64_t kEpoch = 1 * kSecond;        // epoch_interval
constexpr int64_t kStep = 100 * kMs;           // the clock's move per empty wait

// Event times are seconds after 2026-03-01T00:00:00Z (a whole number of days since 1970, so the
// 10 s windows, aligned to 1970, are aligned to it too).
int64_t BaseMicros() {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 2;
  tm.tm_mday = 1;
  return static_cast<int64_t>(::timegm(&tm)) * kSecond;
}

struct Event {
  std::string id, k;
  int64_t t = 0;  // µs since 1970
  int64_t v = 0;
  int partition = 0;
};

std::string Record(const Event& e) {
  return json{{"id", e.id}, {"k", e.k}, {"v", e.v}, {"ts", FormatTimestamp(e.t)}}.dump();
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// (window_start µs, k) -> (count, sum of v).
using Key = std::tuple<int64_t, std::string>;
using Windows = std::map<Key, std::pair<int64_t, int64_t>>;

Windows Reference(const std::vector<Event>& events) {
  Windows out;
  for (const auto& e : events) {
    auto& w = out[{FloorDiv(e.t, kWindow) * kWindow, e.k}];
    ++w.first;
    w.second += e.v;
  }
  return out;
}

Windows EndingBy(const Windows& all, int64_t watermark) {  // the windows a watermark closes
  Windows out;
  for (const auto& [key, agg] : all) {
    if (std::get<0>(key) + kWindow <= watermark) out[key] = agg;
  }
  return out;
}

std::string Describe(const Windows& w) {
  std::string s;
  for (const auto& [key, agg] : w) {
    s += FormatTimestamp(std::get<0>(key)) + " " + std::get<1>(key) + ": n=" + std::to_string(agg.first) +
         " s=" + std::to_string(agg.second) + "\n";
  }
  return s;
}

// A clock that moves by `tick` every time it is read (from any thread). After `readings` more
// readings it sets `stop` (give it to StreamOptions::stop), so a run that never ends on its own
// (a regression) stops and fails instead of hanging the test.
class TickingClock final : public Clock {
 public:
  TickingClock(int64_t start, int64_t tick) : now_(start), tick_(tick) {}
  int64_t NowMicros() const override { return Read(); }
  int64_t MonotonicMicros() const override { return Read(); }
  void StopAfter(int64_t readings) {
    stop = false;
    left_ = readings;
  }
  mutable std::atomic<bool> stop{false};

 private:
  int64_t Read() const {
    if (left_.fetch_sub(1) <= 0) stop = true;
    return now_.fetch_add(tick_);
  }
  mutable std::atomic<int64_t> now_;
  mutable std::atomic<int64_t> left_{INT64_MAX};
  int64_t tick_;
};

class QuietStream : public ::testing::Test {
 protected:
  std::string work() const { return dir_.path(); }

  // 240 records over about 96 s of event time, up to 12 s out of order, in two partitions.
  void MakeEvents() {
    std::mt19937_64 rng(20260301);
    const int64_t base = BaseMicros();
    for (int i = 0; i < 240; ++i) {
      const int64_t sec = std::max<int64_t>(0, i * 2 / 5 - static_cast<int64_t>(rng() % 13));
      events_.push_back(Event{"e" + std::to_string(i), std::string(1, static_cast<char>('a' + rng() % 3)),
                              base + sec * kSecond + static_cast<int64_t>(rng() % 1000) * kMs,
                              static_cast<int64_t>(rng() % 100) + 1, static_cast<int>(rng() % 2)});
    }
  }

  void Produce(const std::vector<Event>& events) {
    auto log = log::Log::OpenShared(work() + "/log", "ev", log::LogOptions{.partitions = 2});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (int p = 0; p < 2; ++p) {
      std::vector<std::string> records;
      for (const auto& e : events) {
        if (e.partition == p) records.push_back(Record(e));
      }
      if (records.empty()) continue;
      std::vector<std::string_view> views(records.begin(), records.end());
      ASSERT_TRUE((*log)->Append(p, views).ok());
    }
  }

  // The watermark the data gives: min over the partitions of (max event time - max_out_of_order).
  int64_t DataWatermark() const {
    int64_t max_event[2] = {INT64_MIN, INT64_MIN};
    for (const auto& e : events_) max_event[e.partition] = std::max(max_event[e.partition], e.t);
    return std::min(max_event[0], max_event[1]) - kOutOfOrder;
  }
  int64_t MaxEvent() const {
    int64_t m = INT64_MIN;
    for (const auto& e : events_) m = std::max(m, e.t);
    return m;
  }

  // idle_advance: "" (the default), "true" or "false"; idle_timeout is set with each.
  Result<engine::Plan> Plan(const std::string& idle_advance) {
    pipeline::CompileOptions co;
    co.workdir = work();
    return pipeline::CompileString(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: quiet}
spec:
  mode: stream
  sources:
    ev:
      kind: log
      topic: ev
      schema: {fields: [{name: id, type: string}, {name: k, type: string}, {name: v, type: int64}, {name: ts, type: timestamp}]}
      event_time: {field: ts, max_out_of_order: 30s, idle_timeout: 10s)yaml" +
                                       (idle_advance.empty() ? "" : ", idle_advance: " + idle_advance) + R"yaml(}
  transforms:
    w: {kind: aggregate, inputs: [ev], window: {tumble: 10s}, group_by: [k], measures: {n: "count(*)", s: "sum(v)"}}
  sinks:
    gold: {kind: lake, inputs: [w], table: gold.w}
)yaml",
                                   "quiet.yaml", work(), co);
  }

  // The rows of gold.w; a window seen twice counts in `doubled`.
  Windows Gold(int* doubled = nullptr) {
    Windows out;
    auto table = lake::DeltaTable::Open(work() + "/lake/gold/w");
    if (!table.ok()) return out;  // nothing committed yet
    Status st = lake::Scan(**table, {}, [&](Batch b) {
      auto start = b.ColumnByName("window_start"), k = b.ColumnByName("k");
      auto n = b.ColumnByName("n"), s = b.ColumnByName("s");
      b.ForEachActive([&](uint32_t r) {
        const Key key{start->GetInt(r), std::string(k->GetString(r))};
        if (out.count(key) && doubled) ++*doubled;
        out[key] = {n->GetInt(r), s->GetInt(r)};
      });
      return Status::OK();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  bool HasCheckpoint() {
    std::error_code ec;
    return fs::exists(work() + "/checkpoints/quiet/state", ec) &&
           !fs::is_empty(work() + "/checkpoints/quiet/state", ec);
  }

  std::vector<json> DeadLetters() {
    std::vector<json> out;
    std::error_code ec;
    std::vector<std::string> files;
    for (fs::directory_iterator it(work() + "/dead_letters/quiet", ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".ndjson") files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) out.push_back(json::parse(line));
      }
    }
    return out;
  }

  // A live run (no --until-idle) on the manual clock, from t0 until the clock reaches t0 + `until`.
  // epoch_records is the input's size, so the first epoch ends when it has read all of it, with
  // the clock still at t0: every record arrives at t0. From then on each empty wait moves the clock
  // by kStep and notes the first clock time each window is in gold. `at` runs once, in the wait
  // where the clock reaches t0 + its time.
  struct Live {
    engine::StreamResult result;
    std::map<Key, int64_t> first_seen;  // window -> clock time - t0 it was first in gold
  };
  Live RunLive(const engine::Plan& plan, int64_t until, std::map<int64_t, std::function<void()>> at = {}) {
    Live live;
    const int64_t t0 = clock_.NowMicros();
    std::atomic<bool> stop{false};
    engine::StreamOptions so;
    so.workdir = work();
    so.clock = &clock_;
    so.epoch_interval_ms = kEpoch / kMs;
    so.epoch_records = static_cast<int64_t>(events_.size());
    so.stop = &stop;
    so.on_wait = [&] {
      if (!HasCheckpoint()) return;  // the first epoch is still reading: the clock stands at t0
      const int64_t now = clock_.NowMicros() - t0;
      for (const auto& [key, agg] : Gold()) live.first_seen.emplace(key, now);
      if (auto it = at.find(now); it != at.end()) {
        it->second();
        at.erase(it);
      }
      if (now >= until) {
        stop = true;
      } else {
        clock_.Advance(kStep);
      }
    };
    live.result = engine::RunStream(plan, so);
    return live;
  }

  static int64_t Count(const engine::StreamResult& r, const std::string& component, int64_t engine::NodeCounters::*c) {
    for (const auto& [name, k] : r.components) {
      if (name == component) return k.*c;
    }
    return -1;
  }

  TempDir dir_;
  ManualClock clock_{SystemClock::Get().NowMicros()};
  std::vector<Event> events_;
};

TEST_F(QuietStream, TheLastWindowsAreEmittedWithinIdleTimeoutPlusOneEpoch) {
  MakeEvents();
  Produce(events_);
  auto plan = Plan("");  // idle_advance is on by default
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();

  const Windows all = Reference(events_);
  const int64_t data_w = DataWatermark();
  const Windows first = EndingBy(all, data_w);  // what the data's own watermark closes
  ASSERT_FALSE(first.empty());
  ASSERT_LT(first.size(), all.size()) << "the test needs windows the data's watermark leaves open";

  // 12 s after the last record, one more record with an event time 5 s behind the largest one:
  // within max_out_of_order, but behind the advanced watermark, so it is late.
  const Event straggler{"late", "a", MaxEvent() - 5 * kSecond, 1000, 0};
  Live live = RunLive(*plan, 2 * kIdle, {{kIdle + 2 * kEpoch, [&] { Produce({straggler}); }}});
  ASSERT_TRUE(live.result.status.ok()) << live.result.status.ToString();

  // Every window once, with the reference values; the straggler is not in any of them.
  int doubled = 0;
  const Windows gold = Gold(&doubled);
  EXPECT_EQ(gold, all) << "gold:\n" << Describe(gold) << "reference:\n" << Describe(all);
  EXPECT_EQ(doubled, 0);

  // The windows the data closed were there at once; the others (the last windows) came when the
  // stream had been quiet for idle_timeout, and within idle_timeout plus one epoch of the last
  // record's arrival (t0).
  for (const auto& [key, agg] : all) {
    auto it = live.first_seen.find(key);
    ASSERT_NE(it, live.first_seen.end()) << Describe({{key, agg}});
    if (first.count(key)) {
      EXPECT_EQ(it->second, 0) << Describe({{key, agg}});
    } else {
      EXPECT_GE(it->second, kIdle) << "a last window before the stream was idle: " << Describe({{key, agg}});
      EXPECT_LE(it->second, kIdle + kEpoch)
          << "a last window later than idle_timeout + one epoch: " << Describe({{key, agg}});
    }
  }

  // The watermark moved with the clock: the last event plus whole idle_timeouts of quiet since the
  // last arrival (the straggler's, at t0 + 12 s or a step later; the run stopped at t0 + 20 s, so
  // no step since).
  EXPECT_EQ(live.result.watermark, MaxEvent() + kIdle);
  // The straggler is late: counted, and dead-lettered with its event time and the watermark.
  EXPECT_EQ(Count(live.result, "w", &engine::NodeCounters::late), 1);
  const std::vector<json> dead = DeadLetters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0]["error_class"], "late");
  const std::string message = dead[0]["error_message"].get<std::string>();
  EXPECT_NE(message.find(FormatTimestamp(straggler.t)), std::string::npos) << message;
  EXPECT_NE(message.find(FormatTimestamp(MaxEvent() + kIdle)), std::string::npos) << message;
}

TEST_F(QuietStream, WithIdleAdvanceOffTheLastWindowsWait) {
  MakeEvents();
  Produce(events_);
  auto plan = Plan("false");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // Three idle_timeouts of quiet: only what the data's watermark closes is emitted.
  Live live = RunLive(*plan, 3 * kIdle);
  ASSERT_TRUE(live.result.status.ok()) << live.result.status.ToString();
  const Windows expected = EndingBy(Reference(events_), DataWatermark());
  EXPECT_EQ(Gold(), expected);
  EXPECT_EQ(live.result.watermark, DataWatermark());
}

// --until-idle stops at the end of the input with the watermark the data gave, however much
// processing time passed: on a clock that moves idle_timeout on every reading, every partition is
// idle by the time the last epoch's watermark is taken, yet the last windows stay open.
TEST_F(QuietStream, UntilIdleNeverAdvancesWithProcessingTime) {
  MakeEvents();
  Produce(events_);
  auto plan = Plan("true");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  TickingClock clock(SystemClock::Get().NowMicros(), kIdle);
  engine::StreamOptions so;
  so.workdir = work();
  so.clock = &clock;
  so.until_idle = true;
  so.epoch_interval_ms = 1000LL * 3600 * 24 * 365;  // epochs end at the end of the input, not on this clock
  so.stop = &clock.stop;
  clock.StopAfter(2000);
  engine::StreamResult r = engine::RunStream(*plan, so);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.watermark, DataWatermark());
  EXPECT_EQ(Gold(), EndingBy(Reference(events_), DataWatermark()));
}

// Idle is "no record delivered for idle_timeout", which a slow source can look like while its
// topic still holds records. The watermark advances only when every source has read all its topic
// holds: on a clock that moves idle_timeout on every reading, each partition looks idle at the end
// of every epoch, and epochs of at most 50 records (one per run here) leave most of the input
// unread for a while; none of it may become late, and once all is read the quiet stream closes
// every window.
TEST_F(QuietStream, IdleAdvanceWaitsUntilTheSourcesHaveReadEverything) {
  MakeEvents();
  for (auto& e : events_) e.partition = 0;  // one ordered partition: the data alone makes nothing late
  Produce(events_);
  auto plan = Plan("");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  TickingClock clock(SystemClock::Get().NowMicros(), kIdle);
  engine::StreamOptions so;
  so.workdir = work();
  so.clock = &clock;
  so.epoch_interval_ms = kEpoch / kMs;
  so.epoch_records = 50;
  so.max_epochs = 1;
  so.stop = &clock.stop;
  int64_t read = 0;
  engine::StreamResult r;
  for (int run = 0; run < 300 && read < static_cast<int64_t>(events_.size()); ++run) {
    clock.StopAfter(2000);
    r = engine::RunStream(*plan, so);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    read += r.records;
    EXPECT_EQ(Count(r, "w", &engine::NodeCounters::late), 0) << "after " << read << " records";
    // Input is left: the watermark is the data's (nothing moves it with processing time).
    if (read < static_cast<int64_t>(events_.size())) {
      EXPECT_LT(r.watermark, MaxEvent()) << "after " << read;
    }
  }
  ASSERT_EQ(read, static_cast<int64_t>(events_.size()));
  // Everything is read: the next epoch advances.
  clock.StopAfter(2000);
  r = engine::RunStream(*plan, so);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_GE(r.watermark, MaxEvent() + kIdle);
  EXPECT_EQ(Count(r, "w", &engine::NodeCounters::late), 0);
  EXPECT_EQ(DeadLetters().size(), 0u);
  const Windows all = Reference(events_);
  const Windows gold = Gold();
  EXPECT_EQ(gold, all) << "gold:\n" << Describe(gold) << "reference:\n" << Describe(all);
}

}  // namespace
}  // namespace sluice::testing
