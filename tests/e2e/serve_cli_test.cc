// `sluice serve` as a real process on loopback, driven through the CLI's client verbs and plain
// HTTP: apply, versions, describe, list, delete, ingest into the log, bad input with exit code 2,
// the loopback-only default, and a clean stop on SIGTERM.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "sluice/base/check.h"
#include "sluice/client/api_client.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
const std::string kBin = SLUICE_BIN;
const std::string kSource = SLUICE_SOURCE_DIR;
const std::string kAdminPassword = "correct horse battery staple";

class Serve : public ::testing::Test {
 protected:
  virtual std::string ServeFlags() const { return ""; }
  void SetUp() override {
    work_ = dir_ / "work";
    // Pipelines of the namespace ops read and write in its folder of the server's data root.
    ops_ = work_ + "/data/ops";
    fs::create_directories(ops_);
    config_ = dir_ / "client.json";
    pid_ = SpawnProcess({"/bin/sh", "-c",
                         "SLUICE_ADMIN_PASSWORD='" + kAdminPassword + "' exec '" + kBin +
                             "' serve --init-admin --listen 127.0.0.1:0 --workdir '" + work_ + "' " + ServeFlags() +
                             " > '" + (dir_ / "url") + "' 2> '" + (dir_ / "serve.log") + "'"});
    url_ = WaitForFirstLine(dir_ / "url");
    ASSERT_FALSE(url_.empty()) << ReadFile(dir_ / "serve.log");
    // The CLI logs in as the admin; the plain HTTP calls use its access token.
    auto login = Cli({"login", "--user", "admin"}, kAdminPassword + "\n");
    ASSERT_EQ(login.exit_code, 0) << login.err << ReadFile(dir_ / "serve.log");
    token_ = json::parse(ReadFile(config_))["token"].get<std::string>();
  }
  client::ApiClient Api() {
    auto c = client::ApiClient::Create({.server = url_, .token = token_});
    SLUICE_CHECK(c.ok());
    return std::move(*c);
  }
  // The run's JSON once `done` holds for it or 60 s have passed.
  json WaitForRun(const std::string& id, const std::function<bool(const json&)>& done) {
    json run;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
      run = Api().Get("/api/v1/runs/" + id)->json;
      if (done(run)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling pace, not synchronization
    } while (std::chrono::steady_clock::now() < deadline);
    return run;
  }

  // The run once it has finished (or 60 s have passed).
  json WaitForEnd(const std::string& id) {
    return WaitForRun(id, [](const json& r) { return r["status"] == "succeeded" || r["status"] == "failed"; });
  }

  // Changes `from` to `to` in the spec file `spec` of `pipeline` (NAMESPACE/NAME), applies it and
  // replays the pipeline's rule_failed dead letters; returns the replay's answer.
  json FixAndReplay(const std::string& spec, const std::string& pipeline, const std::string& from,
                    const std::string& to) {
    std::string fixed = ReadFile(spec);
    fixed.replace(fixed.find(from), from.size(), to);
    WriteFile(spec, fixed);
    EXPECT_EQ(Cli({"apply", "-f", spec, "-m", "fix the rule"}).exit_code, 0);
    auto replay = Cli({"replay", pipeline, "--error-class", "rule_failed", "-o", "json"});
    EXPECT_EQ(replay.exit_code, 0) << replay.err;
    return json::parse(replay.out, nullptr, false);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      WaitProcess(pid_);
    }
  }

  // The CLI with the fixture's client config (its login), as `config` says otherwise.
  ProcessResult Cli(const std::vector<std::string>& args, const std::string& stdin_text = "",
                    const std::string& config = "") {
    return RunClient(kBin, args, url_, config.empty() ? config_ : config, stdin_text, dir_ / "stdin.txt");
  }

  // An example pipeline as applied to a server: its sources read from the namespace's folder of
  // the data root (relative paths start there), not from the examples' data folder.
  std::string ServerCopy(const std::string& example) {
    std::string text = ReadFile(kSource + "/examples/pipelines/" + example + ".yaml");
    for (size_t at = text.find("../data/"); at != std::string::npos; at = text.find("../data/")) text.erase(at, 8);
    const std::string path = dir_ / (example + ".yaml");
    WriteFile(path, text);
    return path;
  }

  // A batch pipeline `name` whose validate needs ${config.min} and ${secret.blocked}; returns the spec's path.
  std::string GuardedSpec(const std::string& name) {
    const std::string spec = dir_ / (name + ".yaml");
    WriteFile(spec, "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: " + name +
                        ", namespace: ops}\nspec:\n  sources:\n"
                        "    in: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}, {name: "
                        "user, type: string}]}}\n"
                        "  transforms:\n    ok: {kind: validate, inputs: [in], rules: [{name: min, check: \"id >= "
                        "${config.min}\"}, "
                        "{name: allowed, check: \"user <> '${secret.blocked}'\"}]}\n"
                        "  sinks:\n    out: {kind: files, inputs: [ok], path: out/" +
                        name + ".ndjson}\n");
    return spec;
  }

  // Stops the server (it holds the topics), then reads the `id` of every event ingested into
  // `stream` from the log.
  std::multiset<int64_t> StopAndReadIngestedIds(const std::string& stream) {
    ::kill(pid_, SIGTERM);
    EXPECT_EQ(WaitProcess(pid_), 0);
    pid_ = -1;
    auto consumed = RunProcess({kBin, "log", "consume", "ingest." + stream, "--workdir", work_, "-o", "json"});
    EXPECT_EQ(consumed.exit_code, 0) << consumed.err;
    std::multiset<int64_t> ids;
    std::istringstream in(consumed.out);
    for (std::string line; std::getline(in, line);) {
      ids.insert(json::parse(json::parse(line)["value"].get<std::string>())["id"].get<int64_t>());
    }
    return ids;
  }

  TempDir dir_;
  std::string work_;
  std::string ops_;
  std::string url_;
  std::string config_;  // the admin's client config
  std::string token_;   // the admin's access token
  int pid_ = -1;
};

TEST_F(Serve, ApplyVersionsDescribeListDeleteThroughTheCli) {
  const std::string spec = ServerCopy("clickstream");
  auto created = Cli({"apply", "-f", spec, "-m", "first", "-o", "json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const json c = json::parse(created.out);
  EXPECT_TRUE(c["created"].get<bool>());
  EXPECT_EQ(c["version"], 1);
  const std::string name = c["namespace"].get<std::string>() + "/" + c["name"].get<std::string>();

  auto same = Cli({"apply", "-f", spec});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("unchanged (version 1)"), std::string::npos) << same.out;

  std::string text = ReadFile(spec);
  text += "# a comment is a change of the spec text\n";
  const std::string changed = dir_ / "changed.yaml";
  WriteFile(changed, text);
  auto second = Cli({"apply", "-f", changed, "-m", "second"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("updated to version 2"), std::string::npos) << second.out;

  auto described = Cli({"describe", "pipeline", name, "-o", "json"});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  const json d = json::parse(described.out);
  EXPECT_EQ(d["latest_version"], 2);
  ASSERT_EQ(d["versions"].size(), 2u);
  EXPECT_EQ(d["versions"][0]["message"], "second");
  EXPECT_EQ(d["spec"], text);

  auto listed = Cli({"ls", "pipelines", "-o", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(json::parse(listed.out).size(), 1u);
  auto table = Cli({"ls", "pipelines"});
  EXPECT_NE(table.out.find(name), std::string::npos) << table.out;

  auto deleted = Cli({"delete", "pipeline", name});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  auto gone = Cli({"get", "pipeline", name});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
  EXPECT_NE(gone.err.find("request id"), std::string::npos) << gone.err;
}

// pause and resume (POST .../pause, .../resume): the pipeline says it is paused, in table and JSON
// answers and in `ls pipelines`; an unknown pipeline is exit 2 with a JSON error.
TEST_F(Serve, PauseAndResumeAPipeline) {
  auto applied = Cli({"apply", "-f", ServerCopy("clickstream"), "-o", "json"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  const json a = json::parse(applied.out);
  const std::string name = a["namespace"].get<std::string>() + "/" + a["name"].get<std::string>();

  auto paused = Cli({"pause", name});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_NE(paused.out.find("pipeline " + name + " paused"), std::string::npos) << paused.out;
  EXPECT_EQ(paused.err, "");
  EXPECT_TRUE(json::parse(Cli({"get", "pipeline", name, "-o", "json"}).out)["paused"].get<bool>());
  auto listed = Cli({"ls", "pipelines"});
  EXPECT_NE(listed.out.find("paused"), std::string::npos) << listed.out;

  auto again = Cli({"pause", name, "-o", "json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(json::parse(again.out)["paused"].get<bool>()) << "pausing a paused pipeline changes nothing";

  auto resumed = Cli({"resume", name, "-o", "json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_FALSE(json::parse(resumed.out)["paused"].get<bool>()) << resumed.out;
  EXPECT_FALSE(json::parse(Cli({"get", "pipeline", name, "-o", "json"}).out)["paused"].get<bool>());
  auto table = Cli({"resume", name});
  EXPECT_NE(table.out.find("pipeline " + name + " resumed"), std::string::npos) << table.out;

  auto unknown = Cli({"pause", "web/no_such_pipeline", "-o", "json"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.out, "");
  const json error = json::parse(unknown.err, nullptr, false);
  ASSERT_TRUE(error.is_object()) << unknown.err;
  EXPECT_EQ(error["code"], "not_found");
  auto malformed = Cli({"resume", "no-slash"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.err.find("NAMESPACE/NAME"), std::string::npos) << malformed.err;
}

TEST_F(Serve, BadInputIsExitCode2WithTheSpecLine) {
  const std::string bad = dir_ / "bad.yaml";
  WriteFile(bad, "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: bad}\nspec:\n  sources:\n"
                 "    raw: {kind: files, path: x.ndjson, schema: {fields: [{name: id, type: strng}]}}\n"
                 "  sinks:\n    out: {kind: blackhole, inputs: [raw]}\n");
  auto r = Cli({"apply", "-f", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(bad + ":6:"), std::string::npos) << r.err;
  EXPECT_EQ(Cli({"get", "pipeline", "no-slash"}).exit_code, 2);
  EXPECT_EQ(Cli({"ls", "widgets"}).exit_code, 2);
  // Nothing listens there: a runtime failure (1) that says what to do.
  auto down = RunProcess({kBin, "ls", "pipelines", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("sluice serve"), std::string::npos) << down.err;
}

TEST_F(Serve, IngestThroughTheCliLandsInTheLogOnce) {
  std::string events;
  for (int i = 0; i < 2500; ++i) events += "{\"id\": " + std::to_string(i) + "}\n";
  auto r = Cli({"ingest", "clicks", "--batch", "1000", "-o", "json"}, events);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["accepted"], 2500);
  EXPECT_EQ(json::parse(r.out)["requests"], 3);
  auto bad = Cli({"ingest", "clicks"}, "{\"id\": 1}\nnot json\n");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("line 2"), std::string::npos) << bad.err;

  // Plain HTTP: an oversized body is a 413 problem.
  auto c = client::ApiClient::Create({.server = url_, .token = token_});
  ASSERT_TRUE(c.ok());
  auto big = c->Request("POST", "/api/v1/ingest/clicks", std::string(70 << 20, ' '), "application/x-ndjson");
  ASSERT_TRUE(big.ok()) << big.status().ToString() << "\n" << ReadFile(dir_ / "serve.log");
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(big->json["code"], "body_too_large");

  // Every event once.
  const std::multiset<int64_t> ids = StopAndReadIngestedIds("clicks");
  EXPECT_EQ(ids.size(), 2500u);
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 2500u);
}

// ingest reports every batch: what was accepted and what refused, with the input's line numbers
// of the bad events (it used to print only the error of the first refused batch, hiding the
// accepted ones), and goes on with the batches after a refused one. --all-or-nothing sends the
// input as one request, which the server accepts or refuses whole. The log holds exactly the
// accepted events.
TEST_F(Serve, IngestReportsEachBatchAndAllOrNothingAcceptsAllOrNone) {
  std::string events;
  std::set<int64_t> expected;
  for (int i = 1; i <= 2500; ++i) {
    const bool bad = i == 1500 || i == 1733;
    events += bad ? "{\"id\": " + std::to_string(i) + ",\n" : "{\"id\": " + std::to_string(i) + "}\n";
    if (i <= 1000 || i > 2000) expected.insert(i);
  }
  auto r = Cli({"ingest", "orders", "--batch", "1000", "-o", "json"}, events);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const json report = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << "the report is the result, on stdout: " << r.out;
  EXPECT_EQ(report["accepted"], 1500);
  EXPECT_EQ(report["refused"], 1000);
  EXPECT_EQ(report["not_sent"], 0);
  ASSERT_EQ(report["batches"].size(), 3u);
  EXPECT_EQ(report["batches"][0]["status"], "accepted");
  EXPECT_EQ(report["batches"][0]["accepted"], 1000);
  const json& refused = report["batches"][1];
  EXPECT_EQ(refused["status"], "refused");
  EXPECT_EQ(refused["first_line"], 1001);
  EXPECT_EQ(refused["last_line"], 2000);
  EXPECT_EQ(refused["refused"], 1000);
  EXPECT_EQ(refused["bad_lines"], json::array({1500, 1733}));
  EXPECT_EQ(refused["reason"],
            "2 event(s) are not JSON objects (lines 1500, 1733); nothing of this batch was accepted");
  EXPECT_EQ(refused["errors"][1]["line"], 1733);
  EXPECT_EQ(report["batches"][2]["status"], "accepted");
  const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  const json error = json::parse(last, nullptr, false);
  ASSERT_TRUE(error.is_object()) << r.err;
  EXPECT_EQ(error["exit_code"], 2);
  EXPECT_EQ(error["message"],
            "lines 1001-2000: 2 event(s) are not JSON objects (lines 1500, 1733); nothing of this batch was accepted");

  auto table = Cli({"ingest", "refused_demo", "--batch", "1000"}, events);
  EXPECT_EQ(table.exit_code, 2);
  EXPECT_NE(table.out.find("1500 events into stream refused_demo (3 requests); 1000 refused, 0 not sent"),
            std::string::npos)
      << table.out;
  EXPECT_NE(
      table.out.find(
          "1001-2000     1000        0     1000  refused\n        2 event(s) are not JSON objects (lines 1500, 1733)"),
      std::string::npos)
      << table.out;
  EXPECT_NE(table.err.find("error: "), std::string::npos) << table.err;

  auto none = Cli({"ingest", "orders", "--all-or-nothing", "-o", "json"}, events);
  EXPECT_EQ(none.exit_code, 2) << none.err;
  const json whole = json::parse(none.out, nullptr, false);
  ASSERT_FALSE(whole.is_discarded()) << none.out;
  EXPECT_EQ(whole["accepted"], 0);
  EXPECT_EQ(whole["refused"], 2500);
  EXPECT_EQ(whole["requests"], 1);
  EXPECT_EQ(whole["batches"][0]["bad_lines"], json::array({1500, 1733}));

  std::string clean;
  for (int i = 10001; i <= 12500; ++i) {
    clean += "{\"id\": " + std::to_string(i) + "}\n";
    expected.insert(i);
  }
  auto all = Cli({"ingest", "orders", "--all-or-nothing", "--batch", "10", "-o", "json"}, clean);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(json::parse(all.out)["accepted"], 2500);
  EXPECT_EQ(json::parse(all.out)["requests"], 1);

  // The log holds exactly the accepted events, once each.
  EXPECT_EQ(StopAndReadIngestedIds("orders"), std::multiset<int64_t>(expected.begin(), expected.end()));
}

TEST_F(Serve, RunsExecuteOnTheEmbeddedWorker) {
  WriteFile(ops_ + "/in.ndjson", "{\"id\": 1}\n{\"id\": -2}\n{\"id\": 3}\nnot json\n");
  const std::string spec = dir_ / "copy.yaml";
  WriteFile(spec,
            "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: copy, namespace: ops}\nspec:\n  sources:\n"
            "    in: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}]}}\n"
            "  transforms:\n    pos: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0\"}]}\n"
            "  sinks:\n    out: {kind: files, inputs: [pos], path: out/copy.ndjson}\n");
  ASSERT_EQ(Cli({"apply", "-f", spec}).exit_code, 0);
  auto run = Cli({"run", "ops/copy", "--wait", "-o", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const json r = json::parse(run.out);
  EXPECT_EQ(r["status"], "succeeded");
  EXPECT_EQ(r["summary"]["components"]["in"]["in"], 4);
  EXPECT_EQ(r["summary"]["components"]["in"]["dead_letter"], 1);
  EXPECT_EQ(r["summary"]["components"]["out"]["in"], 2);
  EXPECT_EQ(ReadFile(ops_ + "/out/copy.ndjson").size() > 0, true);
  auto logs = Cli({"logs", r["id"]});
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_NE(logs.out.find("run succeeded"), std::string::npos) << logs.out;
  std::string written;
  for (const auto& d : json::parse(Cli({"ls", "datasets", "-o", "json"}).out)) {
    if (d["name"].get<std::string>().ends_with("out/copy.ndjson")) written = d["name"];
  }
  ASSERT_FALSE(written.empty());
  auto dataset = Cli({"describe", "dataset", written, "-o", "json"});
  ASSERT_EQ(dataset.exit_code, 0) << dataset.err;
  EXPECT_EQ(json::parse(dataset.out)["producers"], json::array({"ops/copy"}));
  EXPECT_EQ(json::parse(dataset.out)["schemas"][0]["fields"][0]["name"], "id");
  auto runs = Cli({"ls", "runs", "--pipeline", "copy", "-o", "json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_EQ(json::parse(runs.out).size(), 1u);

  // Dead letters: listed and filtered; after a fix, the rule's rejects replay as a run of their own.
  auto dead = Cli({"dead-letters", "ops/copy", "-o", "json"});
  ASSERT_EQ(dead.exit_code, 0) << dead.err;
  ASSERT_EQ(json::parse(dead.out).size(), 2u) << dead.out;  // id -2 (rule) and the line that is not JSON
  auto rule = Cli({"dead-letters", "ops/copy", "--error-class", "rule_failed", "-o", "json"});
  ASSERT_EQ(json::parse(rule.out).size(), 1u) << rule.out;
  const json replay = FixAndReplay(spec, "ops/copy", "id > 0", "id > -5");
  const json replayed = WaitForEnd(replay["run"]);
  ASSERT_EQ(replayed["status"], "succeeded") << replayed.dump();
  EXPECT_EQ(replayed["cause"], "replay");
  EXPECT_EQ(replayed["summary"]["components"]["in"]["in"], 1) << "only the replayed record is read";
  EXPECT_EQ(replayed["summary"]["components"]["out"]["in"], 1) << "and now it passes";

  // A run that fails exits 1 with the error; its retry is queued with a backoff.
  WriteFile(spec, ReadFile(spec) + "# v2: the input is gone\n");
  fs::remove(ops_ + "/in.ndjson");
  ASSERT_EQ(Cli({"apply", "-f", spec}).exit_code, 0);
  auto failed = Cli({"run", "ops/copy", "--wait"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("error: run "), std::string::npos) << "the error is on stderr: " << failed.err;
  EXPECT_NE(failed.err.find("in.ndjson"), std::string::npos) << failed.err;
  EXPECT_NE(failed.out.find("failed"), std::string::npos) << "the run is the result: " << failed.out;
  auto queued = Cli({"ls", "runs", "--status", "queued", "-o", "json"});
  ASSERT_EQ(json::parse(queued.out).size(), 1u) << queued.out;
  EXPECT_EQ(json::parse(queued.out)[0]["cause"], "retry");
  EXPECT_EQ(json::parse(queued.out)[0]["attempt"], 2);
  EXPECT_EQ(Cli({"cancel", json::parse(queued.out)[0]["id"]}).exit_code, 0);
  EXPECT_EQ(Cli({"run", "-f", spec, "ops/copy"}).exit_code, 2) << "either a spec or a pipeline";
}

TEST_F(Serve, EnvironmentsSecretsAndTemplatesThroughTheCli) {
  WriteFile(dir_ / "base.yaml", "apiVersion: sluice/v1\nkind: Environment\nmetadata: {name: base}\nconfig: {min: 0}\n");
  WriteFile(dir_ / "prod.yaml", "apiVersion: sluice/v1\nkind: Environment\nmetadata: {name: prod}\nparent: base\nconfig: {min: 1}\n");
  ASSERT_EQ(Cli({"apply", "-f", dir_ / "base.yaml"}).exit_code, 0);
  auto prod = Cli({"apply", "-f", dir_ / "prod.yaml"});
  ASSERT_EQ(prod.exit_code, 0) << prod.err;
  const std::string secret = "blocked-user-7f3a";
  auto set = Cli({"secret", "set", "prod", "blocked"}, secret + "\n");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto env = Cli({"get", "environment", "prod", "-o", "json"});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(json::parse(env.out)["effective_config"]["min"], 1);
  EXPECT_EQ(env.out.find(secret), std::string::npos);

  // A pipeline in prod: ${config.min} and ${secret.blocked} resolve when the worker runs it.
  WriteFile(ops_ + "/in.ndjson",
            "{\"id\": 0, \"user\": \"a\"}\n{\"id\": 2, \"user\": \"" + secret + "\"}\n{\"id\": 3, \"user\": \"b\"}\n");
  const std::string spec = GuardedSpec("guarded");
  // prod serves only the namespaces it is granted to.
  auto refused = Cli({"apply", "-f", spec, "--environment", "prod"});
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.err.find("sluice environment grant prod --namespace ops"), std::string::npos) << refused.err;
  auto granted = Cli({"environment", "grant", "prod", "--namespace", "ops"});
  ASSERT_EQ(granted.exit_code, 0) << granted.err;
  EXPECT_NE(granted.out.find("granted to namespace ops"), std::string::npos) << granted.out;
  auto grants = Cli({"environment", "grants", "prod", "-o", "json"});
  ASSERT_EQ(grants.exit_code, 0) << grants.err;
  ASSERT_EQ(json::parse(grants.out).size(), 1u) << grants.out;
  EXPECT_EQ(json::parse(grants.out)[0]["namespace"], "ops");
  EXPECT_NE(Cli({"environment", "grants", "prod"}).out.find("ops"), std::string::npos);
  EXPECT_EQ(Cli({"environment", "grant", "prod"}).exit_code, 2) << "a grant names its namespace";
  ASSERT_EQ(Cli({"apply", "-f", spec, "--environment", "prod"}).exit_code, 0);
  auto run = Cli({"run", "ops/guarded", "--wait", "-o", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_EQ(json::parse(run.out)["summary"]["components"]["ok"]["out"], 1) << run.out;  // only id 3 passes both
  auto described = Cli({"describe", "pipeline", "ops/guarded", "-o", "json"});
  EXPECT_EQ(described.out.find(secret), std::string::npos);
  auto plan = Api().Get("/api/v1/pipelines/ops/guarded/plan");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->body.find(secret), std::string::npos) << "a secret in a plan";
  EXPECT_EQ(ReadFile(dir_ / "serve.log").find(secret), std::string::npos) << "a secret in the server log";
  EXPECT_EQ(ReadFile(work_ + "/meta.db").find(secret), std::string::npos) << "a secret in clear in the metadata database";
  // Revoked after the apply: the next run fails when the worker claims it.
  auto revoked = Cli({"environment", "revoke", "prod", "--namespace", "ops"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  auto again = Cli({"environment", "revoke", "prod", "--namespace", "ops"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("not granted"), std::string::npos) << again.err;
  auto ungranted = Cli({"run", "ops/guarded", "--wait"});
  EXPECT_EQ(ungranted.exit_code, 1) << ungranted.out;
  EXPECT_NE(ungranted.err.find("environment 'prod' is not granted to namespace 'ops'"), std::string::npos)
      << ungranted.out << ungranted.err;

  // Templates: applied like any document, rendered with checked values.
  const std::string tmpl = kSource + "/examples/templates/files_to_bronze.yaml";
  ASSERT_EQ(Cli({"apply", "-f", tmpl}).exit_code, 0);
  auto listed = Cli({"ls", "templates", "-o", "json"});
  ASSERT_EQ(json::parse(listed.out).size(), 1u);
  const std::string name = json::parse(listed.out)[0]["namespace"].get<std::string>() + "/" + json::parse(listed.out)[0]["name"].get<std::string>();
  auto bad = Cli({"new", "--template", name, "--set", "nme=x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("nme"), std::string::npos) << bad.err;
  auto made = Cli({"new", "--template", name, "--set", "name=orders_bronze", "--set", "table=orders", "--set",
                   "path=in.ndjson", "--apply"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("created from template"), std::string::npos) << made.out;
}

TEST_F(Serve, LoginKeepsTheServerAndTokenForTheOtherVerbs) {
  auto made = Cli({"token", "create", "laptop", "-o", "json"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string api_token = json::parse(made.out)["token"];
  const std::string config = dir_ / "cfg/client.json";
  auto refused = RunProcess({"/bin/sh", "-c", "SLUICE_CONFIG='" + config + "' exec '" + kBin + "' login --server " + url_ +
                                                  " --token t0ken-123"});
  EXPECT_EQ(refused.exit_code, 2) << "a token the server does not know";
  EXPECT_NE(refused.err.find("sluice login"), std::string::npos) << refused.err;
  auto login = RunProcess({"/bin/sh", "-c", "SLUICE_CONFIG='" + config + "' exec '" + kBin + "' login --server " + url_ +
                                                " --token " + api_token});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  struct stat st {};
  ASSERT_EQ(::stat(config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(ReadFile(config).find(api_token), std::string::npos);
  // No --server: the config's.
  auto ls = RunProcess({"/bin/sh", "-c", "SLUICE_CONFIG='" + config + "' exec '" + kBin + "' ls pipelines -o json"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  auto down = RunProcess({"/bin/sh", "-c", "SLUICE_CONFIG='" + config + "' exec '" + kBin + "' login --server http://127.0.0.1:1 --token x"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(ReadFile(config).find(url_), std::string::npos) << "a failed login keeps the old config";
}

TEST_F(Serve, TokenFileKeepsTheTokenOffTheCommandLineAndTokenOnItWarns) {
  auto made = Cli({"token", "create", "ci", "-o", "json"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string api_token = json::parse(made.out)["token"];
  const std::string file = dir_ / "token.txt";
  WriteFile(file, api_token + "\n");
  const std::string empty_config = dir_ / "none/client.json";  // no stored login
  auto with_file = Cli({"whoami", "-o", "json", "--token-file", file}, "", empty_config);
  ASSERT_EQ(with_file.exit_code, 0) << with_file.err;
  EXPECT_EQ(json::parse(with_file.out)["subject"], "user:admin");
  EXPECT_EQ(with_file.err.find("warning"), std::string::npos) << with_file.err;

  auto on_argv = Cli({"whoami", "-o", "json", "--token", api_token}, "", empty_config);
  ASSERT_EQ(on_argv.exit_code, 0) << on_argv.err;
  EXPECT_NE(on_argv.err.find("warning: --token puts a credential on the command line"), std::string::npos)
      << on_argv.err;
  EXPECT_NE(on_argv.err.find("--token-file"), std::string::npos) << on_argv.err;
  EXPECT_EQ(on_argv.err.find(api_token), std::string::npos) << "the warning does not repeat the token";

  auto both = Cli({"whoami", "--token", api_token, "--token-file", file}, "", empty_config);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
  auto missing = Cli({"whoami", "--token-file", dir_ / "no-such-file"}, "", empty_config);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no-such-file"), std::string::npos) << missing.err;
  WriteFile(dir_ / "empty.txt", "\n");
  auto empty = Cli({"whoami", "--token-file", dir_ / "empty.txt"}, "", empty_config);
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("empty"), std::string::npos) << empty.err;
  // login keeps a token read from a file.
  auto login = Cli({"login", "--token-file", file}, "", dir_ / "cfg2/client.json");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(ReadFile(dir_ / "cfg2/client.json").find(api_token), std::string::npos);

  // The key file the server made is its own and private.
  struct stat st {};
  ASSERT_EQ(::stat((work_ + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// A server without an embedded worker, and a `sluice worker --server` process doing the work in
// the server's data root (shared with it) — with the environment's config and secret handed over
// with the run.
class RemoteWorker : public Serve {
 protected:
  std::string ServeFlags() const override { return "--batch-workers 0 --stream-workers 0"; }
  void TearDown() override {
    if (worker_pid_ > 0) {
      ::kill(worker_pid_, SIGTERM);
      EXPECT_EQ(WaitProcess(worker_pid_), 0) << ReadFile(dir_ / "worker.log");
    }
    Serve::TearDown();
  }

  // An API token of the service account svc:worker. The worker acts as it; claiming runs (and
  // their secrets) takes admin on every namespace.
  std::string WorkerToken() {
    auto token = Cli({"token", "create", "worker-1", "--subject", "svc:worker", "-o", "json"});
    EXPECT_EQ(token.exit_code, 0) << token.err;
    EXPECT_EQ(Cli({"role", "grant", "svc:worker", "admin", "--namespace", "*"}).exit_code, 0);
    return json::parse(token.out)["token"].get<std::string>();
  }

  // Starts `sluice worker` on the server's data root (here the same folder; shared storage
  // across machines), with a workdir of its own.
  void StartWorker(const std::string& token) {
    worker_pid_ = SpawnProcess({"/bin/sh", "-c",
                                "exec '" + kBin + "' worker --server " + url_ + " --token " + token + " --workdir '" +
                                    (dir_ / "remote-work") + "' --data-root '" + work_ + "/data' 2> '" +
                                    (dir_ / "worker.log") + "'"});
  }

  int worker_pid_ = -1;
};

TEST_F(RemoteWorker, ExecutesRunsClaimedThroughTheApi) {
  WriteFile(dir_ / "env.yaml", "apiVersion: sluice/v1\nkind: Environment\nmetadata: {name: prod}\nconfig: {min: 1}\n");
  ASSERT_EQ(Cli({"apply", "-f", dir_ / "env.yaml"}).exit_code, 0);
  ASSERT_EQ(Cli({"secret", "set", "prod", "blocked"}, "mallory\n").exit_code, 0);
  WriteFile(ops_ + "/in.ndjson",
            "{\"id\": 1, \"user\": \"a\"}\n{\"id\": 2, \"user\": \"mallory\"}\n{\"id\": 0, \"user\": \"b\"}\n");
  const std::string spec = GuardedSpec("remote");
  ASSERT_EQ(Cli({"environment", "grant", "prod", "--namespace", "ops"}).exit_code, 0);
  ASSERT_EQ(Cli({"apply", "-f", spec, "--environment", "prod"}).exit_code, 0);
  auto queued = Cli({"run", "ops/remote", "-o", "json"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  const std::string id = json::parse(queued.out)["id"];
  EXPECT_EQ(json::parse(Cli({"get", "run", id, "-o", "json"}).out)["status"], "queued") << "no worker yet";

  const std::string worker_token = WorkerToken();
  // A worker whose data root is its own would write where the server cannot see: it refuses to start.
  auto refused = RunProcess(
      {kBin, "worker", "--server", url_, "--token", worker_token, "--workdir", dir_ / "remote-work"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("is not the server's"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--data-root"), std::string::npos) << refused.err;
  // Given the server's data root, it runs.
  StartWorker(worker_token);
  const json run = WaitForEnd(id);
  ASSERT_EQ(run["status"], "succeeded") << run.dump() << ReadFile(dir_ / "worker.log");
  EXPECT_EQ(run["summary"]["components"]["ok"]["out"], 1) << "config min 1 and the secret both applied";
  EXPECT_TRUE(fs::exists(ops_ + "/out/remote.ndjson")) << "the output lands in the namespace's folder of the data root";
  // Its dead letters are where the server reads them.
  auto dead = Cli({"dead-letters", "ops/remote", "--run", id, "-o", "json"});
  ASSERT_EQ(dead.exit_code, 0) << dead.err;
  EXPECT_NE(dead.out.find("allowed"), std::string::npos) << "the rule the worker's run failed: " << dead.out;
  const std::string logs = Cli({"logs", id}).out;
  EXPECT_NE(logs.find("started on worker"), std::string::npos) << logs;
  EXPECT_EQ(ReadFile(dir_ / "worker.log").find("mallory"), std::string::npos) << "a secret in the worker's log";
}

// A remote worker's run writes its dead letters into the server's data root, where the server's
// dead-letter store lists them (every bad record once, in pages through the REST route too) and
// replays them: the replay's run, executed by the worker as well, reads exactly the replayed
// records from the folder the server staged them in.
TEST_F(RemoteWorker, ListsAndReplaysTheDeadLettersOfItsRuns) {
  // 40 records: every 7th is not JSON, every 4th (of the others) fails the rule.
  std::string input;
  int malformed = 0, failing = 0;
  for (int i = 1; i <= 40; ++i) {
    if (i % 7 == 0) {
      input += "{\"id\": " + std::to_string(i) + ", oops\n";
      ++malformed;
    } else {
      const int id = i % 4 == 0 ? -i : i;
      failing += id < 0 ? 1 : 0;
      input += "{\"id\": " + std::to_string(id) + "}\n";
    }
  }
  WriteFile(ops_ + "/in.ndjson", input);
  const std::string spec = dir_ / "rejects.yaml";
  WriteFile(spec,
            "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: rejects, namespace: ops}\nspec:\n  sources:\n"
            "    in: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}]}}\n"
            "  transforms:\n    pos: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0\"}]}\n"
            "  sinks:\n    out: {kind: files, inputs: [pos], path: out/rejects.ndjson}\n");
  ASSERT_EQ(Cli({"apply", "-f", spec}).exit_code, 0);
  StartWorker(WorkerToken());
  auto queued = Cli({"run", "ops/rejects", "-o", "json"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  const std::string id = json::parse(queued.out)["id"];
  const json run = WaitForEnd(id);
  ASSERT_EQ(run["status"], "succeeded") << run.dump() << ReadFile(dir_ / "worker.log");
  EXPECT_NE(Cli({"logs", id}).out.find("started on worker"), std::string::npos) << "the remote worker ran it";
  ASSERT_EQ(run["summary"]["dead_letters"], malformed + failing) << run.dump();

  // The CLI lists each of them once, and filters them.
  auto dead = Cli({"dead-letters", "ops/rejects", "-o", "json"});
  ASSERT_EQ(dead.exit_code, 0) << dead.err;
  const json all = json::parse(dead.out);
  ASSERT_EQ(all.size(), static_cast<size_t>(malformed + failing)) << dead.out;
  std::set<int64_t> lines;
  for (const auto& e : all) {
    EXPECT_EQ(e["run"], id);
    lines.insert(e["offset"].get<int64_t>());
  }
  EXPECT_EQ(lines.size(), all.size()) << "one dead letter per bad input line";
  auto rule = Cli({"dead-letters", "ops/rejects", "--error-class", "rule_failed", "-o", "json"});
  EXPECT_EQ(json::parse(rule.out).size(), static_cast<size_t>(failing)) << rule.out;
  auto source = Cli({"dead-letters", "ops/rejects", "--component", "in", "--run", id, "-o", "json"});
  EXPECT_EQ(json::parse(source.out).size(), static_cast<size_t>(malformed)) << source.out;

  // The REST route, three at a time: the same envelopes, in the same order.
  json paged = json::array();
  std::string cursor;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = Api().Get("/api/v1/pipelines/ops/rejects/dead-letters?limit=3" +
                          (cursor.empty() ? "" : "&cursor=" + client::UrlEncode(cursor)));
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->json["items"].size(), 3u);
    for (const auto& e : page->json["items"]) paged.push_back(e);
    if (page->json["next_cursor"].is_null()) break;
    cursor = page->json["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(paged, all);

  // After a fix, the rule's rejects replay as a run of their own, which the worker runs.
  const json replayed = FixAndReplay(spec, "ops/rejects", "id > 0", "id > -100");
  EXPECT_EQ(replayed["replayed"], failing) << replayed.dump();
  const json again = WaitForEnd(replayed["run"]);
  ASSERT_EQ(again["status"], "succeeded") << again.dump() << ReadFile(dir_ / "worker.log");
  EXPECT_EQ(again["cause"], "replay");
  EXPECT_EQ(again["summary"]["components"]["in"]["in"], failing) << "only the replayed records are read";
  EXPECT_EQ(again["summary"]["components"]["out"]["in"], failing) << "and now they pass";
  EXPECT_EQ(again["summary"]["dead_letters"], 0);
}

// One batch slot and one stream slot: a running stream holds the stream slot and a second stream
// waits for it; a batch run triggered meanwhile runs on the batch slot while the stream keeps
// running.
class Slots : public Serve {
 protected:
  std::string ServeFlags() const override { return "--batch-workers 1 --stream-workers 1"; }

  // A record in the topic ev, in the namespace's folder of the server's data root.
  void ProduceAnEvent() {
    WriteFile(dir_ / "ev.ndjson", "{\"id\": 1}\n");
    auto produced = RunProcess(
        {"/bin/sh", "-c",
         "exec '" + kBin + "' log produce ev --workdir '" + ops_ + "' < '" + (dir_ / "ev.ndjson") + "'"});
    ASSERT_EQ(produced.exit_code, 0) << produced.err;
  }

  // Applies the stream pipeline ops/`name`: ev into the topic <name>_out.
  void ApplyStream(const std::string& name) {
    WriteFile(dir_ / (name + ".yaml"),
              "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: " + name +
                  ", namespace: ops}\nspec:\n  mode: stream\n"
                  "  sources:\n    in: {kind: log, topic: ev, schema: {fields: [{name: id, type: int64}]}}\n"
                  "  sinks:\n    out: {kind: log, inputs: [in], topic: " +
                  name + "_out}\n");
    ASSERT_EQ(Cli({"apply", "-f", dir_ / (name + ".yaml")}).exit_code, 0);
  }

  // The running runs once `done` holds for them or 60 s have passed.
  json RunningRuns(const std::function<bool(const json&)>& done) {
    json running;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
      running = json::parse(Cli({"ls", "runs", "--status", "running", "-o", "json"}).out);
      if (done(running)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling pace, not synchronization
    } while (std::chrono::steady_clock::now() < deadline);
    return running;
  }
};

TEST_F(Slots, ABatchRunCompletesWhileStreamsHoldAndWaitForTheStreamSlot) {
  ProduceAnEvent();
  // Two stream pipelines: one takes the stream slot, the other waits for it (never for the batch slot).
  for (const std::string name : {"follow", "follow2"}) ApplyStream(name);
  // The scheduler queues a run of each; the stream slot takes one of them.
  json running, queued_stream;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    running = json::parse(Cli({"ls", "runs", "--status", "running", "-o", "json"}).out);
    queued_stream = json::parse(Cli({"ls", "runs", "--status", "queued", "-o", "json"}).out);
    if (running.size() == 1 && queued_stream.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling pace, not synchronization
  }
  ASSERT_EQ(running.size(), 1u) << running.dump() << ReadFile(dir_ / "serve.log");
  ASSERT_EQ(queued_stream.size(), 1u) << queued_stream.dump();
  const std::string stream_id = running[0]["id"];
  const std::string waiting_id = queued_stream[0]["id"];

  WriteFile(ops_ + "/in.ndjson", "{\"id\": 1}\n{\"id\": 2}\n");
  WriteFile(dir_ / "batch.yaml",
            "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: copy, namespace: ops}\nspec:\n  sources:\n"
            "    in: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}]}}\n"
            "  sinks:\n    out: {kind: files, inputs: [in], path: out/copy.ndjson}\n");
  ASSERT_EQ(Cli({"apply", "-f", dir_ / "batch.yaml"}).exit_code, 0);
  auto queued = Cli({"run", "ops/copy", "-o", "json"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  const json batch = WaitForRun(json::parse(queued.out)["id"],
                                [](const json& r) { return r["status"] == "succeeded" || r["status"] == "failed"; });
  ASSERT_EQ(batch["status"], "succeeded") << batch.dump() << ReadFile(dir_ / "serve.log");
  EXPECT_EQ(batch["summary"]["components"]["out"]["in"], 2);
  EXPECT_EQ(Api().Get("/api/v1/runs/" + stream_id)->json["status"], "running") << "the stream keeps running";
  EXPECT_EQ(Api().Get("/api/v1/runs/" + waiting_id)->json["status"], "queued") << "the batch slot took no stream";

  // No run has waited 60 s for a slot yet, and the server says so.
  const json ready = Api().Get("/api/v1/ready")->json;
  EXPECT_EQ(ready["waiting_runs"]["batch"], 0) << ready.dump();
  EXPECT_EQ(ready["waiting_runs"]["stream"], 0) << ready.dump();
  EXPECT_EQ(ready["waiting_runs"]["after_seconds"], 60) << ready.dump();
}

// Cancelling a stream's run pauses its pipeline: the scheduler, which restarts streams, leaves it
// stopped until `sluice resume`, which starts it again.
TEST_F(Slots, CancellingAStreamPausesItsPipelineUntilResumed) {
  ProduceAnEvent();
  ApplyStream("follow");
  const json running = RunningRuns([](const json& r) { return r.size() == 1; });
  ASSERT_EQ(running.size(), 1u) << running.dump() << ReadFile(dir_ / "serve.log");
  const std::string id = running[0]["id"];
  auto cancelled = Cli({"cancel", id});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_NE(cancelled.out.find("sluice resume ops/follow"), std::string::npos) << cancelled.out;
  EXPECT_EQ(json::parse(Cli({"get", "pipeline", "ops/follow", "-o", "json"}).out)["paused"], true);
  const json stopped = WaitForRun(id, [](const json& r) { return r["status"] != "running"; });
  EXPECT_EQ(stopped["status"], "cancelled") << stopped.dump();
  // Resumed, the scheduler starts the stream again.
  ASSERT_EQ(Cli({"resume", "ops/follow"}).exit_code, 0);
  const json again = RunningRuns([&](const json& r) { return r.size() == 1 && r[0]["id"] != id; });
  ASSERT_EQ(again.size(), 1u) << again.dump();
  EXPECT_NE(again[0]["id"], id);
}

// A running stream is visible: its run shows the epochs committed and the counts so far (equal to
// what was ingested), the watermark, the lag of the log's partitions and its last checkpoint, with
// the components in the pipeline's order (not alphabetical) — as does its summary once it ended.
// `logs -f` follows the run's log until the run ends; the server logs each request by its route
// with its id and principal, and no token or query value.
TEST_F(Slots, ARunningStreamShowsItsProgressAndLogsFollowItUntilItEnds) {
  using ordered_json = nlohmann::ordered_json;
  // Plan order in, zcheck, aout: alphabetical order would differ.
  WriteFile(dir_ / "live.yaml",
            "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: live, namespace: ops}\nspec:\n  mode: stream\n"
            "  sources:\n    in: {kind: http, stream: ev, schema: {fields: [{name: id, type: int64}]}}\n"
            "  transforms:\n    zcheck: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0\", "
            "on_fail: dead_letter}]}\n"
            "  sinks:\n    aout: {kind: log, inputs: [zcheck], topic: live_out}\n");
  const std::vector<std::string> order = {"in", "zcheck", "aout"};
  int produced = 0, rejected = 0;
  // Through the ingest API into the embedded log (the server holds the topic open).
  auto produce = [&](const std::vector<int>& ids) {
    std::string text;
    for (int id : ids) {
      text += "{\"id\": " + std::to_string(id) + "}\n";
      ++produced;
      rejected += id <= 0;
    }
    auto r = Cli({"ingest", "ev"}, text);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  auto names = [](const ordered_json& components) {
    std::vector<std::string> out;
    for (const auto& [name, k] : components.items()) out.push_back(name);
    return out;
  };
  produce({1, 2, -3});
  ASSERT_EQ(Cli({"apply", "-f", dir_ / "live.yaml"}).exit_code, 0);
  const json running = RunningRuns([](const json& r) { return r.size() == 1; });
  ASSERT_EQ(running.size(), 1u) << running.dump() << ReadFile(dir_ / "serve.log");
  const std::string id = running[0]["id"];

  // Polls `get run -o json` until the progress counts all produced so far.
  auto progress_of_all = [&] {
    ordered_json run;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
      run = ordered_json::parse(Cli({"get", "run", id, "-o", "json"}).out, nullptr, false);
      const auto& p = run.is_object() ? run["progress"] : ordered_json();
      if (p.is_object() && p.value("epochs", 0) > 0 && p["components"]["in"].value("out", -1) == produced) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling pace, not synchronization
    } while (std::chrono::steady_clock::now() < deadline);
    return run;
  };
  for (const std::vector<int>& more : std::vector<std::vector<int>>{{}, {4, 0}}) {
    if (!more.empty()) produce(more);
    const ordered_json run = progress_of_all();
    ASSERT_TRUE(run.is_object() && run["progress"].is_object()) << run.dump() << ReadFile(dir_ / "serve.log");
    const ordered_json& p = run["progress"];
    EXPECT_EQ(run["status"], "running");
    EXPECT_GT(p["epochs"].get<int>(), 0) << p.dump();
    EXPECT_EQ(names(p["components"]), order) << p.dump();
    EXPECT_EQ(p["components"]["in"]["out"], produced) << p.dump();
    EXPECT_EQ(p["components"]["zcheck"]["in"], produced) << p.dump();
    EXPECT_EQ(p["components"]["zcheck"]["dead_letter"], rejected) << p.dump();
    EXPECT_EQ(p["components"]["aout"]["in"], produced - rejected) << p.dump();
    EXPECT_EQ(p["checkpoint"]["epoch"], p["last_epoch"]) << p.dump();
    EXPECT_TRUE(p["checkpoint"]["at"].is_string()) << p.dump();
    // The log's partitions: read up to their end, so no lag, and the offsets add up to what was produced.
    int64_t offsets = 0;
    for (const auto& l : p["lag"]) {
      EXPECT_EQ(l["source"], "in");
      EXPECT_EQ(l["lag"], 0) << p.dump();
      offsets += l["offset"].get<int64_t>();
    }
    EXPECT_EQ(offsets, produced) << p.dump();
  }
  const auto table = Cli({"get", "run", id});
  EXPECT_NE(table.out.find("progress: "), std::string::npos) << table.out;
  EXPECT_LT(table.out.find("zcheck"), table.out.find("aout")) << table.out;

  // logs -f until the run ends (bounded by `timeout`: a follow that never returns fails here).
  ProcessResult followed;
  std::thread follow([&] {
    followed = RunProcess({"/bin/sh", "-c",
                           "SLUICE_CONFIG='" + config_ + "' exec timeout 60 '" + kBin + "' logs '" + id +
                               "' -f --server '" + url_ + "'"});
  });
  auto cancelled = Cli({"cancel", id});
  follow.join();
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_NE(followed.out.find("started on worker"), std::string::npos) << followed.out;
  EXPECT_NE(followed.out.find("run cancelled"), std::string::npos) << followed.out;
  EXPECT_EQ(followed.out, Cli({"logs", id}).out) << "follow printed the log once, whole";

  // The final summary keeps the plan's order too.
  const ordered_json ended = ordered_json::parse(Cli({"get", "run", id, "-o", "json"}).out);
  EXPECT_EQ(ended["status"], "cancelled");
  EXPECT_EQ(names(ended["summary"]["components"]), order) << ended.dump();

  // The server's log: the request by its route, id and principal; no token, no query value.
  auto asked = Api().Get("/api/v1/runs?pipeline=query-value-4711");
  ASSERT_TRUE(asked.ok() && asked->ok());
  const std::string log = ReadFile(dir_ / "serve.log");
  std::string line;
  for (std::istringstream lines(log); std::getline(lines, line);) {
    if (line.find("request_id=" + asked->request_id) != std::string::npos) break;
    line.clear();
  }
  ASSERT_FALSE(line.empty()) << "no line for request " << asked->request_id << " in\n" << log;
  EXPECT_NE(line.find("http.request"), std::string::npos) << line;
  EXPECT_NE(line.find("method=GET"), std::string::npos) << line;
  EXPECT_NE(line.find("route=/api/v1/runs "), std::string::npos) << line;
  EXPECT_NE(line.find("status=200"), std::string::npos) << line;
  EXPECT_NE(line.find("principal=user:admin"), std::string::npos) << line;
  EXPECT_NE(log.find("route=/api/v1/runs/{id} "), std::string::npos) << "a path parameter is logged as its pattern";
  EXPECT_EQ(log.find("query-value-4711"), std::string::npos) << "a query value in the server log";
  EXPECT_EQ(log.find(token_), std::string::npos) << "the access token in the server log";
  EXPECT_NE(log.find("scheduler.run"), std::string::npos) << "the scheduler's decisions are logged";
}

TEST(ServeFlags, WorkersIsADeprecatedNameOfBatchWorkers) {
  TempDir dir;
  // Given with its new name, it is refused before anything starts.
  auto both = RunProcess(
      {kBin, "serve", "--workers", "2", "--batch-workers", "1", "--listen", "127.0.0.1:0", "--workdir", dir / "work"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--workers is the old name of --batch-workers"), std::string::npos) << both.err;
  auto worker = RunProcess(
      {kBin, "worker", "--threads", "2", "--batch-workers", "1", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(worker.exit_code, 2);
  EXPECT_NE(worker.err.find("--threads is the old name of --batch-workers"), std::string::npos) << worker.err;
  auto none = RunProcess(
      {kBin, "worker", "--batch-workers", "0", "--stream-workers", "0", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("would run nothing"), std::string::npos) << none.err;
}

// Roles through the CLI: a viewer of one namespace reads it, cannot change it, and does not see
// the others; the refusal is audited, and the audit log verifies until someone edits it.
TEST_F(Serve, RolesLimitWhatAUserDoesAndTheAuditLogCatchesTampering) {
  const std::string spec = ServerCopy("clickstream");
  auto applied = Cli({"apply", "-f", spec, "-o", "json"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  const std::string ns = json::parse(applied.out)["namespace"];
  const std::string name = ns + "/" + json::parse(applied.out)["name"].get<std::string>();
  const std::string password = "alice's long passphrase";
  ASSERT_EQ(Cli({"user", "create", "alice"}, password + "\n").exit_code, 0);
  EXPECT_EQ(Cli({"user", "create", "bob"}, "short\n").exit_code, 2) << "a weak password is refused";
  const std::string alice = dir_ / "alice.json";
  EXPECT_EQ(Cli({"login", "--user", "alice"}, "wrong password!!\n", alice).exit_code, 2);
  ASSERT_EQ(Cli({"login", "--user", "alice"}, password + "\n", alice).exit_code, 0);
  EXPECT_NE(ReadFile(alice).find("refresh_token"), std::string::npos);

  auto hidden = Cli({"get", "pipeline", name}, "", alice);
  EXPECT_EQ(hidden.exit_code, 2) << "no role in the namespace: the pipeline does not exist for alice";
  EXPECT_NE(hidden.err.find("does not exist"), std::string::npos) << hidden.err;
  ASSERT_EQ(Cli({"role", "grant", "user:alice", "viewer", "--namespace", ns}).exit_code, 0);
  EXPECT_EQ(Cli({"get", "pipeline", name}, "", alice).exit_code, 0);
  auto listed = Cli({"ls", "pipelines", "-o", "json"}, "", alice);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out).size(), 1u);
  auto refused = Cli({"delete", "pipeline", name}, "", alice);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("viewer"), std::string::npos) << refused.err;
  auto escalate = Cli({"role", "grant", "user:alice", "admin", "--namespace", ns}, "", alice);
  EXPECT_EQ(escalate.exit_code, 2) << "a viewer grants nothing";
  auto audit_denied = Cli({"audit", "ls", "--principal", "user:alice", "--outcome", "denied", "-o", "json"});
  ASSERT_EQ(audit_denied.exit_code, 0) << audit_denied.err;
  std::set<std::string> actions;
  const json denied_rows = json::parse(audit_denied.out)["items"];
  for (const auto& row : denied_rows) actions.insert(row["action"].get<std::string>());
  EXPECT_EQ(actions, (std::set<std::string>{"getPipeline", "deletePipeline", "putRoleBinding", "issueToken"}))
      << audit_denied.out;
  EXPECT_EQ(Cli({"audit", "ls"}, "", alice).exit_code, 2) << "the audit log is for admins";

  auto verified = Cli({"audit", "verify", "-o", "json"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  EXPECT_TRUE(json::parse(verified.out)["ok"].get<bool>());
  // Someone with the database file rewrites history: the chain breaks there.
  const std::string db = work_ + "/meta.db";
  auto sql = [&](const std::string& statements) {
    return RunProcess({"/bin/sh", "-c", "exec sqlite3 '" + db + "' \"" + statements + "\""});
  };
  auto blocked = sql("UPDATE audit_log SET principal = 'user:admin' WHERE principal = 'user:alice'");
  EXPECT_NE(blocked.err.find("append-only"), std::string::npos) << blocked.exit_code << blocked.err;
  EXPECT_NE(sql("DELETE FROM audit_log WHERE principal = 'user:alice'").err.find("append-only"), std::string::npos);
  auto tampered = sql("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET principal = 'user:admin' "
                      "WHERE seq = (SELECT MIN(seq) FROM audit_log WHERE principal = 'user:alice')");
  ASSERT_EQ(tampered.exit_code, 0) << tampered.err;
  auto broken = Cli({"audit", "verify", "-o", "json"});
  EXPECT_EQ(broken.exit_code, 1) << broken.out;
  EXPECT_FALSE(json::parse(broken.out)["ok"].get<bool>());
  auto offline = RunProcess({kBin, "audit", "verify", "--metadata", "sqlite:" + db, "--workdir", work_});
  EXPECT_EQ(offline.exit_code, 1) << offline.out << offline.err;
  EXPECT_NE(offline.out.find("TAMPERED"), std::string::npos) << offline.out;
}

// Passwords, tokens and secret values never appear in clear in the server's log, the metadata
// database, or any answer but the one that hands a new token out.
TEST_F(Serve, NoSecretInLogsResponsesOrTheDatabase) {
  const std::string password = "a passphrase nobody should see";
  ASSERT_EQ(Cli({"user", "create", "carol"}, password + "\n").exit_code, 0);
  const std::string carol = dir_ / "carol.json";
  ASSERT_EQ(Cli({"login", "--user", "carol"}, password + "\n", carol).exit_code, 0);
  const json carol_config = json::parse(ReadFile(carol));
  auto made = Cli({"token", "create", "ci", "--subject", "svc:ci", "-o", "json"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string api_token = json::parse(made.out)["token"];
  WriteFile(dir_ / "env.yaml", "apiVersion: sluice/v1\nkind: Environment\nmetadata: {name: prod}\nconfig: {min: 1}\n");
  ASSERT_EQ(Cli({"apply", "-f", dir_ / "env.yaml"}).exit_code, 0);
  const std::string secret = "s3cr3t-value-4711";
  ASSERT_EQ(Cli({"secret", "set", "prod", "blocked"}, secret + "\n").exit_code, 0);
  // A failed login with the secret as password, and the API token used as a bearer.
  EXPECT_EQ(Cli({"login", "--user", "carol"}, secret + "\n", dir_ / "x.json").exit_code, 2);
  EXPECT_EQ(RunProcess({kBin, "whoami", "--server", url_, "--token", api_token}).exit_code, 0) << "whoami needs no role";

  std::string answers;
  for (const char* path : {"/api/v1/users", "/api/v1/tokens", "/api/v1/audit?limit=1000", "/api/v1/environments/prod/secrets",
                           "/api/v1/auth/whoami", "/api/v1/namespaces/*/rolebindings"}) {
    auto r = Api().Get(path);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    answers += r->body;
  }
  const std::string log = ReadFile(dir_ / "serve.log");
  const std::string db = ReadFile(work_ + "/meta.db") + ReadFile(work_ + "/meta.db-wal");
  const std::string refresh = carol_config["refresh_token"];
  const std::string access = carol_config["token"];
  // A token is <prefix>_<hex id>_<secret>; the secret (base64url) may itself hold '_'.
  auto secret_of = [](const std::string& token) { return token.substr(token.find('_', token.find('_') + 1) + 1); };
  const std::string refresh_secret = secret_of(refresh);
  const std::string api_secret = secret_of(api_token);
  for (const auto& [what, value] : std::vector<std::pair<std::string, std::string>>{
           {"a password", password}, {"the admin password", kAdminPassword}, {"a secret", secret},
           {"an API token", api_secret}, {"a refresh token", refresh_secret}, {"an access token", access}}) {
    EXPECT_EQ(log.find(value), std::string::npos) << what << " in the server log";
    EXPECT_EQ(db.find(value), std::string::npos) << what << " in the metadata database";
    EXPECT_EQ(answers.find(value), std::string::npos) << what << " in an API answer";
  }
}

// A pii email on the server: masked under a key derived from its secret key in the dead letters,
// their API answers and the CLI's output, the run's log and the server's log.
TEST_F(Serve, PiiIsMaskedInDeadLettersAnswersAndLogs) {
  const std::vector<std::string> emails = {"ann.lee@example.com", "bob.stone@example.com"};
  fs::create_directories(work_ + "/data/crm");
  WriteFile(work_ + "/data/crm/customers.ndjson",
            "{\"id\": -1, \"email\": \"ann.lee@example.com\"}\n"    // the rule fails
            "{\"id\": 2, \"email\": \"ann.lee@example.com\"}\n"     // the CAST fails
            "{\"id\": 3, \"email\": \"bob.stone@example.com\"\n");  // malformed
  const std::string spec = dir_ / "customers.yaml";
  WriteFile(spec,
            "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: customers, namespace: crm}\nspec:\n  sources:\n"
            "    in: {kind: files, path: customers.ndjson, schema: {fields: [{name: id, type: int64}, "
            "{name: email, type: string, pii: true}]}}\n"
            "  transforms:\n    pos: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0\"}]}\n"
            "    num: {kind: map, inputs: [pos], select: {id: id, n: \"CAST(email AS int64)\"}}\n"
            "  sinks:\n    out: {kind: files, inputs: [num], path: out/customers.ndjson}\n");
  ASSERT_EQ(Cli({"apply", "-f", spec}).exit_code, 0);
  auto run = Cli({"run", "crm/customers", "--wait", "-o", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  auto dead = Cli({"dead-letters", "crm/customers", "-o", "json"});
  ASSERT_EQ(dead.exit_code, 0) << dead.err;
  const json letters = json::parse(dead.out);
  ASSERT_EQ(letters.size(), 3u) << dead.out;
  std::string mask_rule, mask_cast;
  for (const auto& d : letters) {
    if (d["error_class"] == "rule_failed") mask_rule = json::parse(d["payload"].get<std::string>())["email"];
    if (d["error_class"] == "expression_error") {
      mask_cast = json::parse(d["payload"].get<std::string>())["email"];
      EXPECT_EQ(d["error_message"], "select 'n': cannot cast '" + mask_cast + "' to int64");
    }
  }
  EXPECT_TRUE(mask_rule.starts_with("pii:")) << dead.out;
  EXPECT_EQ(mask_rule, mask_cast) << "equal values, equal masks";
  auto logs = Cli({"logs", json::parse(run.out)["id"]});
  std::string files;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(work_ + "/data/crm/dead_letters", ec)) {
    if (e.is_regular_file()) files += ReadFile(e.path().string());
  }
  EXPECT_FALSE(files.empty());
  EXPECT_FALSE(fs::exists(work_ + "/pii.key")) << "the server's key is derived from its secret key";
  EXPECT_FALSE(fs::exists(work_ + "/data/crm/pii.key"));
  const std::string seen = dead.out + dead.err + run.out + run.err + logs.out + files + ReadFile(dir_ / "serve.log");
  for (const auto& email : emails) {
    EXPECT_EQ(seen.find(email), std::string::npos) << email << " in:\n" << seen;
    EXPECT_EQ(seen.find(email.substr(0, email.find('@'))), std::string::npos) << email;
  }
}

TEST(ServeFlags, InsecureDevWarnsAndTurnsAuthenticationOff) {
  TempDir dir;
  const int pid = SpawnProcess({"/bin/sh", "-c", "exec '" + kBin + "' serve --insecure-dev --listen 127.0.0.1:0 --workdir '" +
                                                     (dir / "w") + "' > '" + (dir / "url") + "' 2> '" + (dir / "log") + "'"});
  const std::string url = WaitForFirstLine(dir / "url");
  ASSERT_FALSE(url.empty());
  auto who = RunProcess({kBin, "whoami", "--server", url, "-o", "json", "--token", ""});
  ::kill(pid, SIGTERM);
  WaitProcess(pid);
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_EQ(json::parse(who.out)["via"], "insecure-dev");
  EXPECT_NE(ReadFile(dir / "log").find("authentication is OFF"), std::string::npos) << ReadFile(dir / "log");
}

// HTTPS end to end: serve with a certificate, the CLI trusts it through --ca-cert (kept in the
// client config by login), and refuses it without.
TEST(ServeTls, TheCliTalksHttpsWithTheServersCa) {
  TempDir dir;
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  auto made = RunProcess({"/bin/sh", "-c",
                          "exec openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                          "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" + cert +
                              "' 2>&1"});
  ASSERT_EQ(made.exit_code, 0) << made.out;
  const int pid = SpawnProcess({"/bin/sh", "-c", "SLUICE_ADMIN_PASSWORD='" + kAdminPassword + "' exec '" + kBin +
                                                     "' serve --init-admin --listen 127.0.0.1:0 --tls-cert '" + cert +
                                                     "' --tls-key '" + key + "' --workdir '" + (dir / "w") + "' > '" +
                                                     (dir / "url") + "' 2> '" + (dir / "log") + "'"});
  const std::string url = WaitForFirstLine(dir / "url");
  ASSERT_TRUE(url.starts_with("https://127.0.0.1:")) << url << ReadFile(dir / "log");
  const std::string config = dir / "client.json";
  auto cli = [&](const std::string& args, const std::string& input = "") {
    WriteFile(dir / "in.txt", input);
    return RunProcess({"/bin/sh", "-c", "SLUICE_CONFIG='" + config + "' exec '" + kBin + "' " + args + " --server " + url +
                                            " < '" + (dir / "in.txt") + "'"});
  };
  auto untrusted = cli("login --user admin", kAdminPassword + "\n");
  EXPECT_EQ(untrusted.exit_code, 2) << untrusted.err;
  EXPECT_NE(untrusted.err.find("--ca-cert"), std::string::npos) << untrusted.err;
  auto login = cli("login --user admin --ca-cert '" + cert + "'", kAdminPassword + "\n");
  EXPECT_EQ(login.exit_code, 0) << login.err;
  auto who = cli("whoami -o json");
  ::kill(pid, SIGTERM);
  WaitProcess(pid);
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_EQ(json::parse(who.out)["subject"], "user:admin");
}

TEST(ServeFlags, APasswordInAUrlOnTheCommandLineWarns) {
  TempDir dir;
  // Nothing listens on port 1: serve fails to open the database, after the warning.
  auto r = RunProcess({kBin, "serve", "--listen", "127.0.0.1:0", "--workdir", dir / "w", "--metadata",
                       "postgresql://sluice:hunter2-pw@127.0.0.1:1/meta"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("warning: --metadata puts a password on the command line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("PGPASSWORD"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter2-pw"), std::string::npos) << "the password is not repeated: " << r.err;
  const std::string spec = dir / "spec.yaml";
  WriteFile(spec, "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: p, namespace: ops}\nspec:\n  sources:\n"
                  "    in: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}]}}\n"
                  "  sinks:\n    out: {kind: blackhole, inputs: [in]}\n");
  auto set = RunProcess({kBin, "validate", "-f", spec, "--set", "spec.sources.in.path=postgres://u:pw@db/x"});
  EXPECT_NE(set.err.find("warning: --set puts a password"), std::string::npos) << set.err;
  auto clean = RunProcess({kBin, "validate", "-f", spec, "--set", "spec.sources.in.path=other.ndjson"});
  EXPECT_EQ(clean.err.find("warning"), std::string::npos) << clean.err;
}

TEST(ServeFlags, ASecretKeyFileOthersCanReadIsRefused) {
  TempDir dir;
  fs::create_directories(dir / "w");
  const std::string key = dir / "w/secret.key";
  WriteFile(key, std::string(64, 'a') + "\n");
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto refused = RunProcess({"/bin/sh", "-c", "unset SLUICE_SECRET_KEY; exec '" + kBin +
                                                  "' serve --listen 127.0.0.1:0 --workdir '" + (dir / "w") + "'"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("mode 0644"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("chmod 600 " + key), std::string::npos) << refused.err;
  // Fixed as the message says, the same key serves.
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  const int pid = SpawnProcess({"/bin/sh", "-c", "unset SLUICE_SECRET_KEY; exec '" + kBin +
                                                     "' serve --listen 127.0.0.1:0 --workdir '" + (dir / "w") +
                                                     "' > '" + (dir / "url") + "' 2> '" + (dir / "log") + "'"});
  const std::string url = WaitForFirstLine(dir / "url");
  ::kill(pid, SIGTERM);
  WaitProcess(pid);
  EXPECT_FALSE(url.empty()) << ReadFile(dir / "log");
}

TEST(ServeFlags, NonLoopbackNeedsInsecureDev) {
  TempDir dir;
  auto r = RunProcess({kBin, "serve", "--listen", "0.0.0.0:0", "--workdir", dir / "w"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--insecure-dev"), std::string::npos) << r.err;
  EXPECT_EQ(RunProcess({kBin, "serve", "--listen", "nonsense", "--workdir", dir / "w"}).exit_code, 2);
}

}  // namespace
}  // namespace sluice::testing
