// The fault suite of "nothing lost, nothing doubled": real pipeline runs, in-process, with the files
// of one writer failing through the io fault seam (io/faults.h) — EIO on the Nth write, EIO on the
// Nth fsync, or a full disk (ENOSPC once N bytes are written, the crossing write left partial) —
// then the fault removed and the pipeline run again.
//
// Two pipelines over the same seeded records (some rejected by a rule, some not JSON at all):
//   batch:  files -> validate -> bronze lake table (partitioned by k) + a files sink (Parquet)
//                             -> aggregate per k -> gold lake table + a files sink (NDJSON)
//   stream: log (1 partition) -> validate -> bronze lake table (partitioned by k) + log topic `out`
//                             -> 1-minute tumbling aggregate per k -> gold lake table
// The writer under fault (its files, by path prefix): a lake table's data files, its _delta_log
// (the commits), the stream checkpoints, the log sink's topic, the dead letters, the files sinks.
// A clean run of each counts the writes, fsyncs and bytes under that prefix; the fault then hits
// the first, a middle and the last of them.
//
// Each case checks:
//   - the run fails with an I/O error naming the errno (never a crash, never a success that lost
//     something);
//   - nothing is half-visible afterwards: every Delta commit is whole and names whole files that
//     exist; the log topic holds no record twice; every dead-letter file is whole; the newest
//     checkpoint loads and every source record before its position is in each sink or in the
//     dead letters; a failed batch run's outputs are each all there or not there at all;
//   - after a clean rerun (the same logical time for the batch, a restart for the stream) every
//     valid record is in each sink exactly once and every rejected one in the dead letters exactly
//     once, and DuckDB's aggregates over the committed files equal the reference computed here.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/process.h"
#include "sluice/engine/exec/batch_runner.h"
#include "sluice/engine/exec/checkpoint.h"
#include "sluice/engine/exec/stream_runner.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/io/faults.h"
#include "sluice/lake/delta_table.h"
#include "sluice/log/log.h"
#include "sluice/pipeline/compile.h"
#include "sluice/types/temporal.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kSrc = SLUICE_SOURCE_DIR;

// ----------------------------------------------------------------------------- the input

constexpr int kRecords = 400;
constexpr int64_t kEpochRecords = 50;  // 8 stream epochs, and a last one that fires the windows
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;

int64_t T0() { return *ParseTimestamp("2026-11-20T00:00:00Z"); }

struct Record {
  std::string id, k;
  int64_t amount = 0, ts = 0;
  bool malformed = false;  // not JSON: a decode error
  bool rejected = false;   // amount < 0: the rule `non_negative` dead-letters it
  std::string line;
};

struct Reference {
  std::vector<Record> records;
  std::multiset<std::string> good, bad;                                               // ids
  std::map<std::string, std::pair<int64_t, int64_t>> per_k;                           // k -> (count, sum of amount)
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> per_minute;  // (window start, k)
};

const Reference& Ref() {
  static const Reference* ref = [] {
    auto* r = new Reference();
    for (int i = 0; i < kRecords; ++i) {
      Record rec;
      rec.id = fmt::format("e{:04d}", i);
      rec.k = "g" + std::to_string(i * 7 % 5);
      rec.amount = i * 37 % 1000 - (i % 13 == 0 ? 2000 : 0);
      rec.ts = T0() + i * kSecond;
      rec.malformed = i % 29 == 5;
      rec.rejected = !rec.malformed && rec.amount < 0;
      rec.line = fmt::format(R"({{"id":"{}","k":"{}","amount":{}{},"ts":"{}"}})", rec.id, rec.k, rec.amount,
                             rec.malformed ? "x" : "", FormatTimestamp(rec.ts));
      if (rec.malformed || rec.rejected) {
        r->bad.insert(rec.id);
      } else {
        r->good.insert(rec.id);
        auto& k = r->per_k[rec.k];
        ++k.first;
        k.second += rec.amount;
        auto& w = r->per_minute[{(rec.ts - T0()) / kMinute * kMinute + T0(), rec.k}];
        ++w.first;
        w.second += rec.amount;
      }
      r->records.push_back(std::move(rec));
    }
    return r;
  }();
  return *ref;
}

// ----------------------------------------------------------------------------- the pipelines

enum class Kind { kBatch, kStream };

constexpr const char* kSchema = R"yaml(
      schema:
        fields:
          - {name: id, type: string, required: true}
          - {name: k, type: string, required: true}
          - {name: amount, type: int64, required: true}
          - {name: ts, type: timestamp, required: true})yaml";

std::string Spec(Kind kind, const std::string& work) {
  if (kind == Kind::kBatch) {
    return R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: faults_batch}
spec:
  sources:
    ev:
      kind: files
      path: )yaml" +
           work + "/in/events.ndjson" + kSchema + R"yaml(
  transforms:
    valid: {kind: validate, inputs: [ev], rules: [{name: non_negative, check: "amount >= 0", on_fail: dead_letter}]}
    per_k: {kind: aggregate, inputs: [valid], group_by: [k], measures: {n: "count(*)", total: "sum(amount)"}}
  sinks:
    bronze: {kind: lake, inputs: [valid], table: bronze.events, partition_by: [k]}
    gold: {kind: lake, inputs: [per_k], table: gold.per_k}
    copy: {kind: files, inputs: [valid], path: )yaml" +
           work + R"yaml(/out/valid.parquet, format: parquet}
    summary: {kind: files, inputs: [per_k], path: )yaml" +
           work + R"yaml(/out/per_k.ndjson}
)yaml";
  }
  return R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: faults_stream}
spec:
  mode: stream
  sources:
    ev:
      kind: log
      topic: ev)yaml" +
         std::string(kSchema) + R"yaml(
      event_time: {field: ts, max_out_of_order: 10s}
  transforms:
    valid: {kind: validate, inputs: [ev], rules: [{name: non_negative, check: "amount >= 0", on_fail: dead_letter}]}
    per_minute:
      kind: aggregate
      inputs: [valid]
      window: {tumble: 1m}
      group_by: [k]
      measures: {n: "count(*)", total: "sum(amount)"}
  sinks:
    bronze: {kind: lake, inputs: [valid], table: bronze.events, partition_by: [k]}
    gold: {kind: lake, inputs: [per_minute], table: gold.per_minute}
    out: {kind: log, inputs: [valid], topic: out, partitions: 2, key: k}
)yaml";
}

const char* PipelineName(Kind kind) { return kind == Kind::kBatch ? "faults_batch" : "faults_stream"; }

// The input in place: a file for the batch, the log topic `ev` (one partition: each epoch is the
// same 50 records in every run, so the clean run's counts hold for the faulted one) for the stream.
void Prepare(Kind kind, const std::string& work) {
  std::string all;
  for (const auto& r : Ref().records) all += r.line + "\n";
  if (kind == Kind::kBatch) {
    fs::create_directories(work + "/in");
    WriteFile(work + "/in/events.ndjson", all);
    return;
  }
  auto log = log::Log::Open(work + "/log", "ev", log::LogOptions{.partitions = 1});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<std::string_view> views;
  for (const auto& r : Ref().records) views.push_back(r.line);
  ASSERT_TRUE((*log)->Append(0, views).ok());
  ASSERT_TRUE((*log)->Close().ok());
}

engine::Plan Compile(Kind kind, const std::string& work) {
  pipeline::CompileOptions co;
  co.workdir = work;
  auto plan = pipeline::CompileString(Spec(kind, work), "faults.yaml", work, co);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(*plan) : engine::Plan();
}

// One run; `attempt` names the batch run (a rerun is a new run of the same logical time, as a
// scheduler's retry is).
Status RunPipeline(Kind kind, const engine::Plan& plan, const std::string& work, int attempt) {
  if (kind == Kind::kBatch) {
    engine::RunOptions o;
    o.workdir = work;
    o.run_id = "run-" + std::to_string(attempt);
    o.logical_time_micros = T0();
    return engine::RunBatch(plan, o).status;
  }
  engine::StreamOptions o;
  o.workdir = work;
  o.until_idle = true;
  o.drain = true;
  o.epoch_records = kEpochRecords;
  o.epoch_interval_ms = 600'000;  // epochs are cut by their record budget only
  o.source_threads = 1;
  return engine::RunStream(plan, o).status;
}

// ----------------------------------------------------------------------------- what is on disk

std::string IdOf(const std::string& text) {
  static const std::regex id(R"re("id":"(e[0-9]{4})")re");
  std::smatch m;
  return std::regex_search(text, m, id) ? m[1].str() : std::string();
}

// A lake table read from its _delta_log without our replay: each commit file must be whole JSON,
// and each file it adds must exist with the size the commit names and open as Parquet.
struct LakeRows {
  std::vector<std::string> files;                  // live data files, absolute
  std::vector<std::map<std::string, Value>> rows;  // data columns plus the partition values
};

LakeRows ReadLake(const std::string& table) {
  LakeRows out;
  const std::string log_dir = table + "/_delta_log";
  std::map<int64_t, std::string> commits;
  std::error_code ec;
  for (fs::directory_iterator it(log_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == 25 && name.ends_with(".json")) commits[std::stoll(name.substr(0, 20))] = it->path().string();
  }
  if (commits.empty()) {
    // Never created (its first commit failed): readers say so.
    if (fs::exists(log_dir)) {
      auto t = lake::DeltaTable::Open(table);
      EXPECT_EQ(t.status().code(), StatusCode::kNotFound) << t.status().ToString();
    }
    return out;
  }
  int64_t expect = 0;
  std::map<std::string, std::pair<int64_t, std::map<std::string, std::string>>> live;  // path -> size, partition
  for (const auto& [v, path] : commits) {
    EXPECT_EQ(v, expect++) << "a gap in the log of " << table;
    const std::string text = ReadFile(path);
    EXPECT_TRUE(!text.empty() && text.back() == '\n') << path << " is not whole";
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      json a = json::parse(line, nullptr, false);
      if (!a.is_object()) {
        ADD_FAILURE() << path << ": a line that is not JSON: " << line;
        continue;
      }
      if (a.contains("add")) {
        std::map<std::string, std::string> pv;
        for (auto& [c, val] : a["add"]["partitionValues"].items()) pv[c] = val.get<std::string>();
        live[a["add"]["path"].get<std::string>()] = {a["add"]["size"].get<int64_t>(), pv};
      }
      if (a.contains("remove")) live.erase(a["remove"]["path"].get<std::string>());
    }
  }
  for (const auto& [rel, what] : live) {
    const std::string full = table + "/" + rel;
    const auto size = fs::file_size(full, ec);
    if (ec) {
      ADD_FAILURE() << "a commit names " << full << ", which does not exist";
      continue;
    }
    EXPECT_EQ(static_cast<int64_t>(size), what.first) << full << " is not the file its commit names";
    auto batches = parquet::ReadFile(full);
    if (!batches.ok()) {
      ADD_FAILURE() << "a committed file does not read: " << batches.status().ToString();
      continue;
    }
    out.files.push_back(full);
    for (const Batch& b : *batches) {
      for (size_t r = 0; r < b.num_rows(); ++r) {
        std::map<std::string, Value> row;
        for (size_t c = 0; c < b.num_columns(); ++c) row[b.schema()->field(c).name] = b.column(c)->GetValue(r);
        for (const auto& [c, val] : what.second) row[c] = Value::String(val);
        out.rows.push_back(std::move(row));
      }
    }
  }
  // And the table opens for our own readers.
  EXPECT_TRUE(lake::DeltaTable::Open(table).ok()) << table;
  return out;
}

// Data files under `table` that no version names (the files of a write whose commit failed).
std::vector<std::string> Orphans(const std::string& table, const LakeRows& rows) {
  std::set<std::string> live(rows.files.begin(), rows.files.end());
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(table, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".parquet" && it->path().string().find("/_delta_log") == std::string::npos &&
        !live.count(it->path().string())) {
      out.push_back(it->path().string());
    }
  }
  return out;
}

std::multiset<std::string> Ids(const std::vector<std::map<std::string, Value>>& rows) {
  std::multiset<std::string> ids;
  for (const auto& r : rows) ids.insert(r.at("id").string_value());
  return ids;
}

// The ids of the records in the log topic `out`.
std::multiset<std::string> OutLog(const std::string& work) {
  std::multiset<std::string> ids;
  // A topic exists once its TOPIC file does (its creation may have failed before).
  auto topics = log::Log::ListTopics(work + "/log");
  EXPECT_TRUE(topics.ok()) << topics.status().ToString();
  if (!topics.ok() || std::count(topics->begin(), topics->end(), "out") == 0) return ids;
  auto log = log::Log::Open(work + "/log", "out", log::LogOptions{.partitions = 0});
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return ids;
  for (int p = 0; p < (*log)->partitions(); ++p) {
    for (int64_t at = 0; at < (*log)->EndOffset(p);) {
      auto records = (*log)->Read(p, at, 1000);
      EXPECT_TRUE(records.ok()) << records.status().ToString();
      if (!records.ok() || records->empty()) break;
      for (const auto& r : *records) {
        EXPECT_EQ(r.offset, at) << "offsets of out/" << p << " are not dense";
        json j = json::parse(r.value, nullptr, false);
        EXPECT_TRUE(j.is_object()) << r.value;
        ids.insert(j.is_object() ? j.value("id", "") : "");
        at = r.offset + 1;
      }
    }
  }
  EXPECT_TRUE((*log)->Close().ok());
  return ids;
}

// The ids of the dead letters in every published dead-letter file (*.ndjson); each file must be
// whole: every line a complete envelope.
std::multiset<std::string> DeadLetters(const std::string& work, Kind kind) {
  std::multiset<std::string> ids;
  const std::string dir = work + "/dead_letters/" + PipelineName(kind);
  if (!fs::exists(dir)) return ids;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".ndjson") continue;
    const std::string text = ReadFile(e.path().string());
    EXPECT_TRUE(!text.empty() && text.back() == '\n') << e.path() << " is cut short";
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      json env = json::parse(line, nullptr, false);
      if (!env.is_object() || !env.contains("payload") || !env.contains("error_class") || !env["payload"].is_string()) {
        ADD_FAILURE() << e.path() << ": not a whole envelope: " << line;
        continue;
      }
      ids.insert(IdOf(env["payload"].get<std::string>()));
    }
  }
  return ids;
}

// Rows of a published files sink output: nullopt when it is not there.
std::optional<std::vector<std::map<std::string, Value>>> ParquetFile(const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  auto batches = parquet::ReadFile(path);
  EXPECT_TRUE(batches.ok()) << "a published file does not read: " << batches.status().ToString();
  std::vector<std::map<std::string, Value>> rows;
  if (!batches.ok()) return rows;
  for (const Batch& b : *batches) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      std::map<std::string, Value> row;
      for (size_t c = 0; c < b.num_columns(); ++c) row[b.schema()->field(c).name] = b.column(c)->GetValue(r);
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::optional<std::map<std::string, std::pair<int64_t, int64_t>>> SummaryFile(const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  const std::string text = ReadFile(path);
  EXPECT_TRUE(!text.empty() && text.back() == '\n') << path << " is cut short";
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) {
      ADD_FAILURE() << path << ": " << line;
      continue;
    }
    EXPECT_EQ(out.count(j["k"]), 0u) << path << " holds " << j["k"] << " twice";
    out[j["k"].get<std::string>()] = {j["n"].get<int64_t>(), j["total"].get<int64_t>()};
  }
  return out;
}

std::map<std::string, std::pair<int64_t, int64_t>> PerK(const std::vector<std::map<std::string, Value>>& rows) {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (const auto& r : rows) {
    EXPECT_EQ(out.count(r.at("k").string_value()), 0u) << "gold holds " << r.at("k").string_value() << " twice";
    out[r.at("k").string_value()] = {r.at("n").int_value(), r.at("total").int_value()};
  }
  return out;
}

std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> PerMinute(
    const std::vector<std::map<std::string, Value>>& rows) {
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> out;
  for (const auto& r : rows) {
    const std::pair<int64_t, std::string> key{r.at("window_start").int_value(), r.at("k").string_value()};
    EXPECT_EQ(out.count(key), 0u) << "gold holds window " << FormatTimestamp(key.first) << " of " << key.second
                                  << " twice";
    out[key] = {r.at("n").int_value(), r.at("total").int_value()};
  }
  return out;
}

// Every element once, and nothing else.
void ExpectExactlyOnce(const std::multiset<std::string>& have, const std::multiset<std::string>& want,
                       const std::string& where) {
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(missing));
  std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(extra));
  EXPECT_TRUE(missing.empty() && extra.empty())
      << where << ": " << missing.size() << " missing (first " << (missing.empty() ? "-" : missing[0]) << "), "
      << extra.size() << " extra or twice (first " << (extra.empty() ? "-" : extra[0]) << ")";
}

// No element twice, and only elements of `allowed`.
void ExpectSubsetOnce(const std::multiset<std::string>& have, const std::multiset<std::string>& allowed,
                      const std::string& where) {
  for (auto it = have.begin(); it != have.end(); it = have.upper_bound(*it)) {
    EXPECT_EQ(have.count(*it), 1u) << where << " holds " << *it << " " << have.count(*it) << " times";
    EXPECT_EQ(allowed.count(*it), 1u) << where << " holds " << *it << ", which it must not";
  }
}

// DuckDB's checks of a test, run in one process at its end (starting DuckDB is most of the cost):
// each check is a query of rows (what, k, n, total) and the rows the reference wants.
struct OracleChecks {
  struct Check {
    std::string label, sql;
    json want;
  };
  std::vector<Check> checks;

  void Run(const std::string& scratch_dir) {
    if (checks.empty()) return;
    std::string sql;
    for (size_t i = 0; i < checks.size(); ++i) {
      sql += fmt::format("{}SELECT {} AS check_no, * FROM ({})", i ? "\nUNION ALL " : "", i, checks[i].sql);
    }
    const std::string file = scratch_dir + "/oracle.sql";
    WriteFile(file, sql + "\nORDER BY check_no, what, k;\n");
    auto r = RunProcess({"/usr/bin/env", "node", kSrc + "/tests/oracle/duckdb-query.mjs", "--file", file});
    ASSERT_EQ(r.exit_code, 0) << "DuckDB oracle failed (run `make deps` to install it): " << r.err;
    std::vector<json> got(checks.size(), json::array());
    for (auto& row : json::parse(r.out)) {
      const size_t i = row["check_no"].get<size_t>();
      row.erase("check_no");
      got.at(i).push_back(std::move(row));
    }
    for (size_t i = 0; i < checks.size(); ++i) {
      EXPECT_EQ(got[i], checks[i].want) << checks[i].label
                                        << ": DuckDB's aggregates of the committed files differ from the reference";
    }
    checks.clear();
  }
};

std::string FileList(const std::vector<std::string>& files) {
  std::string out = "[";
  for (const auto& f : files) out += (out.size() > 1 ? ", '" : "'") + f + "'";
  return out + "]";
}

// ----------------------------------------------------------------------------- the checks

// After a failed run: nothing half-visible. Files no version names are left only by a failed
// commit (`orphans_allowed`): a failed write deletes its own.
void CheckNothingHalfVisible(Kind kind, const std::string& work, bool orphans_allowed) {
  const Reference& ref = Ref();
  const LakeRows bronze = ReadLake(work + "/lake/bronze/events");
  if (!orphans_allowed) {
    for (const auto& f : Orphans(work + "/lake/bronze/events", bronze)) ADD_FAILURE() << "left behind: " << f;
  }
  const auto dead = DeadLetters(work, kind);
  if (kind == Kind::kBatch) {
    // One commit per sink and run, one file per run: each output is all there or not at all.
    const auto ids = Ids(bronze.rows);
    if (!ids.empty()) ExpectExactlyOnce(ids, ref.good, "bronze after the failed run");
    const LakeRows gold = ReadLake(work + "/lake/gold/per_k");
    if (!gold.rows.empty()) EXPECT_EQ(PerK(gold.rows), ref.per_k) << "gold after the failed run";
    if (auto copy = ParquetFile(work + "/out/valid.parquet")) ExpectExactlyOnce(Ids(*copy), ref.good, "copy");
    if (auto summary = SummaryFile(work + "/out/per_k.ndjson")) EXPECT_EQ(*summary, ref.per_k);
    if (!dead.empty()) ExpectExactlyOnce(dead, ref.bad, "dead letters after the failed run");
    return;
  }
  const auto bronze_ids = Ids(bronze.rows);
  const auto out_ids = OutLog(work);
  ExpectSubsetOnce(bronze_ids, ref.good, "bronze after the failed run");
  ExpectSubsetOnce(out_ids, ref.good, "out after the failed run");
  ExpectSubsetOnce(dead, ref.bad, "dead letters after the failed run");
  // A window in gold is final: it has its whole count.
  const LakeRows gold = ReadLake(work + "/lake/gold/per_minute");
  for (const auto& [key, value] : PerMinute(gold.rows)) {
    auto it = ref.per_minute.find(key);
    ASSERT_NE(it, ref.per_minute.end()) << "gold holds a window that does not exist";
    EXPECT_EQ(value, it->second) << "gold's window " << FormatTimestamp(key.first) << " of " << key.second;
  }
  // The newest checkpoint loads, and every record before its position is committed: in bronze and
  // out when valid, in the dead letters when not.
  engine::CheckpointStore store(work + "/checkpoints/faults_stream");
  auto latest = store.LoadLatest();
  ASSERT_TRUE(latest.ok()) << "the checkpoint does not load after the failure: " << latest.status().ToString();
  if (!latest->has_value()) return;
  const int64_t next = (*latest)->sources.at("ev").at(0).next;
  EXPECT_GE(next, 0);
  for (int64_t i = 0; i < std::min<int64_t>(next, kRecords); ++i) {
    const Record& r = ref.records[static_cast<size_t>(i)];
    if (r.malformed || r.rejected) {
      EXPECT_EQ(dead.count(r.id), 1u) << "checkpoint " << (*latest)->epoch << " is past " << r.id
                                      << ", whose dead letter is not committed";
    } else {
      EXPECT_EQ(bronze_ids.count(r.id), 1u)
          << "checkpoint " << (*latest)->epoch << " is past " << r.id << ", which bronze does not hold";
      EXPECT_EQ(out_ids.count(r.id), 1u) << "checkpoint " << (*latest)->epoch << " is past " << r.id
                                         << ", which out does not hold";
    }
  }
}

// After a successful run: every record exactly once in each sink or in the dead letters, and the
// aggregates (ours, and DuckDB's over the committed files, added to `oracle`) equal to the
// reference.
void CheckExactlyOnce(Kind kind, const std::string& work, const std::string& label, OracleChecks& oracle) {
  const Reference& ref = Ref();
  const LakeRows bronze = ReadLake(work + "/lake/bronze/events");
  ExpectExactlyOnce(Ids(bronze.rows), ref.good, "bronze");
  ExpectExactlyOnce(DeadLetters(work, kind), ref.bad, "dead letters");
  // DuckDB over the files the log names: per k, rows, distinct ids and the sum of amount, of
  // bronze (and of the Parquet copy); gold's own rows summed per k.
  json want = json::array();
  for (const auto& [k, v] : ref.per_k) {
    want.push_back({{"what", "bronze"}, {"k", k}, {"n", std::to_string(v.first)}, {"total", std::to_string(v.second)}});
  }
  std::string sql = "SELECT 'bronze' AS what, k, count(DISTINCT id)::VARCHAR AS n, sum(amount)::VARCHAR AS total "
                    "FROM read_parquet(" +
                    FileList(bronze.files) +
                    ", hive_partitioning = true) GROUP BY k "
                    "HAVING count(*) = count(DISTINCT id)";
  if (kind == Kind::kBatch) {
    const LakeRows gold = ReadLake(work + "/lake/gold/per_k");
    EXPECT_EQ(PerK(gold.rows), ref.per_k) << "gold";
    auto copy = ParquetFile(work + "/out/valid.parquet");
    ASSERT_TRUE(copy) << "the files sink's Parquet output is missing";
    ExpectExactlyOnce(Ids(*copy), ref.good, "copy");
    auto summary = SummaryFile(work + "/out/per_k.ndjson");
    ASSERT_TRUE(summary) << "the files sink's NDJSON output is missing";
    EXPECT_EQ(*summary, ref.per_k);
    sql += " UNION ALL SELECT 'copy', k, count(DISTINCT id)::VARCHAR, sum(amount)::VARCHAR FROM read_parquet('" + work +
           "/out/valid.parquet') GROUP BY k HAVING count(*) = count(DISTINCT id)";
    sql += " UNION ALL SELECT 'gold', k, sum(n)::VARCHAR, sum(total)::VARCHAR FROM read_parquet(" +
           FileList(gold.files) + ") GROUP BY k HAVING count(*) = 1";
    for (const auto& [k, v] : ref.per_k) {
      for (const char* what : {"copy", "gold"}) {
        want.push_back({{"what", what}, {"k", k}, {"n", std::to_string(v.first)}, {"total", std::to_string(v.second)}});
      }
    }
  } else {
    ExpectExactlyOnce(OutLog(work), ref.good, "out");
    const LakeRows gold = ReadLake(work + "/lake/gold/per_minute");
    EXPECT_EQ(PerMinute(gold.rows), ref.per_minute) << "gold";
    sql += " UNION ALL SELECT 'gold', k, sum(n)::VARCHAR, sum(total)::VARCHAR FROM read_parquet(" +
           FileList(gold.files) + ") GROUP BY k HAVING count(*) = count(DISTINCT window_start)";
    for (const auto& [k, v] : ref.per_k) {
      want.push_back({{"what", "gold"}, {"k", k}, {"n", std::to_string(v.first)}, {"total", std::to_string(v.second)}});
    }
  }
  std::sort(want.begin(), want.end(), [](const json& a, const json& b) {
    return std::tie(a["what"].get_ref<const std::string&>(), a["k"].get_ref<const std::string&>()) <
           std::tie(b["what"].get_ref<const std::string&>(), b["k"].get_ref<const std::string&>());
  });
  oracle.checks.push_back({label, sql, std::move(want)});
}

// ----------------------------------------------------------------------------- the cases

struct Target {
  const char* name;
  Kind kind;
  const char* prefix;  // of the writer's files, under the workdir
  // A faulted call may leave the run successful: the log sink's last fsyncs are the log's own at
  // close, of a segment whose batches were each fsynced already and of an index a reopen rebuilds.
  bool may_succeed = false;
  // A failed commit leaves the data files it would have named (orphans, for vacuum).
  bool orphans_allowed = false;
};

std::ostream& operator<<(std::ostream& os, const Target& t) { return os << t.name; }

const Target kTargets[] = {
    {"BatchLakeDataFiles", Kind::kBatch, "lake/bronze/events/k="},
    {"BatchLakeCommit", Kind::kBatch, "lake/bronze/events/_delta_log", false, /*orphans_allowed=*/true},
    {"BatchDeadLetters", Kind::kBatch, "dead_letters/faults_batch"},
    {"BatchFilesSinkParquet", Kind::kBatch, "out/valid.parquet"},
    {"BatchFilesSinkNdjson", Kind::kBatch, "out/per_k.ndjson"},
    {"StreamCheckpoints", Kind::kStream, "checkpoints/faults_stream"},
    {"StreamLakeDataFiles", Kind::kStream, "lake/bronze/events/k="},
    {"StreamLakeCommit", Kind::kStream, "lake/bronze/events/_delta_log", false, /*orphans_allowed=*/true},
    {"StreamLogSink", Kind::kStream, "log/out", /*may_succeed=*/true},
    {"StreamDeadLetters", Kind::kStream, "dead_letters/faults_stream"},
};

struct Counts {
  int64_t writes = 0, fsyncs = 0, bytes = 0;
};

// Where a fault goes among a clean run's `n` calls: the first, a middle and the last. With
// SLUICE_FAULT_SWEEP=all every one of them (minutes; for hunting bugs by hand).
bool SweepAll() {
  const char* v = std::getenv("SLUICE_FAULT_SWEEP");
  return v != nullptr && std::string(v) == "all";
}

std::vector<int64_t> Calls(int64_t n) {
  std::vector<int64_t> v;
  if (SweepAll()) {
    for (int64_t i = 1; i <= n; ++i) v.push_back(i);
    return v;
  }
  v = {1, (n + 1) / 2, n};
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Disk sizes among a clean run's `total` bytes: none, half, all but one (with the sweep, every
// sixteenth too).
std::vector<int64_t> DiskSizes(int64_t total) {
  std::vector<int64_t> v{0, total / 2, total - 1};
  if (SweepAll()) {
    for (int64_t i = 1; i < 16; ++i) v.push_back(total * i / 16);
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

class WriteFaults : public ::testing::TestWithParam<Target> {
 protected:
  void TearDown() override { oracle_.Run(scratch_.path()); }

  std::string Prefix(const std::string& work) const { return work + "/" + GetParam().prefix; }

  // A workdir with the input in place, kept until DuckDB has read it.
  const std::string& NewWorkdir() {
    dirs_.push_back(std::make_unique<TempDir>());
    Prepare(GetParam().kind, dirs_.back()->path());
    return dirs_.back()->path();
  }

  // The writer's calls in a clean run (which must pass every check), once per target.
  const Counts& CleanRun() {
    static std::map<std::string, Counts> counted;
    const Target& t = GetParam();
    if (auto it = counted.find(t.name); it != counted.end()) return it->second;
    const std::string& work = NewWorkdir();
    engine::Plan plan = Compile(t.kind, work);
    Counts c;
    {
      io::ScopedFaults faults({.path_prefix = Prefix(work)});
      Status st = RunPipeline(t.kind, plan, work, 1);
      EXPECT_TRUE(st.ok()) << st.ToString();
      c = {faults.writes(), faults.fsyncs(), faults.bytes_written()};
    }
    EXPECT_GT(c.writes, 0) << "no write reached " << t.prefix << ": the writer bypasses the io helpers";
    EXPECT_GT(c.fsyncs, 0) << "no fsync reached " << t.prefix << ": the writer bypasses the io helpers";
    CheckExactlyOnce(t.kind, work, std::string(t.name) + " clean run", oracle_);
    fmt::print("{}: a clean run makes {} writes, {} fsyncs and {} bytes under {}\n", t.name, c.writes, c.fsyncs,
               c.bytes, t.prefix);
    return counted[t.name] = c;
  }

  // A run with `plan` in force fails with `errno_text`, leaves nothing half-visible, and a run
  // after it, without the fault, completes the work exactly once.
  void FailThenRecover(io::FaultPlan plan, const char* errno_text, const std::string& label) {
    SCOPED_TRACE(label);
    const Target& t = GetParam();
    const std::string& work = NewWorkdir();
    engine::Plan compiled = Compile(t.kind, work);
    plan.path_prefix = Prefix(work);
    Status failed;
    {
      io::ScopedFaults faults(plan);
      failed = RunPipeline(t.kind, compiled, work, 1);
      ASSERT_GE(faults.injected(), 1) << "the fault was never reached";
    }
    if (failed.ok()) {
      // Only a failure that cannot lose anything may go unreported (see Target::may_succeed);
      // then the work is done already.
      ASSERT_TRUE(t.may_succeed) << "the run succeeded although its writes failed";
      CheckExactlyOnce(t.kind, work, label + ", the run that succeeded", oracle_);
    } else {
      EXPECT_EQ(failed.code(), StatusCode::kIoError) << failed.ToString();
      EXPECT_NE(failed.message().find(errno_text), std::string::npos) << failed.ToString();
      CheckNothingHalfVisible(t.kind, work, t.orphans_allowed);
    }
    Status again = RunPipeline(t.kind, compiled, work, 2);
    ASSERT_TRUE(again.ok()) << "the run after the fault: " << again.ToString();
    CheckExactlyOnce(t.kind, work, label + ", then a clean run", oracle_);
  }

  std::vector<std::unique_ptr<TempDir>> dirs_;
  TempDir scratch_;
  OracleChecks oracle_;
};

TEST_P(WriteFaults, EioOnWrite) {
  const int64_t total = CleanRun().writes;
  for (int64_t n : Calls(total)) {
    FailThenRecover({.fail_write = n}, std::strerror(EIO),
                    fmt::format("{}: EIO on write {} of {}", GetParam().name, n, total));
  }
}

TEST_P(WriteFaults, EioOnFsync) {
  const int64_t total = CleanRun().fsyncs;
  for (int64_t n : Calls(total)) {
    FailThenRecover({.fail_fsync = n}, std::strerror(EIO),
                    fmt::format("{}: EIO on fsync {} of {}", GetParam().name, n, total));
  }
}

TEST_P(WriteFaults, DiskFull) {
  const int64_t total = CleanRun().bytes;
  for (int64_t bytes : DiskSizes(total)) {
    FailThenRecover({.disk_bytes = bytes}, std::strerror(ENOSPC),
                    fmt::format("{}: disk full after {} of {} bytes", GetParam().name, bytes, total));
  }
}

// A run that fails in one sink while a Parquet files sink is still encoding (on its own thread)
// reports the failure: it once destroyed that sink's file writer before stopping its thread,
// and crashed. The failure: EIO on the first write of an NDJSON files sink, which comes once its
// 1 MiB buffer fills, a fifth of the way into the input.
TEST(WriteFaultsElsewhere, AFailedRunStopsAParquetSinkStillEncoding) {
  TempDir dir;
  const std::string work = dir.path();
  std::string input;
  for (int i = 0; i < 100000; ++i) input += fmt::format("{{\"id\":{},\"s\":\"text {} of the record\"}}\n", i, i);
  WriteFile(work + "/in.ndjson", input);
  pipeline::CompileOptions co;
  co.workdir = work;
  const std::string spec = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: encoding}
spec:
  sources:
    ev: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}, {name: s, type: string}]}}
  sinks:
    copy: {kind: files, inputs: [ev], path: out/copy.parquet, format: parquet}
    text: {kind: files, inputs: [ev], path: out/text.ndjson}
)yaml";
  auto plan = pipeline::CompileString(spec, "encoding.yaml", work, co);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  engine::RunOptions o;
  o.workdir = work;
  o.logical_time_micros = T0();
  {
    io::ScopedFaults faults({.fail_write = 1, .path_prefix = work + "/out/text.ndjson"});
    auto failed = engine::RunBatch(*plan, o);
    EXPECT_EQ(faults.injected(), 1);
    EXPECT_EQ(failed.status.code(), StatusCode::kIoError) << failed.status.ToString();
    EXPECT_FALSE(fs::exists(work + "/out/copy.parquet")) << "a sink of a failed run published its file";
    EXPECT_FALSE(fs::exists(work + "/out/text.ndjson")) << "a sink of a failed run published its file";
  }
  auto again = engine::RunBatch(*plan, o);
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  auto copy = parquet::ReadFile(work + "/out/copy.parquet");
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  size_t rows = 0;
  for (const auto& b : *copy) rows += b.num_rows();
  EXPECT_EQ(rows, 100000u);
}

INSTANTIATE_TEST_SUITE_P(Writers, WriteFaults, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sluice::testing
