// A stream's lookup into a lake dimension: the in-memory copy stands for the dimension as of an
// epoch's time, survives restarts pinned to that time (so a replayed epoch sees what the original
// saw), and is reloaded once `refresh` has passed in epoch time. The stream runs in-process on a
// manual clock; the dimension is written by `sluice run` of a batch spec.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/process.h"
#include "sluice/engine/exec/stream_runner.h"
#include "sluice/lake/delta_table.h"
#include "sluice/log/log.h"
#include "sluice/pipeline/compile.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;
const std::string kBin = SLUICE_BIN;
constexpr int64_t kMinute = 60'000'000;

class StreamLookup : public ::testing::Test {
 protected:
  std::string work() const { return dir_.path(); }

  // Appends rows {k, label} to the lake table dims.labels with a batch run.
  void AppendDimension(const std::string& rows) {
    WriteFile(dir_ / "dim.ndjson", rows);
    WriteFile(dir_ / "dim.yaml", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: dim}
spec:
  sources:
    rows: {kind: files, path: dim.ndjson, schema: {fields: [{name: k, type: string}, {name: label, type: string}]}}
  sinks:
    labels: {kind: lake, inputs: [rows], table: dims.labels}
)yaml");
    auto r = RunProcess({kBin, "run", "-f", dir_ / "dim.yaml", "--workdir", work(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void Produce(const std::vector<std::string>& records) {
    log::LogOptions lo;
    auto log = log::Log::Open(work() + "/log", "ev", lo);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<std::string_view> views(records.begin(), records.end());
    ASSERT_TRUE((*log)->Append(0, views).ok());
    ASSERT_TRUE((*log)->Close().ok());
  }

  // Runs the stream until idle with the clock at `now`.
  engine::StreamResult Run(int64_t now) {
    pipeline::CompileOptions co;
    co.workdir = work();
    auto plan = pipeline::CompileString(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: enrich}
spec:
  mode: stream
  sources:
    ev: {kind: log, topic: ev, schema: {fields: [{name: id, type: string}, {name: k, type: string}]}}
  transforms:
    labelled: {kind: lookup, inputs: [ev], table: dims.labels, from: lake, on: k, fields: [label], refresh: 5m}
  sinks:
    out: {kind: log, inputs: [labelled], topic: out}
)yaml", "enrich.yaml", work(), co);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    clock_.Set(now);
    engine::StreamOptions so;
    so.workdir = work();
    so.clock = &clock_;
    so.until_idle = true;
    return engine::RunStream(*plan, so);
  }

  // id -> label ("" for none) of everything the sink wrote.
  std::map<std::string, std::string> Output() {
    std::map<std::string, std::string> out;
    auto log = log::Log::Open(work() + "/log", "out", log::LogOptions{.partitions = 0});
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return out;
    auto records = (*log)->Read(0, 0, 1000);
    EXPECT_TRUE(records.ok());
    for (const auto& r : *records) {
      json j = json::parse(r.value);
      out[j["id"].get<std::string>()] = j["label"].is_null() ? "" : j["label"].get<std::string>();
    }
    return out;
  }

  TempDir dir_;
  ManualClock clock_;
};

TEST_F(StreamLookup, TheDimensionCopyIsPinnedToItsTimeAcrossRestartsAndRefreshed) {
  AppendDimension(R"({"k": "a", "label": "first"})" "\n");
  const int64_t t0 = SystemClock::Get().NowMicros();

  Produce({R"({"id": "1", "k": "a"})", R"({"id": "2", "k": "b"})"});
  auto first = Run(t0);
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();

  // The dimension gains "b" (a new table version, committed after t0).
  AppendDimension(R"({"k": "b", "label": "second"})" "\n");

  // A restart 1 minute later: the copy still stands for t0, so "b" is not there yet.
  Produce({R"({"id": "3", "k": "b"})"});
  auto second = Run(t0 + kMinute);
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();

  // 5 minutes after the copy's time (and after the new version): reloaded, "b" is found.
  Produce({R"({"id": "4", "k": "b"})"});
  auto third = Run(SystemClock::Get().NowMicros() + 5 * kMinute);
  ASSERT_TRUE(third.status.ok()) << third.status.ToString();

  const std::map<std::string, std::string> expected = {{"1", "first"}, {"2", ""}, {"3", ""}, {"4", "second"}};
  EXPECT_EQ(Output(), expected);
}

}  // namespace
}  // namespace sluice::testing
