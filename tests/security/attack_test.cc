// The attack suite: a real `sluice serve` (and, where a run executes, a real remote `sluice
// worker`), attacked by an editor of one namespace. Each attack must be refused with a 4xx and a
// stable problem code, leave an audit row, and leave nothing of its target in any answer, the
// server's log, the worker's log or a dead letter. docs/security.md describes the rules.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/process.h"
#include "sluice/base/check.h"
#include "sluice/client/api_client.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
const std::string kBin = SLUICE_BIN;
const std::string kAdminPassword = "correct horse battery staple";
const std::string kEvePassword = "eve's long and careful passphrase";
// In the server's and the worker's process environment only: no answer may ever contain it.
const std::string kCanary = "canary-of-the-server-5f3a9c";
// A line of a file outside every data root: no answer may ever contain it.
const std::string kOutsideLine = "{\"id\": 4242, \"note\": \"outside-the-data-root-77e1\"}";

// A batch pipeline of namespace `ns`: `source_path` -> validate (id > 0) -> files sink `sink_path`,
// with `extra` appended under `spec:` (dead_letter settings, ...).
std::string Spec(const std::string& ns, const std::string& name, const std::string& source_path,
                 const std::string& sink_path = "out/copy.ndjson", const std::string& extra = "") {
  return "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n  sources:\n    in: {kind: files, path: \"" + source_path +
         "\", schema: {fields: [{name: id, type: int64}, {name: note, type: string}]}}\n"
         "  transforms:\n    pos: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0\"}]}\n"
         "  sinks:\n    out: {kind: files, inputs: [pos], path: \"" +
         sink_path + "\"}\n" + extra;
}

// `spec` with its validate rule's check replaced by `check`.
std::string WithCheck(std::string spec, const std::string& check) {
  return spec.replace(spec.find("id > 0"), 6, check);
}

class Attack : public ::testing::Test {
 protected:
  // Embedded worker threads of the server (0: runs wait for the remote worker).
  virtual int EmbeddedWorkers() const { return 1; }

  void SetUp() override {
    work_ = dir_ / "work";
    outside_ = dir_ / "outside";
    fs::create_directories(outside_);
    WriteFile(outside_ + "/private.ndjson", kOutsideLine + "\n");
    pid_ = SpawnProcess({"/bin/sh", "-c",
                         "SLUICE_ATTACK_CANARY='" + kCanary + "' SLUICE_ADMIN_PASSWORD='" + kAdminPassword +
                             "' exec '" + kBin + "' serve --init-admin --listen 127.0.0.1:0 --workdir '" + work_ +
                             "' --workers " + std::to_string(EmbeddedWorkers()) + " > '" + (dir_ / "url") + "' 2> '" +
                             (dir_ / "serve.log") + "'"});
    url_ = WaitForFirstLine(dir_ / "url");
    ASSERT_FALSE(url_.empty()) << ReadFile(dir_ / "serve.log");
    admin_ = Login("admin", kAdminPassword, dir_ / "admin.json");
    ASSERT_FALSE(admin_.empty());
    ASSERT_EQ(Cli({"user", "create", "eve"}, kEvePassword + "\n", dir_ / "admin.json").exit_code, 0);
    ASSERT_EQ(Cli({"role", "grant", "user:eve", "editor", "--namespace", "team"}, "", dir_ / "admin.json").exit_code,
              0);
    eve_ = Login("eve", kEvePassword, dir_ / "eve.json");
    ASSERT_FALSE(eve_.empty());
  }

  void TearDown() override {
    if (worker_pid_ > 0) {
      ::kill(worker_pid_, SIGTERM);
      WaitProcess(worker_pid_);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      WaitProcess(pid_);
    }
    // Whatever an attack did, the server's log never holds the canary or the outside file.
    const std::string logs = ReadFile(dir_ / "serve.log") + ReadFile(dir_ / "worker.log");
    EXPECT_EQ(logs.find(kCanary), std::string::npos) << "the process environment in a log";
    EXPECT_EQ(logs.find("outside-the-data-root"), std::string::npos) << "an outside file in a log";
  }

  ProcessResult Cli(const std::vector<std::string>& args, const std::string& stdin_text, const std::string& config) {
    return RunClient(kBin, args, url_, config, stdin_text, dir_ / "stdin.txt");
  }

  // Logs `user` in with the CLI; returns the access token ("" on failure).
  std::string Login(const std::string& user, const std::string& password, const std::string& config) {
    auto r = Cli({"login", "--user", user}, password + "\n", config);
    if (r.exit_code != 0) {
      ADD_FAILURE() << r.err;
      return "";
    }
    return json::parse(ReadFile(config))["token"].get<std::string>();
  }

  client::ApiClient Api(const std::string& token) {
    auto c = client::ApiClient::Create({.server = url_, .token = token});
    SLUICE_CHECK(c.ok());
    return std::move(*c);
  }

  // One request with `token`, whatever the answer's status.
  client::ApiResponse Call(const std::string& token, const std::string& method, const std::string& path,
                           std::optional<json> body = std::nullopt) {
    auto r = Api(token).Request(method, path, body ? std::optional<std::string>(body->dump()) : std::nullopt);
    SLUICE_CHECK(r.ok()) << r.status().ToString();
    return std::move(*r);
  }

  client::ApiResponse Apply(const std::string& token, const std::string& spec, const std::string& environment = "") {
    json body = {{"spec", spec}};
    if (!environment.empty()) body["environment"] = environment;
    return Call(token, "POST", "/api/v1/pipelines", body);
  }

  // Checks an answer is the refusal `code` and carries nothing of the attack's target.
  void ExpectRefused(const client::ApiResponse& r, int status, const std::string& code, const std::string& why) {
    EXPECT_EQ(r.status, status) << why << ": " << r.body;
    EXPECT_EQ(r.json.value("code", ""), code) << why << ": " << r.body;
    ExpectClean(r.body, why);
  }
  static void ExpectClean(const std::string& text, const std::string& why) {
    EXPECT_EQ(text.find(kCanary), std::string::npos) << why << ": the server's environment leaked: " << text;
    EXPECT_EQ(text.find("outside-the-data-root"), std::string::npos) << why << ": an outside file leaked: " << text;
    EXPECT_EQ(text.find("root:x:0:0"), std::string::npos) << why << ": /etc/passwd leaked: " << text;
  }

  // The number of audit rows of eve's with `outcome` (as the admin sees them).
  size_t AuditRows(const std::string& outcome) {
    auto r = Cli({"audit", "ls", "--principal", "user:eve", "--outcome", outcome, "-o", "json"}, "",
                 dir_ / "admin.json");
    SLUICE_CHECK(r.exit_code == 0) << r.err;
    return json::parse(r.out)["items"].size();
  }

  // Triggers a run of ns/name and waits until it ends; returns the run.
  json RunToEnd(const std::string& token, const std::string& ns, const std::string& name) {
    auto created = Call(token, "POST", "/api/v1/pipelines/" + ns + "/" + name + "/runs", json::object());
    SLUICE_CHECK(created.status == 201) << created.body;
    const std::string id = created.json["id"];
    json run;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
      run = Call(token, "GET", "/api/v1/runs/" + id).json;
      if (run["status"] == "succeeded" || run["status"] == "failed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return run;
  }

  void StartRemoteWorker() {
    auto token = Cli({"token", "create", "worker-1", "--subject", "svc:worker", "-o", "json"}, "", dir_ / "admin.json");
    ASSERT_EQ(token.exit_code, 0) << token.err;
    ASSERT_EQ(Cli({"role", "grant", "svc:worker", "admin", "--namespace", "*"}, "", dir_ / "admin.json").exit_code, 0);
    WriteFile(dir_ / "worker.token", json::parse(token.out)["token"].get<std::string>());
    remote_work_ = dir_ / "remote-work";
    worker_pid_ = SpawnProcess({"/bin/sh", "-c",
                                "SLUICE_ATTACK_CANARY='" + kCanary + "' SLUICE_TOKEN=\"$(cat '" +
                                    (dir_ / "worker.token") + "')\" exec '" + kBin + "' worker --server " + url_ +
                                    " --workdir '" + remote_work_ + "' --data-root '" + work_ + "/data' 2> '" +
                                    (dir_ / "worker.log") + "'"});
  }

  TempDir dir_;
  std::string work_, outside_, remote_work_;
  std::string url_;
  std::string admin_, eve_;  // access tokens
  int pid_ = -1, worker_pid_ = -1;
};

class AttackWithRemoteWorker : public Attack {
 protected:
  int EmbeddedWorkers() const override { return 0; }
};

TEST_F(Attack, EnvReferencesAreRefusedAnywhereInASpec) {
  const std::string env = "${env.SLUICE_ATTACK_CANARY}";
  const std::vector<std::pair<std::string, std::string>> specs = {
      {"a sink setting", Spec("team", "leak1", "in.ndjson") +
                             "    pq: {kind: files, inputs: [pos], path: out/y.parquet, "
                             "compression: \"" +
                             env + "\"}\n"},
      {"an expression", WithCheck(Spec("team", "leak2", "in.ndjson"), "note <> '" + env + "'")},
      {"a path", Spec("team", "leak3", env + "/in.ndjson")},
      {"a connection setting",
       "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: leak4, namespace: team}\nspec:\n  mode: stream\n"
       "  sources:\n    k: {kind: kafka, topic: t, brokers: \"" +
           env +
           "\", schema: {fields: [{name: id, type: int64}]}}\n"
           "  sinks:\n    out: {kind: log, inputs: [k], topic: copied}\n"},
  };
  const size_t failed_before = AuditRows("failed");
  for (const auto& [where, spec] : specs) {
    auto r = Apply(eve_, spec);
    ExpectRefused(r, 400, "invalid_spec", where);
    EXPECT_NE(r.body.find("SLUICE_ATTACK_CANARY"), std::string::npos)
        << where << ": the message names the reference: " << r.body;
    EXPECT_NE(r.body.find("sluice run only"), std::string::npos) << where << ": " << r.body;
  }
  EXPECT_EQ(AuditRows("failed"), failed_before + specs.size()) << "one audit row per refusal";
}

TEST_F(Attack, PathsOutsideTheNamespacesDataRootAreRefusedAtApply) {
  const std::string team = work_ + "/data/team";
  fs::create_directories(team);
  fs::create_symlink(outside_, team + "/escape");
  const std::vector<std::pair<std::string, std::string>> specs = {
      {"an absolute source path", Spec("team", "p1", "/etc/passwd")},
      {"a source path with ..", Spec("team", "p2", "../../../outside/private.ndjson")},
      {"a source through a symlink", Spec("team", "p3", "escape/private.ndjson")},
      {"another namespace's folder", Spec("team", "p4", work_ + "/data/other/in.ndjson")},
      {"an absolute sink path", Spec("team", "p5", "in.ndjson", work_ + "/secret.key")},
      {"a sink path with ..", Spec("team", "p6", "in.ndjson", "../../meta.db")},
      {"a sink through a symlink", Spec("team", "p7", "in.ndjson", "escape/written.ndjson")},
      {"a dead-letter path",
       Spec("team", "p8", "in.ndjson", "out/x.ndjson", "  dead_letter: {path: " + work_ + "/meta.db}\n")},
      {"a dead-letter path through a symlink",
       Spec("team", "p9", "in.ndjson", "out/x.ndjson", "  dead_letter: {path: escape/dl.ndjson}\n")},
  };
  const size_t failed_before = AuditRows("failed");
  for (const auto& [what, spec] : specs) {
    auto r = Apply(eve_, spec);
    ExpectRefused(r, 400, "invalid_spec", what);
    EXPECT_NE(r.body.find("outside this namespace's data roots"), std::string::npos) << what << ": " << r.body;
    EXPECT_NE(r.body.find(team), std::string::npos) << what << ": the message names the allowed root: " << r.body;
  }
  EXPECT_EQ(AuditRows("failed"), failed_before + specs.size());
  EXPECT_FALSE(fs::exists(outside_ + "/written.ndjson"));
  // A spec for a namespace eve has no role in is refused before it is compiled (and the
  // namespace answers like one that does not exist).
  auto other = Apply(eve_, Spec("other", "p10", "/etc/passwd"));
  EXPECT_EQ(other.status, 404) << other.body;
  ExpectClean(other.body, "another namespace");
  EXPECT_EQ(other.body.find("data roots"), std::string::npos) << "nothing compiled for a stranger: " << other.body;
}

TEST_F(Attack, SameNamedPipelinesOfTwoNamespacesShareNothing) {
  // Both namespaces run `shared`: same name, same sinks (a files sink, a lake table and a
  // warehouse table), each with its own input and one bad record.
  for (const std::string ns : {"team", "other"}) {
    const std::string root = work_ + "/data/" + ns;
    fs::create_directories(root);
    WriteFile(root + "/in.ndjson", "{\"id\": 1, \"note\": \"" + ns + "-good\"}\n{\"id\": -1, \"note\": \"" + ns +
                                       "-bad\"}\n{\"id\": 2, \"note\": \"" + ns + "-good\"}\n");
    const std::string spec = Spec(ns, "shared", "in.ndjson") +
                             "    lake: {kind: lake, inputs: [pos], table: bronze.notes}\n"
                             "    wh: {kind: warehouse, inputs: [pos], table: gold.notes, mode: append}\n";
    auto applied = Apply(ns == "team" ? eve_ : admin_, spec);
    ASSERT_EQ(applied.status, 201) << applied.body;
  }
  for (const std::string ns : {"other", "team"}) {
    json run = RunToEnd(ns == "team" ? eve_ : admin_, ns, "shared");
    ASSERT_EQ(run["status"], "succeeded") << run.dump();
    EXPECT_EQ(run["summary"]["components"]["lake"]["in"], 2) << ns << ": " << run.dump();
    EXPECT_EQ(run["summary"]["components"]["wh"]["in"], 2) << ns << " loads its own warehouse: " << run.dump();
  }
  // Each namespace's outputs are in its own folder.
  for (const std::string ns : {"team", "other"}) {
    const std::string root = work_ + "/data/" + ns;
    EXPECT_TRUE(fs::exists(root + "/out/copy.ndjson")) << ns;
    EXPECT_TRUE(fs::exists(root + "/lake/bronze/notes/_delta_log")) << ns;
    EXPECT_TRUE(fs::exists(root + "/warehouse.db")) << ns;
    const std::string copied = ReadFile(root + "/out/copy.ndjson");
    EXPECT_NE(copied.find(ns + "-good"), std::string::npos) << copied;
    EXPECT_EQ(copied.find(std::string(ns == "team" ? "other" : "team") + "-good"), std::string::npos) << copied;
  }
  // Eve lists the dead letters of team/shared: only team's.
  auto dl = Call(eve_, "GET", "/api/v1/pipelines/team/shared/dead-letters");
  ASSERT_EQ(dl.status, 200) << dl.body;
  EXPECT_NE(dl.body.find("team-bad"), std::string::npos) << dl.body;
  EXPECT_EQ(dl.body.find("other-bad"), std::string::npos) << dl.body;
  // ... and cannot list other's, which answers like a pipeline that does not exist.
  auto theirs = Call(eve_, "GET", "/api/v1/pipelines/other/shared/dead-letters");
  EXPECT_EQ(theirs.status, 404) << theirs.body;
  EXPECT_EQ(theirs.body.find("other-bad"), std::string::npos) << theirs.body;
  // Runs and lineage show team only.
  auto runs = Call(eve_, "GET", "/api/v1/runs");
  ASSERT_EQ(runs.status, 200) << runs.body;
  EXPECT_FALSE(runs.json["items"].empty());
  for (const auto& r : runs.json["items"]) EXPECT_EQ(r["namespace"], "team") << r.dump();
  auto lineage = Call(eve_, "GET", "/api/v1/lineage");
  ASSERT_EQ(lineage.status, 200) << lineage.body;
  EXPECT_EQ(lineage.body.find("other/"), std::string::npos) << lineage.body;
  // The same-named tables are two datasets each, named by namespace.
  auto names_of = [&](const std::string& token) {
    auto datasets = Call(token, "GET", "/api/v1/datasets");
    EXPECT_EQ(datasets.status, 200) << datasets.body;
    std::set<std::string> names;
    for (const auto& d : datasets.json["items"]) names.insert(d.value("name", ""));
    return names;
  };
  const std::set<std::string> all = names_of(admin_);
  for (const std::string name : {"lake:team.bronze.notes", "lake:other.bronze.notes", "warehouse:team.gold.notes",
                                 "warehouse:other.gold.notes"}) {
    EXPECT_TRUE(all.count(name)) << name;
  }
  EXPECT_FALSE(all.count("lake:bronze.notes")) << "no dataset shared by the two namespaces";
  const std::set<std::string> eves = names_of(eve_);
  EXPECT_TRUE(eves.count("lake:team.bronze.notes"));
  for (const auto& name : eves) EXPECT_EQ(name.find("other"), std::string::npos) << name;
  auto theirs_page = Call(eve_, "GET", "/api/v1/datasets/lake%3Aother.bronze.notes");
  EXPECT_EQ(theirs_page.status, 404) << theirs_page.body;
  auto ours_page = Call(eve_, "GET", "/api/v1/datasets/lake%3Ateam.bronze.notes");
  ASSERT_EQ(ours_page.status, 200) << ours_page.body;
  EXPECT_EQ(ours_page.json["producers"], json::array({"team/shared"})) << ours_page.body;
}

TEST_F(Attack, AnEnvironmentNotGrantedToTheNamespaceIsRefused) {
  const std::string secret = "prod-secret-value-8d2e";
  WriteFile(dir_ / "env.yaml", "apiVersion: sluice/v1\nkind: Environment\nmetadata: {name: prod}\n"
                               "config: {db_host: prod-db.internal}\n");
  ASSERT_EQ(Cli({"apply", "-f", dir_ / "env.yaml"}, "", dir_ / "admin.json").exit_code, 0);
  ASSERT_EQ(Cli({"secret", "set", "prod", "token"}, secret + "\n", dir_ / "admin.json").exit_code, 0);
  // A spec that uses the environment's secret and config (the leak: a failing CAST of the
  // secret in a dead letter, the config in a message).
  const std::string spec = WithCheck(Spec("team", "steal", "in.ndjson"),
                                     "note <> '${secret.token}' AND note <> '${config.db_host}'");
  const size_t denied_before = AuditRows("denied");
  auto r = Apply(eve_, spec, "prod");
  ExpectRefused(r, 403, "environment_not_granted", "an environment not granted");
  EXPECT_EQ(r.body.find(secret), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("prod-db.internal"), std::string::npos) << r.body;
  EXPECT_EQ(AuditRows("denied"), denied_before + 1) << "the refusal is audited";
  // Eve cannot grant it to herself.
  auto grant = Call(eve_, "PUT", "/api/v1/environments/prod/grants/team", json::object());
  EXPECT_EQ(grant.status, 403) << grant.body;
  // Granted by an admin, the same spec applies.
  ASSERT_EQ(Cli({"environment", "grant", "prod", "--namespace", "team"}, "", dir_ / "admin.json").exit_code, 0);
  auto granted = Apply(eve_, spec, "prod");
  EXPECT_EQ(granted.status, 201) << granted.body;
  EXPECT_EQ(granted.body.find(secret), std::string::npos) << granted.body;
}

TEST_F(Attack, PiiNeverLeavesThroughDeadLettersLogsOrAnswers) {
  const std::string team = work_ + "/data/team";
  fs::create_directories(team);
  const std::string email = "alice.secret@example.org";
  // A record that fails the rule, one whose id does not cast, and a line that is not JSON: all
  // carry the email.
  WriteFile(team + "/people.ndjson", "{\"id\": 1, \"email\": \"" + email + "\"}\n{\"id\": -1, \"email\": \"" + email +
                                         "\"}\n{\"id\": \"x\", \"email\": \"" + email +
                                         "\"}\n{\"id\": 2, \"email\": \"" + email + "\"\n");
  const std::string spec =
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: people, namespace: team}\nspec:\n  sources:\n"
      "    in: {kind: files, path: people.ndjson, schema: {fields: [{name: id, type: int64}, "
      "{name: email, type: string, pii: true}]}}\n"
      "  transforms:\n    pos: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0 AND email <> "
      "'nobody'\"}]}\n"
      "  sinks:\n    out: {kind: files, inputs: [pos], path: out/people.ndjson}\n";
  ASSERT_EQ(Apply(eve_, spec).status, 201);
  json run = RunToEnd(eve_, "team", "people");
  ASSERT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_GE(run["summary"]["dead_letters"].get<int64_t>(), 3) << run.dump();
  auto dl = Call(eve_, "GET", "/api/v1/pipelines/team/people/dead-letters");
  ASSERT_EQ(dl.status, 200) << dl.body;
  EXPECT_GE(dl.json["items"].size(), 3u) << dl.body;
  EXPECT_EQ(dl.body.find(email), std::string::npos) << dl.body;
  EXPECT_EQ(dl.body.find("alice.secret"), std::string::npos) << dl.body;
  auto logs = Call(eve_, "GET", "/api/v1/runs/" + run["id"].get<std::string>() + "/logs");
  EXPECT_EQ(logs.body.find("alice.secret"), std::string::npos) << logs.body;
  EXPECT_EQ(run.dump().find("alice.secret"), std::string::npos) << run.dump();
  for (const auto& e : fs::recursive_directory_iterator(team + "/dead_letters")) {
    if (e.is_regular_file()) EXPECT_EQ(ReadFile(e.path()).find("alice.secret"), std::string::npos) << e.path();
  }
  EXPECT_EQ(ReadFile(dir_ / "serve.log").find("alice.secret"), std::string::npos);
  // The sink, where the pipeline sends it, has the value.
  EXPECT_NE(ReadFile(team + "/out/people.ndjson").find(email), std::string::npos);
}

// VmHWM (peak resident memory) of process `pid`, in bytes; 0 when unknown.
int64_t PeakRss(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

TEST_F(Attack, BodiesWithoutCredentialsAreRefusedBeforeTheyAreRead) {
  const std::string host_port = url_.substr(url_.find("://") + 3);
  const std::string host = host_port.substr(0, host_port.find(':'));
  const int port = std::stoi(host_port.substr(host_port.find(':') + 1));
  const int64_t peak_before = PeakRss(pid_);
  // 200 anonymous requests, each announcing 64 MiB and sending its first MiB.
  const std::string chunk(1 << 20, 'x');
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const timeval limit{10, 0};  // a server that keeps reading fails the test instead of hanging it
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    const std::string head = "POST /api/v1/ingest/clicks HTTP/1.1\r\nHost: " + host_port +
                             "\r\nContent-Type: application/x-ndjson\r\nContent-Length: " + std::to_string(64 << 20) +
                             "\r\n\r\n";
    ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
    (void)::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);  // may fail once the server closed
    std::string answer;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    // 401, or 429 once the address has used its budget of failed authentications.
    refused += answer.rfind("HTTP/1.1 401", 0) == 0 || answer.rfind("HTTP/1.1 429", 0) == 0;
    ExpectClean(answer, "an anonymous body");
  }
  EXPECT_EQ(refused, 200);
  const int64_t peak_after = PeakRss(pid_);
  EXPECT_LT(peak_after - peak_before, 64ll << 20)
      << "the server's peak memory grew from " << peak_before << " to " << peak_after;
}

TEST_F(AttackWithRemoteWorker, ARemoteWorkerConfinesRunsAndCatchesASymlinkSwappedInAfterApply) {
  StartRemoteWorker();
  const std::string team = work_ + "/data/team";  // the worker's data root is the server's
  fs::create_directories(team + "/in");
  WriteFile(team + "/in/events.ndjson", "{\"id\": 1, \"note\": \"fine\"}\n");
  auto applied = Apply(eve_, Spec("team", "swap", "in/events.ndjson"));
  ASSERT_EQ(applied.status, 201) << applied.body;
  json ok = RunToEnd(eve_, "team", "swap");
  ASSERT_EQ(ok["status"], "succeeded") << ok.dump() << ReadFile(dir_ / "worker.log");
  EXPECT_TRUE(fs::exists(team + "/out/copy.ndjson")) << "the run wrote into its namespace's folder on the worker";
  // The input becomes a symlink to a file outside: the run refuses to open it.
  fs::remove(team + "/in/events.ndjson");
  fs::create_symlink(outside_ + "/private.ndjson", team + "/in/events.ndjson");
  json refused = RunToEnd(eve_, "team", "swap");
  EXPECT_EQ(refused["status"], "failed") << refused.dump();
  EXPECT_NE(refused.value("error", "").find("outside this namespace's data roots"), std::string::npos)
      << refused.dump();
  ExpectClean(refused.dump(), "the failed run");
  auto logs = Call(eve_, "GET", "/api/v1/runs/" + refused["id"].get<std::string>() + "/logs");
  ASSERT_EQ(logs.status, 200) << logs.body;
  ExpectClean(logs.body, "the run's log");
  EXPECT_EQ(ReadFile(team + "/out/copy.ndjson").find("outside-the-data-root"), std::string::npos);
  // ${env.*} is refused on the worker too, whatever the server let through (a spec applied before
  // the rule existed): the worker compiles with the same authority.
}

constexpr const char* kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// base64url without padding: how the API spells a cursor around {"v": 1, "k": KEY} (api.md).
std::string CursorOf(const std::string& key) {
  const std::string raw = json{{"v", 1}, {"k", key}}.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(acc << (6 - bits)) & 63]);
  return out;
}

// The key a cursor carries (what anyone can read from it: cursors are not secret).
std::string KeyOf(const std::string& cursor) {
  std::string raw;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : cursor) {
    const char* at = std::strchr(kBase64Url, c);
    if (at == nullptr || c == '\0') return "<not base64url>";
    acc = (acc << 6) | static_cast<uint32_t>(at - kBase64Url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  const json j = json::parse(raw, nullptr, false);
  return j.is_object() ? j.value("k", "<no key>") : "<not json>";
}

TEST_F(Attack, ListCursorsNeverWalkIntoHiddenNamespaces) {
  // Eve's team sorts between hidden namespaces; each hidden one has pipelines and runs.
  for (const std::string ns : {"alpha", "team", "tea", "teamz", "zulu"}) {
    fs::create_directories(work_ + "/data/" + ns);
    WriteFile(work_ + "/data/" + ns + "/in.ndjson", "{\"id\": 1, \"note\": \"n\"}\n");
    for (const std::string name : {"p_a", "p_b"}) {
      ASSERT_EQ(Apply(admin_, Spec(ns, ns == "team" ? name : "hidden_" + name, "in.ndjson")).status, 201);
      ASSERT_EQ(
          Call(admin_, "POST", "/api/v1/pipelines/" + ns + "/" + (ns == "team" ? name : "hidden_" + name) + "/runs",
               json::object())
              .status,
          201);
    }
  }
  auto expect_only_team = [&](const client::ApiResponse& r, const std::string& what) {
    EXPECT_TRUE(r.status == 200 || r.status == 400) << what << ": " << r.body;
    EXPECT_EQ(r.body.find("hidden_"), std::string::npos) << what << ": " << r.body;
    for (const auto& item : r.json.value("items", json::array())) {
      EXPECT_EQ(item.value("namespace", ""), "team") << what << ": " << item.dump();
    }
  };
  for (const std::string list : {"/api/v1/pipelines", "/api/v1/runs"}) {
    // Page by page: each cursor holds the key of an item eve was shown, and every team item
    // comes once.
    std::string cursor;
    std::set<std::string> shown;  // pipeline keys and run ids
    size_t items = 0;
    for (int page = 0; page < 20; ++page) {
      auto r = Call(eve_, "GET", list + "?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor));
      expect_only_team(r, list);
      for (const auto& item : r.json["items"]) {
        shown.insert(list == "/api/v1/runs" ? item.value("id", "") : "team/" + item.value("name", ""));
      }
      items += r.json["items"].size();
      if (r.json["next_cursor"].is_null()) break;
      cursor = r.json["next_cursor"].get<std::string>();
      EXPECT_TRUE(shown.count(KeyOf(cursor))) << list << ": the cursor carries '" << KeyOf(cursor) << "'";
    }
    EXPECT_EQ(items, 2u) << list;
  }
  // Crafted cursors start the listing elsewhere, never in a hidden namespace.
  for (const std::string key : {"alpha/hidden_p_a", "tea/", "tea/hidden_p_a", "team/", "team/p_a", "teamz/hidden_p_a",
                                "", "zulu/", "\xff", "../", "team/p_a/../../alpha", "alpha"}) {
    auto pipelines = Call(eve_, "GET", "/api/v1/pipelines?limit=1&cursor=" + CursorOf(key));
    expect_only_team(pipelines, "pipelines after '" + key + "'");
    auto runs = Call(eve_, "GET", "/api/v1/runs?limit=1&cursor=" + CursorOf(key));
    expect_only_team(runs, "runs after '" + key + "'");
  }
  for (const std::string& garbage : {std::string("!!!"), std::string("e30"), std::string(5000, 'A')}) {
    auto r = Call(eve_, "GET", "/api/v1/pipelines?cursor=" + garbage);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.body.find("hidden_"), std::string::npos) << r.body;
  }
}

TEST_F(AttackWithRemoteWorker, ACraftedParquetFileFailsTheRunInBoundedMemory) {
  StartRemoteWorker();
  // 129 bytes whose page and row group declare 2^31 - 1 int64 values (the shape of
  // parquet_bounds_test's RequiredPageDeclaring2To31PlainValues): 16 GiB if a count were trusted.
  const std::string team = work_ + "/data/team";
  fs::create_directories(team + "/in");
  fs::copy_file(std::string(SLUICE_SOURCE_DIR) + "/tests/security/data/two_to_31_values.parquet",
                team + "/in/bomb.parquet");
  ASSERT_LT(fs::file_size(team + "/in/bomb.parquet"), 400u);
  const std::string spec =
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: bomb, namespace: team}\nspec:\n  sources:\n"
      "    in: {kind: files, path: in/bomb.parquet, format: parquet, schema: {fields: [{name: x, type: int64, "
      "required: true}]}}\n"
      "  sinks:\n    out: {kind: files, inputs: [in], path: out/bomb.ndjson}\n";
  ASSERT_EQ(Apply(eve_, spec).status, 201);
  json run = RunToEnd(eve_, "team", "bomb");
  EXPECT_EQ(run["status"], "failed") << run.dump() << ReadFile(dir_ / "worker.log");
  const std::string error = run.value("error", "");
  EXPECT_NE(error.find("bomb.parquet"), std::string::npos) << error;
  EXPECT_NE(error.find("2147483647 values"), std::string::npos) << "the error says what is wrong: " << error;
  ExpectClean(run.dump(), "the failed run");
  const int64_t peak = PeakRss(worker_pid_);
  EXPECT_GT(peak, 0);
  EXPECT_LT(peak, 100ll << 20) << "the worker's peak RSS";
  // The worker lives on: a good run after it succeeds.
  WriteFile(team + "/in.ndjson", "{\"id\": 1, \"note\": \"fine\"}\n");
  ASSERT_EQ(Apply(eve_, Spec("team", "after_bomb", "in.ndjson")).status, 201);
  EXPECT_EQ(RunToEnd(eve_, "team", "after_bomb")["status"], "succeeded");
}

TEST_F(AttackWithRemoteWorker, ReadingAnotherNamespacesTableNeedsAViewerRoleThere) {
  StartRemoteWorker();
  const std::string marker = "other-private-row-3b7c";
  const std::string other = work_ + "/data/other";
  fs::create_directories(other);
  WriteFile(other + "/in.ndjson", "{\"id\": 7, \"note\": \"" + marker + "\"}\n");
  ASSERT_EQ(Apply(admin_, Spec("other", "orders", "in.ndjson") +
                              "    lake: {kind: lake, inputs: [pos], table: bronze.orders}\n")
                .status,
            201);
  ASSERT_EQ(RunToEnd(admin_, "other", "orders")["status"], "succeeded");
  // Eve (editor of team, nothing in other) reads other.bronze.orders: with the table's own schema
  // (the compiler would open it) and with a declared one.
  const std::string reader =
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: reader, namespace: team}\nspec:\n  sources:\n"
      "    stolen: {kind: lake, table: other.bronze.orders}\n"
      "  sinks:\n    out: {kind: files, inputs: [stolen], path: out/stolen.ndjson}\n";
  const std::string declared = [&] {
    std::string s = reader;
    return s.replace(s.find("other.bronze.orders}"), 20,
                     "other.bronze.orders, schema: {fields: [{name: id, type: int64}, {name: note, type: string}]}}");
  }();
  const size_t denied_before = AuditRows("denied");
  for (const auto& spec : {reader, declared}) {
    auto r = Apply(eve_, spec);
    ExpectRefused(r, 403, "namespace_not_readable", "a table of another namespace");
    EXPECT_EQ(r.json.value("namespace", ""), "other") << r.body;
    EXPECT_EQ(r.body.find(marker), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(other), std::string::npos) << "nothing of other's folder: " << r.body;
  }
  EXPECT_EQ(AuditRows("denied"), denied_before + 2) << "each refusal is audited";
  EXPECT_EQ(Call(eve_, "GET", "/api/v1/pipelines/team/reader").status, 404) << "nothing was applied";
  // Writing another namespace's table is refused whatever the roles.
  auto write = Apply(admin_, Spec("team", "writer", "in.ndjson") +
                                 "    lake: {kind: lake, inputs: [pos], table: other.bronze.orders}\n");
  ExpectRefused(write, 400, "invalid_spec", "a write to another namespace");
  EXPECT_NE(write.body.find("a pipeline writes only the tables of its own namespace"), std::string::npos) << write.body;

  // A viewer of other may: the run on the remote worker reads other's rows.
  ASSERT_EQ(Cli({"role", "grant", "user:eve", "viewer", "--namespace", "other"}, "", dir_ / "admin.json").exit_code, 0);
  ASSERT_EQ(Apply(eve_, reader).status, 201);
  json ok = RunToEnd(eve_, "team", "reader");
  ASSERT_EQ(ok["status"], "succeeded") << ok.dump() << ReadFile(dir_ / "worker.log");
  EXPECT_NE(ReadFile(work_ + "/data/team/out/stolen.ndjson").find(marker), std::string::npos);
  auto lineage = Call(eve_, "GET", "/api/v1/lineage?pipeline=team/reader");
  ASSERT_EQ(lineage.status, 200) << lineage.body;
  EXPECT_NE(lineage.body.find("\"lake:other.bronze.orders\""), std::string::npos) << lineage.body;

  // Revoked after the apply: the next run fails before reading, and shows nothing of other.
  fs::remove(work_ + "/data/team/out/stolen.ndjson");
  ASSERT_EQ(Cli({"role", "revoke", "user:eve", "--namespace", "other"}, "", dir_ / "admin.json").exit_code, 0);
  json refused = RunToEnd(eve_, "team", "reader");
  EXPECT_EQ(refused["status"], "failed") << refused.dump();
  EXPECT_NE(refused.value("error", "").find("which this pipeline's author may not read"), std::string::npos)
      << refused.dump();
  EXPECT_EQ(refused.dump().find(marker), std::string::npos) << refused.dump();
  auto logs = Call(eve_, "GET", "/api/v1/runs/" + refused["id"].get<std::string>() + "/logs");
  EXPECT_EQ(logs.body.find(marker), std::string::npos) << logs.body;
  EXPECT_FALSE(fs::exists(work_ + "/data/team/out/stolen.ndjson") &&
               ReadFile(work_ + "/data/team/out/stolen.ndjson").find(marker) != std::string::npos);
  // And eve sees other's dataset no more.
  EXPECT_EQ(Call(eve_, "GET", "/api/v1/datasets/lake%3Aother.bronze.orders").status, 404);
}

}  // namespace
}  // namespace sluice::testing
