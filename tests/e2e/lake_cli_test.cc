// The lake through the CLI: a pipeline lands bronze Delta tables partitioned by date; `sluice
// lake` lists, describes, reads (with time travel), and shows history; a run killed with SIGKILL
// in the middle of a lake write leaves the table at its last committed version, its orphaned
// files invisible, and vacuum removes them.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <set>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "process.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kBin = SLUICE_BIN;
const std::string kGen = SLUICE_GEN_BIN;
const std::string kSrc = SLUICE_SOURCE_DIR;

ProcessResult Sluice(std::vector<std::string> args) {
  args.insert(args.begin(), kBin);
  return RunProcess(args);
}

std::vector<std::string> RunArgs(const TempDir& dir, const std::string& events) {
  return {kBin, "run", "-f", kSrc + "/examples/pipelines/clickstream.yaml", "--workdir", dir / "work",
          "--set", "spec.sources.clicks.path=" + events, "-o", "json", "-q"};
}

std::set<std::string> ParquetFiles(const std::string& table_dir) {
  std::set<std::string> out;
  if (!fs::exists(table_dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(table_dir)) {
    if (e.path().extension() == ".parquet" && e.path().string().find("_delta_log") == std::string::npos) {
      out.insert(e.path().string());
    }
  }
  return out;
}

TEST(LakeCli, LandsReadsTimeTravelsAndSurvivesKill9) {
  TempDir dir;
  auto g = RunProcess({kGen, "--out", dir / "small", "--only", "events", "--events", "5000", "--seed", "3", "--manifest"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  json manifest = json::parse(ReadFile(dir / "small/manifest.json"));
  const int64_t valid_rows = manifest["files"]["clickstream.ndjson"]["valid"].get<int64_t>() +
                             manifest["files"]["clickstream.ndjson"]["duplicates"].get<int64_t>();

  // Version 1 (version 0 creates the table).
  auto r1 = RunProcess(RunArgs(dir, dir / "small/clickstream.ndjson"));
  ASSERT_EQ(r1.exit_code, 0) << r1.err << r1.out;
  json run1 = json::parse(r1.out);
  // bronze holds every decoded record (the raw, typed source), i.e. all but decode errors.
  const int64_t bronze_rows = run1["components"]["clicks"]["out"].get<int64_t>();
  EXPECT_EQ(run1["components"]["bronze"]["out"], bronze_rows);
  EXPECT_GE(bronze_rows, valid_rows);

  auto ls = Sluice({"lake", "ls", "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  json tables = json::parse(ls.out);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0]["table"], "bronze.clickstream");
  EXPECT_EQ(tables[0]["rows"], bronze_rows);
  EXPECT_EQ(tables[0]["partition_columns"][0], "date");
  const int64_t v1 = tables[0]["version"].get<int64_t>();
  const std::string table_dir = dir / "work/lake/bronze/clickstream";
  EXPECT_TRUE(fs::exists(table_dir + "/_delta_log"));
  bool has_partition_dir = false;
  for (const auto& e : fs::directory_iterator(table_dir)) has_partition_dir |= e.path().filename().string().rfind("date=", 0) == 0;
  EXPECT_TRUE(has_partition_dir);

  auto describe = Sluice({"lake", "describe", "bronze.clickstream", "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  json d = json::parse(describe.out);
  EXPECT_EQ(d["schema"][0]["name"], "event_id");
  EXPECT_EQ(d["schema"].back()["name"], "date");

  auto read = Sluice({"lake", "read", "bronze.clickstream", "--workdir", dir / "work", "--limit", "3", "-o", "json"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  json rows = json::parse(read.out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].contains("event_id"));
  EXPECT_TRUE(rows[0].contains("date"));

  // A second run appends: version 2 holds twice the rows, version 1 still reads as before.
  auto r2 = RunProcess(RunArgs(dir, dir / "small/clickstream.ndjson"));
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  auto all = Sluice({"lake", "read", "bronze.clickstream", "--workdir", dir / "work", "--limit", "-1", "-o", "json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(json::parse(all.out).size(), static_cast<size_t>(2 * bronze_rows));
  auto old = Sluice({"lake", "read", "bronze.clickstream", "--workdir", dir / "work", "--limit", "-1", "--version",
                     std::to_string(v1), "-o", "json"});
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_EQ(json::parse(old.out).size(), static_cast<size_t>(bronze_rows));
  auto history = Sluice({"lake", "history", "bronze.clickstream", "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  json h = json::parse(history.out);
  ASSERT_GE(h.size(), 3u);
  const int64_t v2 = v1 + 1;

  // kill -9 in the middle of a large write: poll until the run has written a data file that no
  // commit references, then kill it.
  auto big = RunProcess({kGen, "--out", dir / "big", "--only", "events", "--events", "1500000", "--seed", "4",
                         "--event-bytes", "300"});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  std::set<std::string> before = ParquetFiles(table_dir);
  int pid = SpawnProcess(RunArgs(dir, dir / "big/clickstream.ndjson"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool saw_new_file = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ParquetFiles(table_dir).size() > before.size()) {
      saw_new_file = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval, bounded by the deadline
  }
  ASSERT_TRUE(saw_new_file) << "the run never started writing data files";
  kill(pid, SIGKILL);
  int code = WaitProcess(pid);
  ASSERT_EQ(code, 128 + SIGKILL) << "the run finished before it could be killed; make the input larger";

  // The table is still at version 2 with exactly its committed rows.
  auto after = Sluice({"lake", "describe", "bronze.clickstream", "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  json a = json::parse(after.out);
  EXPECT_EQ(a["version"], v2);
  EXPECT_EQ(a["rows"], 2 * bronze_rows);
  auto reread = Sluice({"lake", "read", "bronze.clickstream", "--workdir", dir / "work", "--limit", "-1", "-o", "json"});
  ASSERT_EQ(reread.exit_code, 0) << reread.err;
  EXPECT_EQ(json::parse(reread.out).size(), static_cast<size_t>(2 * bronze_rows));

  // The orphans are on disk until vacuum removes them; live files stay.
  std::set<std::string> orphans;
  for (const auto& f : ParquetFiles(table_dir)) {
    if (!before.count(f)) orphans.insert(f);
  }
  ASSERT_FALSE(orphans.empty());
  auto dry = Sluice({"lake", "vacuum", "bronze.clickstream", "--workdir", dir / "work", "--retention", "0s",
                     "--dry-run", "-o", "json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(ParquetFiles(table_dir).size(), before.size() + orphans.size());  // dry run deletes nothing
  auto vac = Sluice({"lake", "vacuum", "bronze.clickstream", "--workdir", dir / "work", "--retention", "0s", "-o", "json"});
  ASSERT_EQ(vac.exit_code, 0) << vac.err;
  EXPECT_EQ(ParquetFiles(table_dir), before);
  auto final_read = Sluice({"lake", "read", "bronze.clickstream", "--workdir", dir / "work", "--limit", "-1", "-o", "json"});
  ASSERT_EQ(final_read.exit_code, 0) << final_read.err;
  EXPECT_EQ(json::parse(final_read.out).size(), static_cast<size_t>(2 * bronze_rows));
}

// A lake commit carries a txn action for the run's epoch (appId = pipeline.sink@logical time,
// version = the logical time in µs): rerunning the same logical time adds nothing; a new one
// appends, and so does an older one (a backfill).
TEST(LakeCli, RerunOfTheSameLogicalTimeIsExactlyOnce) {
  TempDir dir;
  auto g = RunProcess({kGen, "--out", dir / "d", "--only", "events", "--events", "2000", "--seed", "5"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto run = [&](const std::string& when) {
    auto args = RunArgs(dir, dir / "d/clickstream.ndjson");
    args.insert(args.end(), {"--logical-time", when});
    auto r = RunProcess(args);
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  };
  auto describe = [&] {
    auto r = Sluice({"lake", "describe", "bronze.clickstream", "--workdir", dir / "work", "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  };
  run("2026-11-02T00:00:00Z");
  json first = describe();
  run("2026-11-02T00:00:00Z");
  json again = describe();
  EXPECT_EQ(again["version"], first["version"]);
  EXPECT_EQ(again["rows"], first["rows"]);
  // The sink's appId is the pipeline's state key (namespace/name outside `default`) and its name.
  const std::string app = "web/clickstream.bronze@2026-11-02T00:00:00Z";
  ASSERT_TRUE(first["app_versions"].contains(app)) << first.dump();
  EXPECT_EQ(again["app_versions"], first["app_versions"]);
  run("2026-11-01T00:00:00Z");  // older: a backfill
  json next = describe();
  EXPECT_EQ(next["rows"].get<int64_t>(), 2 * first["rows"].get<int64_t>());
  EXPECT_TRUE(next["app_versions"].contains("web/clickstream.bronze@2026-11-01T00:00:00Z")) << next.dump();
  run("2026-11-01T00:00:00Z");
  EXPECT_EQ(describe()["rows"], next["rows"]);
}

// Dead letters can land in a lake table (docs/dead-letters.md): every envelope, readable like
// any table.
TEST(LakeCli, DeadLettersInALakeTable) {
  TempDir dir;
  WriteFile(dir / "p.yaml", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: quarantined}
spec:
  sources:
    raw:
      kind: files
      path: in.ndjson
      schema: {fields: [{name: id, type: int64, required: true}, {name: amount, type: "decimal(10,2)"}]}
  transforms:
    checked: {kind: validate, inputs: [raw], rules: [{name: positive, check: "amount > 0"}]}
  sinks:
    out: {kind: files, inputs: [checked], path: out.ndjson}
  dead_letter: {kind: lake, table: quarantine.orders}
)yaml");
  WriteFile(dir / "in.ndjson", "{\"id\": 1, \"amount\": 5}\n{\"id\": 2, \"amount\": -1}\n{bad\n{\"amount\": 3}\n");
  auto r = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json run = json::parse(r.out);
  EXPECT_EQ(run["dead_letters"], 3);
  EXPECT_EQ(run["dead_letter_table"], "quarantine.orders");
  EXPECT_TRUE(run["dead_letter_path"].is_null());
  auto read = Sluice({"lake", "read", "quarantine.orders", "--workdir", dir / "work", "--limit", "-1", "-o", "json"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  json rows = json::parse(read.out);
  ASSERT_EQ(rows.size(), 3u);
  std::multiset<std::string> classes;
  for (const auto& e : rows) {
    classes.insert(e["error_class"].get<std::string>());
    EXPECT_EQ(e["pipeline"], "quarantined");
    EXPECT_FALSE(e["payload"].get<std::string>().empty());
  }
  EXPECT_EQ(classes, (std::multiset<std::string>{"malformed_json", "missing_required", "rule_failed"}));
}

TEST(LakeCli, BadTableNamesAreRefused) {
  TempDir dir;
  for (std::string bad : {"../etc", "bronze", "Bronze.x", "a.b.c", "/abs.x"}) {
    auto r = Sluice({"lake", "describe", bad, "--workdir", dir / "work"});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

}  // namespace
}  // namespace sluice::testing
