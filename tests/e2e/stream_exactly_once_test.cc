// Exactly once through crashes (docs/streaming.md): seeded clickstream events -> source (the
// embedded log, or Kafka on the mock cluster) -> validate -> dedup -> 1-minute tumbling
// aggregate -> bronze lake + gold warehouse, with the worker killed by SIGKILL again and again.
// After recovery:
//   - bronze holds every valid event id exactly once (DuckDB reads the table's Parquet files),
//   - the dead letters are exactly the seeded invalid events, each once,
//   - gold equals DuckDB's own aggregation of the generator's raw file.
// SLUICE_STREAM_EVENTS sets the size (default 1,000,000) and SLUICE_STREAM_KILLS how often the
// worker on the embedded log is killed (default 12). The soak, by hand:
//   SLUICE_STREAM_EVENTS=10000000 SLUICE_STREAM_KILLS=30 \
//     build/tests/stream_exactly_once_test --gtest_filter='*LocalLog*'
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/lake/delta_table.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSrc = SLUICE_SOURCE_DIR;
const std::string kBin = SLUICE_BIN;
const std::string kGen = SLUICE_GEN_BIN;

int64_t EventCount() {
  const char* v = std::getenv("SLUICE_STREAM_EVENTS");
  return v ? std::atoll(v) : 1000000;
}

int KillCount() {
  const char* v = std::getenv("SLUICE_STREAM_KILLS");
  return v ? std::max(1, std::atoi(v)) : 12;
}

json DuckDb(const std::string& sql) {
  auto r = RunProcess({"/usr/bin/env", "node", kSrc + "/tests/oracle/duckdb-query.mjs", sql});
  EXPECT_EQ(r.exit_code, 0) << "DuckDB oracle failed (run `make deps` to install it): " << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

// A byte string is UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

// The newest complete epoch of the pipeline's checkpoints (0: none).
int64_t NewestCheckpoint(const std::string& workdir) {
  int64_t newest = 0;
  std::error_code ec;
  for (fs::directory_iterator it(workdir + "/checkpoints/clicks_stream/state", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".ckpt") newest = std::max<int64_t>(newest, std::stoll(it->path().stem().string()));
  }
  return newest;
}

class StreamExactlyOnce : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto r = RunProcess({kGen, "--out", *dir_ / "data", "--events", std::to_string(EventCount()), "--days", "1",
                         "--only", "events", "--manifest", "--seed", "11"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    manifest_ = new json(json::parse(ReadFile(*dir_ / "data/manifest.json")));
    // DuckDB reads text only as UTF-8: give it the generator's lines minus the ones that are not
    // (those are seeded invalid events, dead letters on our side).
    std::ifstream in(*dir_ / "data/clickstream.ndjson");
    std::ofstream out(*dir_ / "data/clickstream.utf8.ndjson");
    for (std::string line; std::getline(in, line);) {
      if (IsUtf8(line)) out << line << '\n';
    }
  }
  static void TearDownTestSuite() {
    delete manifest_;
    delete dir_;
  }

  // `extra_sinks`: more sinks of `unique` (indented as entries of `sinks:`).
  std::string WriteSpec(const std::string& workdir, const std::string& source, const std::string& extra_sinks = "") {
    std::string spec = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: clicks_stream}
spec:
  mode: stream
  sources:
    clicks:
)yaml" + source + R"yaml(
      topic: clicks
      schema:
        fields:
          - {name: event_id, type: string, required: true}
          - {name: event_type, type: string, required: true}
          - {name: timestamp, type: timestamp, required: true}
          - {name: user_id, type: int64, required: true}
      event_time: {field: timestamp, max_out_of_order: 11m}
  transforms:
    valid: {kind: validate, inputs: [clicks]}
    unique: {kind: dedup, inputs: [valid], key: event_id, within: 48h}
    per_minute:
      kind: aggregate
      inputs: [unique]
      window: {tumble: 1m}
      group_by: [event_type]
      measures: {events: "count(*)", users: "count_distinct(user_id)"}
  sinks:
    bronze: {kind: lake, inputs: [unique], table: bronze.clicks}
    gold: {kind: warehouse, inputs: [per_minute], table: gold.clicks_1m, mode: upsert, key: [window_start, event_type]}
    # Keyed by event type: every output partition gets records of every source partition, so a
    # replay that processed them in another order would skip the wrong records.
    unique_log: {kind: log, inputs: [unique], topic: clicks_unique, partitions: 3, key: event_type}
)yaml" + extra_sinks;
    std::string path = workdir + "/clicks_stream.yaml";
    fs::create_directories(workdir);
    WriteFile(path, spec);
    return path;
  }

  // Each start reads with 1, 2 or 3 source threads: a replay must not depend on how the epoch
  // it replays was read.
  std::vector<std::string> RunArgs(const std::string& spec, const std::string& workdir, int start) {
    return {kBin, "run", "-f", spec, "--workdir", workdir, "--until-idle", "-q", "--epoch-records", "20000",
            "--source-threads", std::to_string(1 + start % 3)};
  }

  // Starts the worker, lets it commit at least one more epoch, kills it with SIGKILL at a
  // varying moment; `kills` times. Returns how many kills hit a running worker.
  int KillRepeatedly(const std::string& spec, const std::string& workdir, int kills) {
    int hits = 0;
    for (int k = 0; k < kills; ++k) {
      const int64_t before = NewestCheckpoint(workdir);
      int pid = SpawnProcess(RunArgs(spec, workdir, k));
      // Wait for progress (a new checkpoint) or for the worker to finish on its own.
      bool exited = false;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (NewestCheckpoint(workdir) <= before && std::chrono::steady_clock::now() < deadline) {
        int status;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          exited = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (exited) break;
      // Kill at different points of the next epoch: reading, committing sinks, checkpointing.
      std::this_thread::sleep_for(std::chrono::milliseconds((k * 37) % 60));
      ::kill(pid, SIGKILL);
      int code = WaitProcess(pid);
      if (code == 128 + SIGKILL) ++hits;
    }
    return hits;
  }

  void CheckOutputs(const std::string& workdir) {
    const json& m = (*manifest_)["files"]["clickstream.ndjson"];
    const int64_t valid = m["valid"].get<int64_t>();
    const std::string raw = *dir_ / "data/clickstream.utf8.ndjson";

    // Bronze: the table's files, read by DuckDB.
    auto table = lake::DeltaTable::Open(workdir + "/lake/bronze/clicks");
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    auto snap = (*table)->GetSnapshot();
    ASSERT_TRUE(snap.ok());
    std::string files;
    for (const auto& f : snap->files) files += (files.empty() ? "'" : ", '") + workdir + "/lake/bronze/clicks/" + f.path + "'";
    json bronze = DuckDb("SELECT count(*)::BIGINT AS n, count(DISTINCT event_id)::BIGINT AS ids FROM read_parquet([" +
                         files + "])");
    ASSERT_TRUE(bronze.is_array());
    EXPECT_EQ(std::stoll(bronze[0]["n"].get<std::string>()), valid) << "bronze rows != valid events";
    EXPECT_EQ(std::stoll(bronze[0]["ids"].get<std::string>()), valid) << "an event id is missing or doubled";
    const std::string reference_ids = R"sql(
      WITH lines AS (SELECT line FROM read_csv('RAW', columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '',
                                                escape = '', header = false, auto_detect = false)),
      -- DuckDB's JSON reader accepts trailing commas; JSON (RFC 8259) does not.
      parsed AS (SELECT line::JSON AS j FROM lines
                 WHERE line <> '' AND json_valid(line) AND NOT regexp_matches(line, ',\s*[}\]]')),
      typed AS (SELECT j->>'$.event_id' AS event_id, j->>'$.event_type' AS event_type,
                       try_cast(j->>'$.timestamp' AS TIMESTAMP) AS ts, json_type(j, '$.user_id') AS t_user,
                       j->>'$.user_id' AS user_id FROM parsed)
      SELECT DISTINCT event_id, event_type, ts, user_id::BIGINT AS user_id FROM typed
      WHERE event_id IS NOT NULL AND event_type IS NOT NULL AND ts IS NOT NULL AND t_user IN ('UBIGINT', 'BIGINT'))sql";
    std::string ref = reference_ids;
    ref.replace(ref.find("RAW"), 3, raw);
    json diff = DuckDb("WITH ref AS (" + ref + "), ours AS (SELECT event_id FROM read_parquet([" + files +
                       "])) SELECT count(*)::BIGINT AS missing FROM ref ANTI JOIN ours USING (event_id)");
    ASSERT_TRUE(diff.is_array());
    EXPECT_EQ(diff[0]["missing"], "0");

    // Dead letters: exactly the seeded invalid lines, each once.
    int64_t dead = 0;
    std::set<std::string> seen;
    for (const auto& e : fs::directory_iterator(workdir + "/dead_letters/clicks_stream")) {
      if (e.path().extension() != ".ndjson") continue;
      std::ifstream in(e.path());
      for (std::string line; std::getline(in, line);) {
        json env = json::parse(line);
        ++dead;
        EXPECT_TRUE(seen.insert(env["partition"].get<std::string>() + "@" + std::to_string(env["offset"].get<int64_t>())).second)
            << "dead letter twice: " << line;
      }
    }
    EXPECT_EQ(dead, m["invalid_total"].get<int64_t>());

    // Gold: DuckDB's own 1-minute aggregation of the raw file.
    json expected = DuckDb("WITH clean AS (" + ref + ") SELECT strftime(time_bucket(INTERVAL 1 minute, ts), "
                           "'%Y-%m-%d %H:%M:%S.%f') AS window_start, event_type, count(*)::BIGINT AS events, "
                           "count(DISTINCT user_id)::BIGINT AS users FROM clean GROUP BY ALL ORDER BY 1, 2");
    // SQLite schemas are files next to the warehouse: gold lives in warehouse.gold.db.
    auto got = RunProcess({"/usr/bin/env", "sqlite3", "-json", workdir + "/warehouse.gold.db",
                           "SELECT window_start, event_type, CAST(events AS TEXT) AS events, CAST(users AS TEXT) AS users "
                           "FROM clicks_1m ORDER BY 1, 2"});
    ASSERT_EQ(got.exit_code, 0) << got.err;
    json actual = json::parse(got.out);
    ASSERT_TRUE(expected.is_array());
    ASSERT_EQ(actual.size(), expected.size());
    EXPECT_GT(actual.size(), 1000u);  // a day of minutes × event types
    size_t mismatches = 0;
    for (size_t i = 0; i < actual.size(); ++i) {
      if (actual[i] == expected[i]) continue;
      if (++mismatches <= 5) ADD_FAILURE() << "gold row " << i << ": " << actual[i].dump() << " expected " << expected[i].dump();
    }
    EXPECT_EQ(mismatches, 0u);

    // The log sink: every valid event once.
    auto consumed = RunProcess({"/bin/sh", "-c", kBin + " log consume clicks_unique -o json --workdir " + workdir});
    ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
    std::vector<std::string> values;
    std::istringstream lines(consumed.out);
    for (std::string line; std::getline(lines, line);) values.push_back(json::parse(line)["value"].get<std::string>());
    CheckEachValidEventOnce(values, "log sink clicks_unique");
  }

  // `values` (JSON records of the sink) hold every valid event id exactly once.
  void CheckEachValidEventOnce(const std::vector<std::string>& values, const std::string& what) {
    const int64_t valid = (*manifest_)["files"]["clickstream.ndjson"]["valid"].get<int64_t>();
    std::set<std::string> ids;
    int64_t doubled = 0;
    for (const auto& v : values) {
      if (!ids.insert(json::parse(v)["event_id"].get<std::string>()).second) ++doubled;
    }
    EXPECT_EQ(doubled, 0) << what << ": event ids written twice";
    EXPECT_EQ(static_cast<int64_t>(ids.size()), valid) << what << ": distinct event ids";
  }

  static TempDir* dir_;
  static json* manifest_;
};

TempDir* StreamExactlyOnce::dir_ = nullptr;
json* StreamExactlyOnce::manifest_ = nullptr;

TEST_F(StreamExactlyOnce, LocalLogSourceSurvivesKill9) {
  const std::string work = *dir_ / "log_run";
  const std::string spec = WriteSpec(work, "      kind: log");
  auto produce = RunProcess({"/bin/sh", "-c", kBin + " log produce clicks --partitions 4 --key event_id --workdir " + work +
                                                  " < " + (*dir_ / "data/clickstream.ndjson")});
  ASSERT_EQ(produce.exit_code, 0) << produce.err;
  const int kills = KillCount();
  int hits = KillRepeatedly(spec, work, kills);
  EXPECT_GE(hits, kills - kills / 6) << "the worker should have been killed mid-stream nearly every time";
  auto r = RunProcess({kBin, "run", "-f", spec, "--workdir", work, "--until-idle", "--drain", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json run = json::parse(r.out);
  EXPECT_EQ(run["status"], "finished");
  CheckOutputs(work);
}

TEST_F(StreamExactlyOnce, KafkaSourceSurvivesKill9) {
  auto cluster = kafka::MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  // The mock broker keeps about 5 MiB per partition: spread the events and compress them.
  constexpr int kPartitions = 32;
  ASSERT_TRUE((*cluster)->CreateTopic("clicks", kPartitions).ok());
  {
    kafka::ProducerOptions po;
    po.brokers = (*cluster)->bootstrap_servers();
    po.linger_ms = 50;
    po.config = {{"batch.size", "1000000"}};
    auto producer = kafka::Producer::Open(po);
    ASSERT_TRUE(producer.ok()) << producer.status().ToString();
    std::ifstream in(*dir_ / "data/clickstream.ndjson");
    int64_t n = 0;
    for (std::string line; std::getline(in, line); ++n) {
      ASSERT_TRUE((*producer)->Produce("clicks", static_cast<int32_t>(n % kPartitions), {}, line).ok());
    }
    ASSERT_TRUE((*producer)->Flush(120000).ok());
  }
  const std::string work = *dir_ / "kafka_run";
  // 32 partitions keep each under the mock broker's ~5 MiB per partition.
  ASSERT_TRUE((*cluster)->CreateTopic("clicks_out", kPartitions).ok());
  const std::string spec = WriteSpec(work, "      kind: kafka\n      brokers: " + (*cluster)->bootstrap_servers(),
                                     "    unique_kafka: {kind: kafka, inputs: [unique], topic: clicks_out, key: event_id, brokers: " +
                                         (*cluster)->bootstrap_servers() + "}\n");
  int hits = KillRepeatedly(spec, work, 12);
  EXPECT_GE(hits, 10);
  auto r = RunProcess({kBin, "run", "-f", spec, "--workdir", work, "--until-idle", "--drain", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(json::parse(r.out)["status"], "finished");
  CheckOutputs(work);

  // The Kafka sink: every valid event once.
  auto consumer = kafka::Consumer::Open({.brokers = (*cluster)->bootstrap_servers()});
  ASSERT_TRUE(consumer.ok());
  std::map<int32_t, int64_t> start, stop;
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto wm = (*consumer)->Watermarks("clicks_out", p, 10000);
    ASSERT_TRUE(wm.ok()) << wm.status().ToString();
    ASSERT_EQ(wm->first, 0) << "the mock broker dropped the oldest records of clicks_out/" << p;
    start[p] = wm->first;
    stop[p] = wm->second;
  }
  (*consumer)->SetStopOffsets(stop);
  ASSERT_TRUE((*consumer)->Assign("clicks_out", start).ok());
  std::vector<std::string> values;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!(*consumer)->AtStop() && std::chrono::steady_clock::now() < deadline) {
    auto n = (*consumer)->Poll(10000, 100, [&](int32_t, int64_t, std::string_view, std::string_view v) {
      values.emplace_back(v);
    });
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }
  CheckEachValidEventOnce(values, "kafka sink clicks_out");
}

}  // namespace
}  // namespace sluice::testing
