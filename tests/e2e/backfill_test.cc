// Backfills through the CLI: daily runs of a pipeline with a lake sink and a warehouse sink
// (SQLite), then the same days again at older logical times, in reverse and shuffled order,
// then once more. A sink commits each epoch (a batch run's logical time) once, whatever the
// order: every day's rows are in the lake table (read by DuckDB from the Parquet files the Delta
// log holds live) and in the warehouse exactly once, as the input says. The same through
// `sluice serve`: `sluice backfill` of ten days, twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "sluice/connectors/warehouse/warehouse.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kBin = SLUICE_BIN;
const std::string kSrc = SLUICE_SOURCE_DIR;

json DuckDb(const std::string& sql) {
  auto r = RunProcess({"/usr/bin/env", "node", kSrc + "/tests/oracle/duckdb-query.mjs", sql});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json::array();
}

std::string Day(int d) { return fmt::format("2026-06-{:02d}", d); }

// Rows of day d: ids d*1000 and up, 3 to 6 of them (so a doubled or missing day shows).
int RowsOf(int d) { return 3 + d % 4; }

// day -> rows of the lake table at `table` (its directory), by DuckDB over the files its Delta log
// holds live.
std::map<std::string, int64_t> LakeRowsByDay(const std::string& table) {
  std::set<std::string> live;
  std::vector<fs::path> commits;
  for (const auto& e : fs::directory_iterator(table + "/_delta_log")) {
    if (e.path().extension() == ".json") commits.push_back(e.path());
  }
  std::sort(commits.begin(), commits.end());
  for (const auto& c : commits) {
    std::istringstream lines(ReadFile(c.string()));
    for (std::string line; std::getline(lines, line);) {
      json action = json::parse(line);
      if (action.contains("add")) live.insert(table + "/" + action["add"]["path"].get<std::string>());
      if (action.contains("remove")) live.erase(table + "/" + action["remove"]["path"].get<std::string>());
    }
  }
  std::map<std::string, int64_t> out;
  if (live.empty()) return out;
  std::string files;
  for (const auto& f : live) files += (files.empty() ? "'" : ", '") + f + "'";
  json rows = DuckDb("SELECT CAST(day AS VARCHAR) AS day, count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS ids "
                     "FROM read_parquet([" +
                     files + "], hive_partitioning = true) GROUP BY ALL ORDER BY 1");
  for (const auto& r : rows) {
    EXPECT_EQ(r["n"], r["ids"]) << "a doubled id on " << r["day"];
    out[r["day"].get<std::string>()] = std::stoll(r["n"].get<std::string>());
  }
  return out;
}

// day -> rows of silver.daily_orders in the SQLite warehouse `db`.
std::map<std::string, int64_t> WarehouseRowsByDay(const std::string& db) {
  auto wh = warehouse::Warehouse::Open("sqlite:" + db);
  EXPECT_TRUE(wh.ok()) << wh.status().ToString();
  std::map<std::string, int64_t> out;
  if (!wh.ok()) return out;
  auto batches = (*wh)->Query("SELECT day, count(*) AS n, count(DISTINCT id) AS ids FROM silver.daily_orders "
                              "GROUP BY day ORDER BY day");
  EXPECT_TRUE(batches.ok()) << batches.status().ToString();
  if (!batches.ok()) return out;
  for (const auto& b : *batches) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      const int64_t n = b.column(1)->GetValue(r).int_value();
      EXPECT_EQ(n, b.column(2)->GetValue(r).int_value()) << "a doubled id";
      std::string day = b.column(0)->GetValue(r).ToString();
      out[day.substr(0, 10)] = n;
    }
  }
  return out;
}

// What the input says: RowsOf(d) rows for each day in `days`.
std::map<std::string, int64_t> Expected(const std::vector<int>& days) {
  std::map<std::string, int64_t> out;
  for (int d : days) out[Day(d)] = RowsOf(d);
  return out;
}

// The input of day d, one record a line.
std::string InputOf(int d) {
  std::string text;
  for (int i = 0; i < RowsOf(d); ++i) {
    text += fmt::format("{{\"id\": {}, \"day\": \"{}\", \"amount\": {}.25}}\n", d * 1000 + i, Day(d), i);
  }
  return text;
}

const char* kSchema = R"yaml(
      schema:
        fields:
          - {name: id, type: int64, required: true}
          - {name: day, type: date, required: true}
          - {name: amount, type: "decimal(10,2)"}
)yaml";

class Backfill : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "daily.yaml", std::string(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: daily_orders}
spec:
  sources:
    orders:
      kind: files
      path: in/2026-06-01.ndjson)yaml") +
                                       kSchema + R"yaml(  sinks:
    lake: {kind: lake, inputs: [orders], table: silver.daily_orders, partition_by: [day]}
    wh: {kind: warehouse, inputs: [orders], table: silver.daily_orders, mode: append}
)yaml");
    for (int d = 1; d <= 10; ++d) WriteFile(dir_ / ("in/" + Day(d) + ".ndjson"), InputOf(d));
  }

  // Runs day d at its logical time (midnight UTC); returns the run's JSON.
  json RunDay(int d) {
    auto r = RunProcess({kBin, "run", "-f", dir_ / "daily.yaml", "--workdir", dir_ / "work", "--logical-time",
                         Day(d) + "T00:00:00Z", "--set",
                         "spec.sources.orders.path=" + dir_ / ("in/" + Day(d) + ".ndjson"), "-o", "json", "-q"});
    EXPECT_EQ(r.exit_code, 0) << Day(d) << ": " << r.err << r.out;
    return r.out.empty() ? json() : json::parse(r.out);
  }

  std::map<std::string, int64_t> LakeRows() { return LakeRowsByDay(dir_ / "work/lake/silver/daily_orders"); }
  std::map<std::string, int64_t> WarehouseRows() { return WarehouseRowsByDay(dir_ / "work/warehouse.db"); }

  TempDir dir_;
};

TEST_F(Backfill, EveryDayLandsOnceWhateverTheOrderOfTheRuns) {
  std::vector<int> days{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  for (int d : days) {
    json run = RunDay(d);
    EXPECT_EQ(run["status"], "succeeded") << run.dump();
  }
  const auto want = Expected(days);
  ASSERT_EQ(LakeRows(), want);
  ASSERT_EQ(WarehouseRows(), want);
  const int64_t lake_versions = std::distance(fs::directory_iterator(dir_ / "work/lake/silver/daily_orders/_delta_log"),
                                              fs::directory_iterator());

  // The backfill: the same days at their (older) logical times, newest first; then shuffled.
  std::vector<int> reverse(days.rbegin(), days.rend());
  std::vector<int> shuffled = days;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  for (const auto* order : {&reverse, &shuffled}) {
    for (int d : *order) {
      json run = RunDay(d);
      EXPECT_EQ(run["status"], "succeeded") << run.dump();
    }
    EXPECT_EQ(LakeRows(), want);
    EXPECT_EQ(WarehouseRows(), want);
  }
  // The reruns committed nothing to the lake table.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "work/lake/silver/daily_orders/_delta_log"),
                          fs::directory_iterator()),
            lake_versions);
}

TEST_F(Backfill, AnOlderLogicalTimeAfterANewerOneWrites) {
  RunDay(10);
  RunDay(1);
  EXPECT_EQ(LakeRows(), Expected({1, 10}));
  EXPECT_EQ(WarehouseRows(), Expected({1, 10}));
  // The table records both epochs, each under its own txn appId.
  auto r = RunProcess({kBin, "lake", "describe", "silver.daily_orders", "--workdir", dir_ / "work", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json apps = json::parse(r.out)["app_versions"];
  EXPECT_TRUE(apps.contains("daily_orders.lake@2026-06-01T00:00:00Z")) << apps.dump();
  EXPECT_TRUE(apps.contains("daily_orders.lake@2026-06-10T00:00:00Z")) << apps.dump();
}

// `sluice backfill` on a server after the last day's run: one run per day of the schedule, each at
// its day as logical time, reading the day's rows (`now()` is the logical time); the same
// backfill again adds nothing.
TEST(ServedBackfill, TheSameBackfillTwiceLandsEachDayOnce) {
  TempDir dir;
  const std::string ops = dir / "w/data/ops";
  std::string all;
  for (int d = 1; d <= 10; ++d) all += InputOf(d);
  WriteFile(ops + "/days.ndjson", all);
  WriteFile(dir / "daily.yaml", std::string(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: daily_orders, namespace: ops}
spec:
  schedule: "@daily"
  sources:
    orders:
      kind: files
      path: days.ndjson)yaml") + kSchema +
                                    R"yaml(  transforms:
    today: {kind: map, inputs: [orders], filter: "day = date(now())"}
  sinks:
    lake: {kind: lake, inputs: [today], table: silver.daily_orders, partition_by: [day]}
    wh: {kind: warehouse, inputs: [today], table: silver.daily_orders, mode: append}
)yaml");
  // Stopped when the test ends, however it ends.
  struct Server {
    int pid;
    ~Server() {
      ::kill(pid, SIGTERM);
      WaitProcess(pid);
    }
  } server{SpawnProcess({"/bin/sh", "-c",
                         "exec '" + kBin + "' serve --insecure-dev --listen 127.0.0.1:0 --workdir '" + (dir / "w") +
                             "' > '" + (dir / "url") + "' 2> '" + (dir / "log") + "'"})};
  const std::string url = WaitForFirstLine(dir / "url");
  ASSERT_FALSE(url.empty()) << ReadFile(dir / "log");
  auto cli = [&](const std::vector<std::string>& args) {
    return RunClient(kBin, args, url, dir / "client.json", "", dir / "stdin.txt");
  };
  ASSERT_EQ(cli({"apply", "-f", dir / "daily.yaml"}).exit_code, 0);
  // Waits until `n` backfill runs of the pipeline have ended; all must have succeeded.
  auto wait_for_runs = [&](size_t n) {
    json runs;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    auto ended = [&] {
      auto r = cli({"ls", "runs", "--pipeline", "daily_orders", "-o", "json"});
      runs = json::array();
      for (const auto& run : r.exit_code == 0 ? json::parse(r.out) : json::array()) {
        if (run["cause"] == "backfill") runs.push_back(run);
      }
      return runs.size() == n && std::all_of(runs.begin(), runs.end(), [](const json& run) {
               return run["status"] == "succeeded" || run["status"] == "failed";
             });
    };
    while (!ended() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling pace, not synchronization
    }
    for (const auto& run : runs) EXPECT_EQ(run["status"], "succeeded") << run.dump();
    EXPECT_EQ(runs.size(), n) << runs.dump();
  };
  // The last day's run first, as the schedule would have made it; then the days before it.
  auto last = cli({"run", "ops/daily_orders", "--logical-time", "2026-06-10T00:00:00Z", "--wait", "-o", "json"});
  ASSERT_EQ(last.exit_code, 0) << last.err << last.out;
  EXPECT_EQ(LakeRowsByDay(ops + "/lake/silver/daily_orders"), Expected({10}));
  const std::vector<int> days{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  for (size_t pass = 1; pass <= 2; ++pass) {
    auto b = cli({"backfill", "ops/daily_orders", "--from", "2026-06-01T00:00:00Z", "--to", "2026-06-11T00:00:00Z",
                  "-o", "json"});
    ASSERT_EQ(b.exit_code, 0) << b.err << b.out;
    EXPECT_EQ(json::parse(b.out)["count"], 10) << b.out;
    wait_for_runs(10 * pass);
    EXPECT_EQ(LakeRowsByDay(ops + "/lake/silver/daily_orders"), Expected(days)) << "pass " << pass;
    EXPECT_EQ(WarehouseRowsByDay(ops + "/warehouse.db"), Expected(days)) << "pass " << pass;
  }
}

}  // namespace
}  // namespace sluice::testing
