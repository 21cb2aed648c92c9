// Event-time semantics of stream pipelines through the CLI, each checked against a reference
// computed here from the documented rules (docs/streaming.md):
//   - late and out-of-order records with small epochs: which records are late depends on the
//     watermark at the start of each epoch; late records go to the dead letters (or are dropped)
//     and are counted; every window is emitted once;
//   - an idle partition does not stall windows (Kafka, data in one of two partitions only);
//   - hopping and session windows equal a batch computation of the same records;
//   - Kafka broker outage and fetch errors during a run: the worker keeps going and the bronze
//     table ends with every record exactly once.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/lake/delta_table.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

const std::string kBin = SLUICE_BIN;

// Event times are seconds after 2026-03-01T00:00:00Z, a whole number of days since 1970,
// so windows aligned to 1970 are aligned to it too.
int64_t BaseEpochSeconds() {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 2;
  tm.tm_mday = 1;
  return static_cast<int64_t>(::timegm(&tm));
}

std::string FormatUtc(int64_t seconds, const char* format) {
  const time_t t = static_cast<time_t>(BaseEpochSeconds() + seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}
// As records carry it.
std::string Iso(int64_t seconds) { return FormatUtc(seconds, "%Y-%m-%dT%H:%M:%SZ"); }
// As the SQLite warehouse stores a timestamp.
std::string SqliteTime(int64_t seconds) { return FormatUtc(seconds, "%Y-%m-%d %H:%M:%S.000000"); }

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Event {
  std::string id;
  std::string k;
  std::optional<int64_t> t;  // seconds after the base; nullopt: the record has ts null
  int64_t v = 0;
};

std::string ToNdjson(const std::vector<Event>& events) {
  std::string out;
  for (const auto& e : events) {
    json j = {{"id", e.id}, {"k", e.k}, {"v", e.v}};
    j["ts"] = e.t ? json(Iso(*e.t)) : json(nullptr);
    out += j.dump() + "\n";
  }
  return out;
}

// ----- processes and outputs

std::string WriteSpec(const std::string& work, const std::string& name, const std::string& yaml) {
  fs::create_directories(work);
  const std::string path = work + "/" + name + ".yaml";
  WriteFile(path, yaml);
  return path;
}

// `sluice log produce` of the events into the embedded log of `work`.
void ProduceToLog(const std::string& work, const std::string& topic, int partitions, const std::string& key,
                  const std::vector<Event>& events) {
  const std::string input = work + "/" + topic + ".input.ndjson";
  WriteFile(input, ToNdjson(events));
  auto r = RunProcess({"/bin/sh", "-c",
                       "exec '" + kBin + "' log produce " + topic + " --partitions " + std::to_string(partitions) +
                           " --key " + key + " --workdir '" + work + "' -o json < '" + input + "'"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["produced"].get<int64_t>(), static_cast<int64_t>(events.size()));
}

// The end offset of every partition of a topic of the embedded log.
std::vector<int64_t> LogEndOffsets(const std::string& work, const std::string& topic) {
  auto r = RunProcess({kBin, "log", "ls", "--workdir", work, "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  for (const auto& t : json::parse(r.out)) {
    if (t["topic"] == topic) return t["end_offsets"].get<std::vector<int64_t>>();
  }
  return {};
}

struct RunOutput {
  int exit_code = -1;
  json summary;
  std::string err;
};

RunOutput RunSpec(const std::string& spec, const std::string& work, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {kBin, "run", "-f", spec, "--workdir", work, "-o", "json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = RunProcess(argv);
  RunOutput out;
  out.exit_code = r.exit_code;
  out.err = r.err;
  out.summary = json::parse(r.out, nullptr, false);
  if (out.summary.is_discarded()) out.err += "\nstdout is not JSON: " + r.out;
  return out;
}

int64_t Counter(const json& summary, const std::string& component, const std::string& name) {
  const json& c = summary["components"][component];
  return c.contains(name) ? c[name].get<int64_t>() : 0;
}

// Every dead-letter envelope a stream pipeline committed, in epoch order.
std::vector<json> DeadLetters(const std::string& work, const std::string& pipeline) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(work + "/dead_letters/" + pipeline, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with("epoch-") && name.ends_with(".ndjson")) files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<json> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(json::parse(line));
    }
  }
  return out;
}

// Rows of a table of a SQLite warehouse file as JSON objects; empty when the file or the table
// does not exist yet.
json SqliteRows(const std::string& db, const std::string& table, const std::string& select) {
  if (!fs::exists(db)) return json::array();
  auto has = RunProcess({"/usr/bin/env", "sqlite3", "-cmd", ".timeout 10000", db,
                         "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'"});
  EXPECT_EQ(has.exit_code, 0) << has.err;
  if (has.exit_code != 0 || has.out.find('1') == std::string::npos) return json::array();
  auto r = RunProcess({"/usr/bin/env", "sqlite3", "-json", "-cmd", ".timeout 10000", db, select});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0 || r.out.find('[') == std::string::npos) return json::array();
  return json::parse(r.out);
}

// The newest checkpoint (state file) of a pipeline: its epoch, 0 when there is none.
int64_t NewestCheckpoint(const std::string& work, const std::string& pipeline) {
  int64_t newest = 0;
  std::error_code ec;
  for (fs::directory_iterator it(work + "/checkpoints/" + pipeline + "/state", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".ckpt") newest = std::max<int64_t>(newest, std::stoll(it->path().stem().string()));
  }
  return newest;
}

// The largest total of a source's end offsets over the recorded epoch inputs that have a
// checkpoint (their epoch is complete): how many records the pipeline has fully processed.
int64_t CheckpointedRecords(const std::string& work, const std::string& pipeline, const std::string& source) {
  const int64_t newest = NewestCheckpoint(work, pipeline);
  int64_t best = 0;
  std::error_code ec;
  for (fs::directory_iterator it(work + "/checkpoints/" + pipeline + "/offsets", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    if (std::stoll(it->path().stem().string()) > newest) continue;  // started, not complete
    json j = json::parse(ReadFile(it->path().string()), nullptr, false);
    if (!j.is_object() || !j["end"].contains(source)) continue;
    int64_t total = 0;
    for (const auto& [p, off] : j["end"][source].items()) total += off.get<int64_t>();
    best = std::max(best, total);
  }
  return best;
}

// A `sluice run` in the background with its stdout and stderr kept in files. The destructor
// kills a worker that is still running, so a failing test never leaves one behind.
class Worker {
 public:
  Worker(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path)
      : out_path_(out_path), err_path_(err_path) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int in = ::open("/dev/null", O_RDONLY);
      int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0) ::_exit(127);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Worker() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      Reap(true);
    }
  }
  bool started() const { return pid_ > 0; }
  // False once the process has exited (and has been reaped).
  bool running() {
    if (pid_ <= 0 || exit_code_) return false;
    Reap(false);
    return !exit_code_.has_value();
  }
  // Waits up to `timeout` for the process to exit; returns its exit code (128 + signal), or
  // nullopt if it is still running.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (running() && SteadyClock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return exit_code_;
  }
  // SIGTERM (finish the epoch, then stop), and wait for it; SIGKILL after `timeout`.
  std::optional<int> Stop(std::chrono::milliseconds timeout) {
    if (running()) ::kill(pid_, SIGTERM);
    auto code = WaitFor(timeout);
    if (!code && running()) {
      ::kill(pid_, SIGKILL);
      Reap(true);
      return std::nullopt;
    }
    return code;
  }
  std::string out() const { return ReadFile(out_path_); }
  std::string err() const { return ReadFile(err_path_); }

 private:
  void Reap(bool block) {
    int status = 0;
    if (::waitpid(pid_, &status, block ? 0 : WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_, err_path_;
};

// ----- references

using WindowKey = std::tuple<int64_t, int64_t, std::string>;  // start, end (seconds), group
struct Agg {
  int64_t n = 0;
  int64_t total = 0;
  bool operator==(const Agg&) const = default;
};
using Windows = std::map<WindowKey, Agg>;
void PrintTo(const Agg& a, std::ostream* os) { *os << "{n=" << a.n << " total=" << a.total << "}"; }

// A tumbling window aggregate in a stream of one partition read `epoch_records` records per
// epoch. The watermark closing an epoch is max(previous, largest event time so far -
// max_out_of_order); a record is late when its window's end + allowed_lateness is at or before
// the watermark that closed the previous epoch. Records without a time are in neither set.
struct TumbleReference {
  std::set<std::string> late;
  Windows windows;
};
TumbleReference ReferenceTumble(const std::vector<Event>& events, size_t epoch_records, int64_t size,
                                int64_t lateness, int64_t max_out_of_order) {
  TumbleReference ref;
  std::optional<int64_t> watermark, max_time;
  for (size_t begin = 0; begin < events.size(); begin += epoch_records) {
    const size_t end = std::min(events.size(), begin + epoch_records);
    for (size_t i = begin; i < end; ++i) {
      const Event& e = events[i];
      if (!e.t) continue;
      const int64_t start = FloorDiv(*e.t, size) * size;
      if (watermark && start + size + lateness <= *watermark) {
        ref.late.insert(e.id);
        continue;
      }
      Agg& a = ref.windows[{start, start + size, e.k}];
      ++a.n;
      a.total += e.v;
    }
    for (size_t i = begin; i < end; ++i) {
      if (events[i].t) max_time = std::max(max_time.value_or(*events[i].t), *events[i].t);
    }
    if (max_time) watermark = std::max(watermark.value_or(INT64_MIN), *max_time - max_out_of_order);
  }
  return ref;
}

// Every window of every record, as a batch computes them.
Windows ReferenceHop(const std::vector<Event>& events, int64_t size, int64_t slide) {
  Windows out;
  for (const auto& e : events) {
    const int64_t last = FloorDiv(*e.t, slide) * slide;
    for (int64_t s = last - size + slide; s <= last; s += slide) {
      Agg& a = out[{s, s + size, e.k}];
      ++a.n;
      a.total += e.v;
    }
  }
  return out;
}

// Per group, times in order; a gap of `gap` or more starts a new session [first, last + gap).
Windows ReferenceSessions(const std::vector<Event>& events, int64_t gap) {
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_key;  // k -> (t, v)
  for (const auto& e : events) by_key[e.k].push_back({*e.t, e.v});
  Windows out;
  for (auto& [k, tv] : by_key) {
    std::stable_sort(tv.begin(), tv.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < tv.size();) {
      size_t j = i + 1;
      while (j < tv.size() && tv[j].first - tv[j - 1].first < gap) ++j;
      Agg a;
      for (size_t x = i; x < j; ++x) {
        ++a.n;
        a.total += tv[x].second;
      }
      out[{tv[i].first, tv[j - 1].first + gap, k}] = a;
      i = j;
    }
  }
  return out;
}

// Gold rows (window_start, window_end, k, n[, total]) in the same shape as a reference.
Windows GoldWindows(const std::string& db, const std::string& table, bool with_total) {
  json rows = SqliteRows(db, table,
                         "SELECT window_start, window_end, k, n" + std::string(with_total ? ", total" : "") + " FROM " +
                             table + " ORDER BY window_start, k");
  Windows out;
  for (const auto& r : rows) {
    WindowKey key{0, 0, r["k"].get<std::string>()};
    // Stored as 'YYYY-MM-DD HH:MM:SS.ffffff'.
    auto parse = [](const std::string& s) -> int64_t {
      std::tm tm{};
      if (::strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &tm) == nullptr) return INT64_MIN;
      return static_cast<int64_t>(::timegm(&tm)) - BaseEpochSeconds();
    };
    std::get<0>(key) = parse(r["window_start"].get<std::string>());
    std::get<1>(key) = parse(r["window_end"].get<std::string>());
    Agg a;
    a.n = r["n"].get<int64_t>();
    a.total = with_total ? r["total"].get<int64_t>() : 0;
    EXPECT_TRUE(out.emplace(key, a).second) << "window emitted twice: " << r.dump();
    // The fractional part is zero for whole-second windows; check the exact text once.
    EXPECT_EQ(r["window_start"].get<std::string>(), SqliteTime(std::get<0>(key)));
  }
  return out;
}

std::string Describe(const Windows& w) {
  std::string s;
  for (const auto& [key, a] : w) {
    s += "  [" + std::to_string(std::get<0>(key)) + ", " + std::to_string(std::get<1>(key)) + ") " + std::get<2>(key) +
         ": n=" + std::to_string(a.n) + " total=" + std::to_string(a.total) + "\n";
  }
  return s;
}

Windows WithoutTotals(Windows w) {
  for (auto& [k, a] : w) a.total = 0;
  return w;
}

int64_t Sum(const Windows& w) {
  int64_t n = 0;
  for (const auto& [k, a] : w) n += a.n;
  return n;
}

// ----- a. late and out-of-order records

// Out of order within max_out_of_order (10 s), beyond it but inside the window's lateness, and
// far behind; record 13 has no event time. Window 1m, allowed lateness 5s.
std::vector<Event> LateInput() {
  const std::vector<std::pair<std::string, int64_t>> seq = {
      {"a", 5},   {"b", 12},  {"a", 8},   {"a", 30},  {"b", 25},  {"a", 58},  {"b", 61},  {"a", 50},  {"a", 75},
      {"b", 59},  {"a", 64},  {"b", 130}, {"a", 119}, {"b", 126}, {"a", 140}, {"a", 100}, {"b", 121}, {"a", 3},
      {"b", 200}, {"a", 181}, {"b", 179}, {"a", 185}, {"b", 190}, {"a", 176}, {"b", 250}, {"a", 239}, {"b", 236},
      {"a", 245}, {"b", 300}, {"a", 289}, {"b", 284}, {"a", 295}, {"b", 2},   {"a", 310}, {"b", 305}, {"a", 299}};
  std::vector<Event> out;
  for (size_t i = 0; i < seq.size(); ++i) {
    if (i == 13) out.push_back(Event{"no-time", "a", std::nullopt, 0});
    char id[32];
    std::snprintf(id, sizeof id, "e%02zu", i);
    out.push_back(Event{id, seq[i].first, seq[i].second, 0});
  }
  return out;
}

std::string LateSpec(const std::string& late_mode) {
  return R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: late_test}
spec:
  mode: stream
  sources:
    ev: {kind: log, topic: ev, schema: {fields: [{name: id, type: string}, {name: k, type: string}, {name: v, type: int64}, {name: ts, type: timestamp}]},
         event_time: {field: ts, max_out_of_order: 10s}}
  transforms:
    w: {kind: aggregate, inputs: [ev], window: {tumble: 1m}, group_by: [k], measures: {n: "count(*)"}, allowed_lateness: 5s, late: )yaml" +
         late_mode + R"yaml(}
  sinks:
    gold: {kind: warehouse, inputs: [w], table: gold.w, mode: upsert, key: [window_start, k]}
)yaml";
}

// Runs the late-record pipeline with `epoch_records` per epoch and checks it against the
// reference.
void CheckLateRun(const std::string& work, size_t epoch_records, bool dead_letter) {
  const std::vector<Event> events = LateInput();
  const TumbleReference ref = ReferenceTumble(events, epoch_records, 60, 5, 10);
  ASSERT_FALSE(ref.late.empty()) << "the input should have late records with " << epoch_records << " per epoch";
  ProduceToLog(work, "ev", 1, "k", events);
  const std::string spec = WriteSpec(work, "late_test", LateSpec(dead_letter ? "dead_letter" : "drop"));
  // A long interval: only the record count (and the end of the input) ends an epoch.
  RunOutput run = RunSpec(
      spec, work,
      {"--until-idle", "--drain", "--epoch-records", std::to_string(epoch_records), "--epoch-interval", "10m"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.summary["status"], "finished") << run.summary.dump(2);

  const int64_t in = static_cast<int64_t>(events.size());
  const int64_t late = static_cast<int64_t>(ref.late.size());
  EXPECT_EQ(Counter(run.summary, "ev", "in"), in);
  EXPECT_EQ(Counter(run.summary, "ev", "out"), in);
  EXPECT_EQ(Counter(run.summary, "w", "in"), in);
  EXPECT_EQ(Counter(run.summary, "w", "late"), late);
  // The record without a time is a dead letter either way; late ones only with dead_letter.
  EXPECT_EQ(Counter(run.summary, "w", "dead_letter"), (dead_letter ? late : 0) + 1);
  EXPECT_EQ(Counter(run.summary, "w", "dropped"), dead_letter ? 0 : late);
  EXPECT_EQ(Counter(run.summary, "w", "out"), static_cast<int64_t>(ref.windows.size()));
  EXPECT_EQ(Counter(run.summary, "gold", "in"), static_cast<int64_t>(ref.windows.size()));

  // Every window once, with exactly the records that were not late.
  const Windows gold = GoldWindows(work + "/warehouse.gold.db", "w", false);
  EXPECT_EQ(gold, WithoutTotals(ref.windows)) << "gold:\n" << Describe(gold) << "reference:\n" << Describe(ref.windows);
  // in = windowed + late + the record without a time.
  EXPECT_EQ(Sum(gold) + late + 1, in);

  std::set<std::string> dead_late, dead_other;
  for (const json& env : DeadLetters(work, "late_test")) {
    const json payload = json::parse(env["payload"].get<std::string>());
    const std::string id = payload["id"].get<std::string>();
    EXPECT_EQ(env["component"], "w") << env.dump();
    EXPECT_EQ(env["partition"], "ev/0") << env.dump();
    // The log offset of the record: its position in the input (one partition).
    const auto pos =
        std::find_if(events.begin(), events.end(), [&](const Event& e) { return e.id == id; }) - events.begin();
    EXPECT_EQ(env["offset"], pos) << env.dump();
    if (env["error_class"] == "late") {
      EXPECT_TRUE(dead_late.insert(id).second) << "dead-lettered twice: " << id;
      // The message names the record's event time and the watermark it missed.
      const std::string message = env["error_message"].get<std::string>();
      EXPECT_NE(message.find("event time " + Iso(*events[pos].t) + " is behind the watermark " + Iso(0).substr(0, 4)),
                std::string::npos)
          << message;
    } else {
      EXPECT_EQ(env["error_class"], "missing_event_time") << env.dump();
      dead_other.insert(id);
    }
  }
  if (dead_letter) {
    EXPECT_EQ(dead_late, ref.late);
  } else {
    EXPECT_TRUE(dead_late.empty()) << "late: drop must not dead-letter";
  }
  EXPECT_EQ(dead_other, (std::set<std::string>{"no-time"}));
}

TEST(StreamSemantics, LateRecordsAreExactlyThoseBehindTheWatermarkOfTheirEpoch) {
  // Which records are late depends on where the epochs end: check that the sizes used give
  // different answers, so each run tests the epoch boundaries.
  const auto events = LateInput();
  EXPECT_NE(ReferenceTumble(events, 1, 60, 5, 10).late, ReferenceTumble(events, 3, 60, 5, 10).late);
  EXPECT_NE(ReferenceTumble(events, 3, 60, 5, 10).late, ReferenceTumble(events, 7, 60, 5, 10).late);
  // One epoch for everything: nothing is late.
  EXPECT_TRUE(ReferenceTumble(events, events.size(), 60, 5, 10).late.empty());
  for (size_t n : {1, 3, 7}) {
    SCOPED_TRACE("--epoch-records " + std::to_string(n));
    TempDir dir;
    CheckLateRun(dir.path(), n, true);
  }
}

TEST(StreamSemantics, LateDropCountsLateRecordsAsDroppedNotDeadLetters) {
  TempDir dir;
  CheckLateRun(dir.path(), 5, false);
}

// Runs that stop at the end of their input (--until-idle) and go on when more is produced: three
// batches of events, each produced after the previous run stopped; the last run drains. A window
// the data has not closed stays open across a stop (the batches meet inside a window), so every
// window is emitted once (the sink appends: a window emitted twice shows as two rows), equal to a
// batch computation over every event, and no record is late.
TEST(StreamSemantics, UntilIdleStopsLeaveOpenWindowsForTheNextRun) {
  TempDir dir;
  const std::string work = dir.path();
  const std::string spec = WriteSpec(work, "resume", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: resume}
spec:
  mode: stream
  sources:
    ev: {kind: log, topic: ev, schema: {fields: [{name: id, type: string}, {name: k, type: string}, {name: v, type: int64}, {name: ts, type: timestamp}]},
         event_time: {field: ts, max_out_of_order: 10s}}
  transforms:
    w: {kind: aggregate, inputs: [ev], window: {tumble: 1m}, group_by: [k], measures: {n: "count(*)", total: "sum(v)"}}
  sinks:
    gold: {kind: warehouse, inputs: [w], table: gold.w}
)yaml");
  std::vector<Event> all;
  for (int batch = 0; batch < 3; ++batch) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    // Batch b covers [150 b, 150 b + 120]: its last window [120, 180) (and so on) gets the
    // next batch's first records.
    std::vector<Event> events;
    for (int i = 0; i <= 60; ++i) {
      const int64_t t = 150 * batch + 2 * i - (i % 4 == 3 ? 5 : 0);  // a little out of order
      events.push_back(
          Event{"b" + std::to_string(batch) + "-" + std::to_string(i), i % 3 == 0 ? "x" : "y", t, batch * 1000 + i});
    }
    ProduceToLog(work, "ev", 1, "k", events);
    all.insert(all.end(), events.begin(), events.end());
    std::vector<std::string> flags = {"--until-idle", "--epoch-records", "16"};
    if (batch == 2) flags.push_back("--drain");
    RunOutput run = RunSpec(spec, work, flags);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.summary["status"], "finished") << run.summary.dump(2);
    EXPECT_EQ(Counter(run.summary, "ev", "in"), static_cast<int64_t>(all.size()));
    EXPECT_EQ(Counter(run.summary, "w", "late"), 0);
    EXPECT_EQ(Counter(run.summary, "w", "dead_letter"), 0);
    // Every window emitted so far is complete (no later batch adds to it).
    const Windows final_windows = ReferenceHop(all, 60, 60);
    const Windows gold = GoldWindows(work + "/warehouse.gold.db", "w", true);
    for (const auto& [key, agg] : gold) {
      auto it = final_windows.find(key);
      ASSERT_NE(it, final_windows.end()) << "a window no record falls in: [" << std::get<0>(key) << ", "
                                         << std::get<1>(key) << ") " << std::get<2>(key);
      if (batch < 2) {
        EXPECT_LT(std::get<1>(key), 150 * (batch + 1) - 10) << "a window the next batch reaches was emitted";
      }
    }
    if (batch == 2) EXPECT_EQ(gold, final_windows) << Describe(gold);
  }
}

// ----- b. idle partitions

std::string IdleSpec(const std::string& brokers, bool idle_timeout) {
  return R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: idle_test}
spec:
  mode: stream
  sources:
    ev: {kind: kafka, topic: ev, brokers: ")yaml" +
         brokers +
         R"yaml(", schema: {fields: [{name: id, type: string}, {name: k, type: string}, {name: v, type: int64}, {name: ts, type: timestamp}]},
         event_time: {field: ts, max_out_of_order: 10s)yaml" +
         (idle_timeout ? ", idle_timeout: 200ms, idle_advance: false" : "") + R"yaml(}}
  transforms:
    w: {kind: aggregate, inputs: [ev], window: {tumble: 1m}, group_by: [k], measures: {n: "count(*)"}}
  sinks:
    gold: {kind: warehouse, inputs: [w], table: gold.w, mode: upsert, key: [window_start, k]}
)yaml";
}

Event IdleEvent(int64_t i) { return Event{"i" + std::to_string(i), i % 3 == 0 ? "b" : "a", i, 0}; }

// Data only in partition 0 of a 2-partition Kafka topic, produced one second of event time per
// record while the worker runs (no --until-idle). With idle_timeout the empty partition stops
// holding the watermark and the first minute fires while the input is still flowing; without
// it nothing fires before the end of the input.
// The records keep flowing on purpose: after a single burst partition 0 goes idle too, about
// when partition 1 does. These tests are about one idle partition, so the spec turns off
// idle_advance: with it, a stall of the producer longer than idle_timeout (200 ms) would let the
// watermark move with processing time and could make the next record late (that is tested in
// tests/integration/stream_idle_advance_test.cc).
class IdlePartition : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = kafka::MockCluster::Start(1);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic("ev", 2).ok());
    kafka::ProducerOptions po;
    po.brokers = cluster_->bootstrap_servers();
    po.linger_ms = 0;
    auto p = kafka::Producer::Open(po);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    producer_ = std::move(*p);
  }

  void ProduceOne() {
    const Event e = IdleEvent(static_cast<int64_t>(produced_.size()));
    ASSERT_TRUE(producer_->Produce("ev", 0, e.k, ToNdjson({e})).ok());
    ASSERT_TRUE(producer_->Flush(10000).ok());
    produced_.push_back(e);
  }

  std::unique_ptr<Worker> Start(const std::string& spec, const std::string& work) {
    auto w = std::make_unique<Worker>(std::vector<std::string>{kBin, "run", "-f", spec, "--workdir", work, "-o", "json",
                                                               "--epoch-interval", "100ms", "--max-epochs", "100000"},
                                      work + "/worker.out", work + "/worker.err");
    EXPECT_TRUE(w->started());
    return w;
  }

  // After the streaming part: a run to the end of the input fires every window; gold then holds
  // every produced record once, in its window.
  void FinishAndCheck(const std::string& spec, const std::string& work) {
    RunOutput fin = RunSpec(spec, work, {"--until-idle", "--drain"});
    ASSERT_EQ(fin.exit_code, 0) << fin.err;
    EXPECT_EQ(fin.summary["status"], "finished");
    EXPECT_EQ(Counter(fin.summary, "ev", "in"), static_cast<int64_t>(produced_.size()));
    EXPECT_EQ(Counter(fin.summary, "w", "late"), 0);
    const TumbleReference ref = ReferenceTumble(produced_, produced_.size(), 60, 0, 10);
    EXPECT_EQ(GoldWindows(work + "/warehouse.gold.db", "w", false), WithoutTotals(ref.windows));
  }

  std::unique_ptr<kafka::MockCluster> cluster_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<Event> produced_;
};

TEST_F(IdlePartition, WithIdleTimeoutWindowsFireWhileTheInputFlows) {
  TempDir dir;
  const std::string work = dir.path();
  const std::string spec = WriteSpec(work, "idle_test", IdleSpec(cluster_->bootstrap_servers(), true));
  auto worker = Start(spec, work);
  const std::string db = work + "/warehouse.gold.db";
  // Keep producing (one record, then a look at gold) until the first minute is in gold.
  json first_minute = json::array();
  const auto deadline = SteadyClock::now() + std::chrono::seconds(90);
  while (first_minute.empty() && SteadyClock::now() < deadline && worker->running()) {
    ProduceOne();
    if (HasFatalFailure()) return;
    first_minute = SqliteRows(db, "w", "SELECT k, n FROM w WHERE window_start = '" + SqliteTime(0) + "' ORDER BY k");
  }
  ASSERT_TRUE(worker->running()) << "the worker stopped: " << worker->err();
  ASSERT_FALSE(first_minute.empty()) << "no window fired within 90 s while " << produced_.size()
                                     << " records flowed into partition 0; the empty partition 1 stalls the watermark";
  // It fired once the watermark passed 60 s: at least 71 records (0..70 s) were needed.
  EXPECT_GT(produced_.size(), 70u);
  std::printf("[ info ] the first minute fired after %zu records\n", produced_.size());
  // The window holds exactly the first minute's records.
  EXPECT_EQ(first_minute, json::parse(R"([{"k": "a", "n": 40}, {"k": "b", "n": 20}])"));
  // More input after the window fired, then stop the worker (it finishes its epoch).
  for (int i = 0; i < 20; ++i) ProduceOne();
  auto code = worker->Stop(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "the worker did not stop within 60 s of SIGTERM";
  ASSERT_EQ(*code, 0) << worker->err();
  json stopped = json::parse(worker->out());
  EXPECT_EQ(stopped["status"], "stopped");
  EXPECT_GT(Counter(stopped, "w", "out"), 0);
  FinishAndCheck(spec, work);
}

TEST_F(IdlePartition, WithoutIdleTimeoutNothingFiresBeforeTheEnd) {
  TempDir dir;
  const std::string work = dir.path();
  const std::string spec = WriteSpec(work, "idle_test", IdleSpec(cluster_->bootstrap_servers(), false));
  auto worker = Start(spec, work);
  const std::string db = work + "/warehouse.gold.db";
  // The same flow of records as above, two and a half minutes of event time.
  for (int i = 0; i < 150; ++i) {
    ProduceOne();
    if (HasFatalFailure()) return;
    if (i % 10 == 0) {
      EXPECT_EQ(SqliteRows(db, "w", "SELECT * FROM w"), json::array()) << "after " << i << " records";
    }
  }
  // Wait until the worker has processed every record (an epoch that read them is complete).
  const auto deadline = SteadyClock::now() + std::chrono::seconds(60);
  while (CheckpointedRecords(work, "idle_test", "ev") < 150 && SteadyClock::now() < deadline && worker->running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(CheckpointedRecords(work, "idle_test", "ev"), 150) << worker->err();
  EXPECT_EQ(SqliteRows(db, "w", "SELECT * FROM w"), json::array())
      << "a window fired although partition 1 holds the watermark";
  auto code = worker->Stop(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "the worker did not stop within 60 s of SIGTERM";
  ASSERT_EQ(*code, 0) << worker->err();
  json stopped = json::parse(worker->out());
  EXPECT_EQ(stopped["status"], "stopped");
  EXPECT_EQ(Counter(stopped, "ev", "in"), 150);
  EXPECT_EQ(Counter(stopped, "w", "out"), 0);
  EXPECT_EQ(stopped["watermark"], nullptr);
  FinishAndCheck(spec, work);
}

// ----- c. hopping and session windows

std::vector<Event> WindowInput() {
  std::mt19937_64 rng(20260301);
  std::vector<Event> out;
  int64_t base = 0;
  // These keys spread over all three partitions of `sluice log produce --key k`.
  const char* keys[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
  for (int i = 0; i < 300; ++i) {
    base += static_cast<int64_t>(rng() % 26);          // 0..25 s
    if (rng() % 20 == 0) base += 100;                    // now and then a pause
    const int64_t jitter = static_cast<int64_t>(rng() % 16);  // out of order by up to 15 s
    out.push_back(Event{"w" + std::to_string(i), keys[rng() % 6], std::max<int64_t>(0, base - jitter),
                        static_cast<int64_t>(rng() % 1000) - 200});
  }
  return out;
}

TEST(StreamSemantics, HoppingAndSessionWindowsEqualABatchComputation) {
  TempDir dir;
  const std::string work = dir.path();
  const std::vector<Event> events = WindowInput();
  ProduceToLog(work, "ev", 3, "k", events);
  if (HasFatalFailure()) return;
  // Each partition must hold records, or the empty one holds the watermark until the end.
  const auto ends = LogEndOffsets(work, "ev");
  ASSERT_EQ(ends.size(), 3u);
  for (int64_t e : ends) ASSERT_GT(e, 0) << "a partition got no keys; pick other keys";

  // Records are out of order by at most 15 s < max_out_of_order, and each key stays in one
  // partition: nothing is late, so the stream must equal the batch computation.
  const std::string spec = WriteSpec(work, "win_test", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: win_test}
spec:
  mode: stream
  sources:
    ev: {kind: log, topic: ev, schema: {fields: [{name: id, type: string}, {name: k, type: string}, {name: v, type: int64}, {name: ts, type: timestamp}]},
         event_time: {field: ts, max_out_of_order: 20s}}
  transforms:
    hop: {kind: aggregate, inputs: [ev], window: {hop: {size: 2m, slide: 30s}}, group_by: [k], measures: {n: "count(*)", total: "sum(v)"}}
    sess: {kind: aggregate, inputs: [ev], window: {session: {gap: 45s}}, group_by: [k], measures: {n: "count(*)", total: "sum(v)"}}
  sinks:
    gold_hop: {kind: warehouse, inputs: [hop], table: gold.hop, mode: upsert, key: [window_start, k]}
    gold_sess: {kind: warehouse, inputs: [sess], table: gold.sess, mode: upsert, key: [window_start, k]}
)yaml");
  const Windows hop_ref = ReferenceHop(events, 120, 30);
  const Windows sess_ref = ReferenceSessions(events, 45);
  ASSERT_GT(sess_ref.size(), 30u);  // the input makes many sessions
  const std::string db = work + "/warehouse.gold.db";

  // 15 epochs of 7 records (about a third of the input): windows the watermark has passed are
  // in gold already, and they are final.
  RunOutput part = RunSpec(spec, work, {"--epoch-records", "7", "--epoch-interval", "10m", "--max-epochs", "15"});
  ASSERT_EQ(part.exit_code, 0) << part.err;
  EXPECT_EQ(part.summary["status"], "stopped");
  EXPECT_EQ(Counter(part.summary, "ev", "in"), 105);
  for (const auto& [table, ref] : {std::pair{"hop", &hop_ref}, std::pair{"sess", &sess_ref}}) {
    const Windows early = GoldWindows(db, table, true);
    EXPECT_FALSE(early.empty()) << table << ": no window fired during the first 15 epochs";
    EXPECT_LT(early.size(), ref->size()) << table;
    for (const auto& [key, agg] : early) {
      auto it = ref->find(key);
      ASSERT_NE(it, ref->end()) << table << ": unexpected window [" << std::get<0>(key) << ", " << std::get<1>(key)
                                << ") " << std::get<2>(key);
      EXPECT_EQ(agg, it->second) << table << ": window [" << std::get<0>(key) << ", " << std::get<1>(key) << ") "
                                 << std::get<2>(key);
    }
  }

  // The rest (resuming from the checkpoint, open windows and held session rows restored).
  RunOutput rest = RunSpec(spec, work, {"--until-idle", "--drain", "--epoch-records", "7", "--epoch-interval", "10m"});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(rest.summary["status"], "finished");
  EXPECT_EQ(rest.summary["restored_epoch"], 15);
  for (const char* c : {"hop", "sess"}) {
    EXPECT_EQ(Counter(rest.summary, c, "in"), static_cast<int64_t>(events.size())) << c;
    EXPECT_EQ(Counter(rest.summary, c, "late"), 0) << c;
    EXPECT_EQ(Counter(rest.summary, c, "dead_letter"), 0) << c;
  }
  EXPECT_EQ(Counter(rest.summary, "hop", "out"), static_cast<int64_t>(hop_ref.size()));
  EXPECT_EQ(Counter(rest.summary, "sess", "out"), static_cast<int64_t>(sess_ref.size()));
  const Windows hop = GoldWindows(db, "hop", true);
  const Windows sess = GoldWindows(db, "sess", true);
  EXPECT_EQ(hop, hop_ref) << "gold:\n" << Describe(hop) << "reference:\n" << Describe(hop_ref);
  EXPECT_EQ(sess, sess_ref) << "gold:\n" << Describe(sess) << "reference:\n" << Describe(sess_ref);
  EXPECT_EQ(Sum(sess), static_cast<int64_t>(events.size()));
  EXPECT_EQ(Sum(hop), static_cast<int64_t>(events.size()) * 4);  // each record is in size/slide windows
}

// ----- d. broker faults

// A replay processes the records of the epoch it replays in the order they were first processed,
// however many source threads read them then and now: a log sink fed from every source partition
// gets the same records in the same order, and dedup keeps the same copy of a duplicated id.
TEST(StreamSemantics, AReplayProcessesTheRecordedOrder) {
  TempDir dir;
  const std::string work = dir / "order";
  std::vector<Event> events;
  for (int64_t i = 0; i < 30000; ++i) {
    // Every 10th id repeats an earlier one with another value, on another partition.
    const std::string id = i % 10 == 9 ? "e" + std::to_string(i * 7 % (i - 1)) : "e" + std::to_string(i);
    events.push_back(Event{id, "k" + std::to_string(i % 5), i / 10, i});
  }
  ProduceToLog(work, "ev", 6, "v", events);
  const std::string spec = WriteSpec(work, "order", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: order}
spec:
  mode: stream
  sources:
    ev: {kind: log, topic: ev, schema: {fields: [{name: id, type: string}, {name: k, type: string}, {name: v, type: int64}, {name: ts, type: timestamp}]}}
  transforms:
    unique: {kind: dedup, inputs: [ev], key: id, within: 1h}
  sinks:
    out: {kind: log, inputs: [unique], topic: out, partitions: 3, key: k}
)yaml");
  auto consume = [&] {
    auto r = RunProcess({kBin, "log", "consume", "out", "--workdir", work, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  // One epoch, read by 3 threads (their chunks interleave as they come).
  RunOutput first = RunSpec(spec, work, {"--source-threads", "3", "--max-epochs", "1", "--epoch-interval", "10m",
                                         "--epoch-records", std::to_string(events.size())});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(Counter(first.summary, "ev", "in"), static_cast<int64_t>(events.size()));
  const std::string original = consume();
  ASSERT_FALSE(original.empty());

  // Forget the epoch's output and state, keep its recorded input: the next run replays it, on one thread.
  fs::remove_all(work + "/log/out");
  fs::remove_all(work + "/sinks");
  fs::remove_all(work + "/checkpoints/order/state");
  ASSERT_TRUE(fs::exists(work + "/checkpoints/order/offsets"));
  RunOutput replay = RunSpec(spec, work, {"--source-threads", "1", "--max-epochs", "1", "--epoch-interval", "10m",
                                          "--epoch-records", std::to_string(events.size())});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(replay.summary["last_epoch"], 1);
  EXPECT_EQ(Counter(replay.summary, "unique", "dropped"), Counter(first.summary, "unique", "dropped"));
  EXPECT_TRUE(consume() == original) << "the replay wrote other records, or in another order";
}

TEST(StreamSemantics, KafkaBrokerOutageAndFetchErrorsLoseAndDoubleNothing) {
  constexpr int kPartitions = 4;
  constexpr int64_t kEvents = 200000;
  auto cluster = kafka::MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto& mock = **cluster;
  ASSERT_TRUE(mock.CreateTopic("ev", kPartitions).ok());
  {
    kafka::ProducerOptions po;
    po.brokers = mock.bootstrap_servers();
    po.linger_ms = 20;
    auto producer = kafka::Producer::Open(po);
    ASSERT_TRUE(producer.ok()) << producer.status().ToString();
    for (int64_t i = 0; i < kEvents; ++i) {
      const std::string value = R"({"id":"x)" + std::to_string(i) + R"(","n":)" + std::to_string(i) + "}";
      ASSERT_TRUE((*producer)->Produce("ev", static_cast<int32_t>(i % kPartitions), {}, value).ok());
    }
    ASSERT_TRUE((*producer)->Flush(120000).ok());
  }

  // librdkafka fetches ahead of what the worker has read; a slow broker keeps it from holding the
  // whole topic before the outage, so the outage interrupts reading.
  ASSERT_TRUE(mock.SetBrokerRtt(1, 200).ok());

  TempDir dir;
  const std::string work = dir.path();
  const std::string spec = WriteSpec(work, "faults", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: faults}
spec:
  mode: stream
  sources:
    ev: {kind: kafka, topic: ev, brokers: ")yaml" + mock.bootstrap_servers() + R"yaml(",
         schema: {fields: [{name: id, type: string, required: true}, {name: n, type: int64, required: true}]}}
  sinks:
    bronze: {kind: lake, inputs: [ev], table: bronze.events}
)yaml");
  const auto t0 = SteadyClock::now();
  Worker worker({kBin, "run", "-f", spec, "--workdir", work, "--until-idle", "-o", "json", "--epoch-records", "1000"},
                work + "/worker.out", work + "/worker.err");
  ASSERT_TRUE(worker.started());

  // Once an epoch is committed, take the broker down.
  auto deadline = SteadyClock::now() + std::chrono::seconds(120);
  while (NewestCheckpoint(work, "faults") == 0 && SteadyClock::now() < deadline && worker.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_GT(NewestCheckpoint(work, "faults"), 0) << "no checkpoint within 120 s: " << worker.err();
  ASSERT_TRUE(mock.SetBrokerDown(1).ok());
  const int64_t at_outage = CheckpointedRecords(work, "faults", "ev");
  ASSERT_TRUE(worker.running()) << "the worker finished before the outage: " << worker.err();
  ASSERT_LT(at_outage, kEvents) << "the outage came after the worker had read everything";

  // 10 s down. The worker must keep waiting for the broker, not fail.
  const auto down_until = SteadyClock::now() + std::chrono::seconds(10);
  while (SteadyClock::now() < down_until && worker.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(worker.running()) << "the worker exited while the broker was down (after "
                                << std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0)
                                       .count()
                                << " ms); stderr:\n" << worker.err() << "\nstdout:\n" << worker.out();
  const int64_t after_outage = CheckpointedRecords(work, "faults", "ev");
  ASSERT_LT(after_outage, kEvents) << "the worker read every record while the broker was down (from what it had "
                                      "fetched ahead): the outage did not interrupt reading";

  // Back up, with the next fetches failing with retriable errors.
  auto fetch = kafka::ApiKeyByName("Fetch");
  ASSERT_TRUE(fetch.ok());
  std::vector<int> errors;
  for (const char* name : {"NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION",
                           "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT"}) {
    auto code = kafka::ErrorCodeByName(name);
    ASSERT_TRUE(code.ok()) << name;
    errors.push_back(*code);
  }
  ASSERT_TRUE(mock.PushRequestErrors(*fetch, errors).ok());
  ASSERT_TRUE(mock.SetBrokerRtt(1, 0).ok());
  ASSERT_TRUE(mock.SetBrokerUp(1).ok());

  auto code = worker.WaitFor(std::chrono::seconds(180));
  const auto total_ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
  ASSERT_TRUE(code.has_value()) << "the worker did not finish within 180 s after the broker came back; stderr:\n"
                                << worker.err();
  ASSERT_EQ(*code, 0) << "stderr:\n" << worker.err() << "\nstdout:\n" << worker.out();
  std::printf("[ info ] outage at %lld records checkpointed (%lld after 10 s down); finished in %lld ms\n",
              static_cast<long long>(at_outage), static_cast<long long>(after_outage),
              static_cast<long long>(total_ms));
  json summary = json::parse(worker.out());
  EXPECT_EQ(summary["status"], "finished");
  EXPECT_EQ(Counter(summary, "ev", "in"), kEvents);
  EXPECT_EQ(Counter(summary, "ev", "dead_letter"), 0);
  EXPECT_EQ(Counter(summary, "bronze", "in"), kEvents);

  // Bronze: every id exactly once.
  auto table = lake::DeltaTable::Open(work + "/lake/bronze/events");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  int64_t rows = 0;
  std::unordered_set<std::string> ids;
  std::vector<uint8_t> seen(kEvents, 0);
  int64_t bad = 0;
  lake::ScanOptions so;
  so.columns = {"id", "n"};
  Status st = lake::Scan(**table, so, [&](Batch b) {
    const auto id_index = b.schema()->IndexOf("id");
    const auto n_index = b.schema()->IndexOf("n");
    if (!id_index || !n_index) return Status::Internal("the bronze table has no id or n column");
    const Column& id = *b.column(*id_index);
    const Column& n = *b.column(*n_index);
    b.ForEachActive([&](uint32_t r) {
      ++rows;
      ids.emplace(id.GetString(r));
      const int64_t v = n.Get<int64_t>(r);
      if (v < 0 || v >= kEvents || id.GetString(r) != "x" + std::to_string(v)) {
        ++bad;
      } else {
        seen[static_cast<size_t>(v)] = 1;
      }
    });
    return Status::OK();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(rows, kEvents);
  EXPECT_EQ(static_cast<int64_t>(ids.size()), kEvents);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kEvents);
}

}  // namespace
}  // namespace sluice::testing
