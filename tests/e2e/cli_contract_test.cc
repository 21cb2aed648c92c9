// The contract of the `sluice` command line (docs/cli.md, "Answers"), checked on every verb and
// sub-verb. The verbs are discovered from `sluice --help` (and `sluice VERB --help` for those with
// sub-verbs), so a new verb is covered by the help and bad-flag checks without a change here, and
// the failing-input check fails until the verb gets an entry in FailingInputs().
//
//   --help            exit 0, the help on stdout, nothing on stderr;
//   a bad flag        exit 2, the message on stderr, nothing on stdout; with -o json a JSON error
//                     object (code "usage");
//   a failing input   exit non-zero, an error on stderr, nothing on stdout; with -o json the error
//                     object (code, message, problems, exit_code) is the last line of stderr, with
//                     the same exit code. Server verbs fail against a loopback port nothing
//                     listens on: exit 1, code "unavailable";
//   success, -o json  stdout parses as JSON, stderr is empty (the local verbs, on an example spec).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;

const std::string kBin = SLUICE_BIN;
const std::string kGen = SLUICE_GEN_BIN;
const std::string kSrc = SLUICE_SOURCE_DIR;

// A verb as typed: {"validate"}, {"lake", "ls"}.
using Path = std::vector<std::string>;

std::string Join(const Path& path) {
  std::string s;
  for (const auto& p : path) s += (s.empty() ? "" : " ") + p;
  return s;
}

// `sluice ARGS` in `cwd`, with no client settings from the environment: no $SLUICE_SERVER,
// $SLUICE_TOKEN or $SLUICE_CA_CERT, and a client config file that does not exist.
ProcessResult Sluice(const std::vector<std::string>& args, const std::string& cwd) {
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "-u",
                                   "SLUICE_SERVER",
                                   "-u",
                                   "SLUICE_TOKEN",
                                   "-u",
                                   "SLUICE_CA_CERT",
                                   "-u",
                                   "SLUICE_WAREHOUSE_URL",
                                   "SLUICE_CONFIG=" + cwd + "/no-client-config.json",
                                   kBin};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, cwd);
}

// The names listed under "Subcommands:" in a CLI11 help text.
std::vector<std::string> SubcommandsIn(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream in(help);
  bool listing = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "Subcommands:") {
      listing = true;
    } else if (listing) {
      if (line.empty()) break;
      if (line.size() > 2 && line.starts_with("  ") && line[2] != ' ')
        names.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
}

struct Tree {
  std::vector<Path> parents;  // verbs with sub-verbs (and the root, {})
  std::vector<Path> leaves;   // verbs that run something
};

// Walks `sluice --help` down to the verbs that run something.
const Tree& Verbs() {
  static const Tree tree = [] {
    Tree t;
    TempDir dir;
    std::vector<Path> pending = {{}};
    while (!pending.empty()) {
      Path path = pending.back();
      pending.pop_back();
      Path args = path;
      args.push_back("--help");
      const ProcessResult help = Sluice(args, dir.path());
      EXPECT_EQ(help.exit_code, 0) << Join(args) << ": " << help.err;
      const std::vector<std::string> subs = SubcommandsIn(help.out);
      if (subs.empty()) {
        t.leaves.push_back(path);
        continue;
      }
      t.parents.push_back(path);
      for (auto it = subs.rbegin(); it != subs.rend(); ++it) {
        Path sub = path;
        sub.push_back(*it);
        pending.push_back(sub);
      }
    }
    return t;
  }();
  return tree;
}

// The last line of `err`: where the error object is with -o json.
json LastLineAsJson(const std::string& err) {
  std::string text = err;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t nl = text.rfind('\n');
  return json::parse(nl == std::string::npos ? text : text.substr(nl + 1), nullptr, false);
}

// A loopback port nothing listens on: bound, then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot bind a loopback socket";
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class CliContract : public ::testing::Test {
 protected:
  ProcessResult Run(const std::vector<std::string>& args) { return Sluice(args, dir_.path()); }
  TempDir dir_;
};

TEST_F(CliContract, TheVerbsAreDiscoveredFromHelp) {
  std::set<std::string> leaves;
  for (const Path& p : Verbs().leaves) leaves.insert(Join(p));
  for (const char* verb : {"validate", "plan", "run", "dev kafka", "lake ls", "lake vacuum", "log produce", "serve",
                           "worker", "apply", "get", "pause", "resume", "backfill", "test", "version"}) {
    EXPECT_TRUE(leaves.count(verb)) << verb << " is not among the verbs `sluice --help` lists";
  }
}

TEST_F(CliContract, HelpIsOnStdoutWithExit0) {
  std::vector<Path> all = Verbs().parents;
  all.insert(all.end(), Verbs().leaves.begin(), Verbs().leaves.end());
  for (const Path& path : all) {
    Path args = path;
    args.push_back("--help");
    const ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Join(args);
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << Join(args) << ": " << r.out;
    EXPECT_EQ(r.err, "") << Join(args);
  }
}

TEST_F(CliContract, ABadFlagIsExit2WithTheMessageOnStderrOnly) {
  for (const Path& path : Verbs().leaves) {
    Path args = path;
    args.push_back("--no-such-flag");
    const ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << Join(args) << ": " << r.err;
    EXPECT_EQ(r.out, "") << Join(args);
    EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << Join(args) << ": " << r.err;

    args.insert(args.end(), {"-o", "json"});
    const ProcessResult j = Run(args);
    EXPECT_EQ(j.exit_code, 2) << Join(args);
    EXPECT_EQ(j.out, "") << Join(args);
    const json error = LastLineAsJson(j.err);
    ASSERT_TRUE(error.is_object()) << Join(args) << ": " << j.err;
    EXPECT_EQ(error["code"], "usage") << Join(args) << ": " << j.err;
    EXPECT_NE(error.value("message", "").find("--no-such-flag"), std::string::npos) << Join(args) << ": " << j.err;
  }
  // Before any verb, and a verb that does not exist.
  for (const Path& args : {Path{"--no-such-flag"}, Path{"no-such-verb"}, Path{"lake", "no-such-verb"}}) {
    const ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << Join(args);
    EXPECT_EQ(r.out, "") << Join(args);
    EXPECT_NE(r.err.find(args.back()), std::string::npos) << Join(args) << ": " << r.err;
  }
}

// How a verb fails on an input, and what it must answer.
struct FailingInput {
  std::vector<std::string> args;  // after the verb
  bool server = false;            // a server verb: add --server with a port nothing listens on
  int exit_code = 1;
  std::string code;
};

// One failing input per verb that runs something; the test fails for a verb missing here.
std::map<std::string, FailingInput> FailingInputs(const std::string& dir) {
  const std::string missing = dir + "/no-such-spec.yaml";
  const std::string file = dir + "/a-file";  // a regular file where a directory is expected
  const std::string events = dir + "/events.ndjson";
  const std::string token = dir + "/token";
  const FailingInput unavailable{{}, true, 1, "unavailable"};
  auto server = [&](std::vector<std::string> args) {
    FailingInput f = unavailable;
    f.args = std::move(args);
    return f;
  };
  return {
      {"validate", {{"-f", missing}, false, 2, "usage"}},
      {"plan", {{"-f", missing}, false, 2, "usage"}},
      {"run", {{"-f", missing}, false, 2, "usage"}},
      {"dev kafka", {{"--brokers", "0"}, false, 2, "usage"}},
      {"lake ls", {{"--lake-root", file}, false, 1, "io_error"}},
      {"lake describe", {{"bronze.none", "--workdir", dir}, false, 2, "not_found"}},
      {"lake history", {{"bronze.none", "--workdir", dir}, false, 2, "not_found"}},
      {"lake read", {{"bronze.none", "--workdir", dir}, false, 2, "not_found"}},
      {"lake optimize", {{"bronze.none", "--workdir", dir}, false, 2, "not_found"}},
      {"lake vacuum", {{"bronze.none", "--workdir", dir}, false, 2, "not_found"}},
      {"log produce", {{"topic", "--workdir", file}, false, 1, "io_error"}},
      {"log consume", {{"no_such_topic", "--workdir", dir}, false, 2, "not_found"}},
      {"log ls", {{"--workdir", dir + "/log-is-a-file"}, false, 1, "io_error"}},
      {"serve", {{"--listen", "nowhere"}, false, 2, "usage"}},
      {"worker", server({})},
      {"apply", server({"-f", events})},
      {"get", server({"pipelines"})},
      {"ls", server({"runs"})},
      {"describe", server({"pipeline", "web/clicks"})},
      {"delete", server({"pipeline", "web/clicks"})},
      {"ingest", server({"clicks", "-f", events})},
      {"login", server({"--token-file", token})},
      {"whoami", server({})},
      {"token", server({"ls"})},
      {"user", server({"ls"})},
      {"role", server({"ls", "--namespace", "web"})},
      {"audit", server({"ls"})},
      {"new", server({"--template", "web/files_to_bronze"})},
      {"secret", server({"rm", "prod", "db_password"})},
      {"environment", server({"grants", "prod"})},
      {"dead-letters", server({"web/clicks"})},
      {"replay", server({"web/clicks"})},
      {"logs", server({"r1"})},
      {"cancel", server({"r1"})},
      {"pause", server({"web/clicks"})},
      {"resume", server({"web/clicks"})},
      {"backfill", server({"web/clicks", "--from", "2026-10-01T00:00:00Z", "--to", "2026-10-02T00:00:00Z"})},
      {"test", {{dir + "/no-such-tests"}, false, 2, "not_found"}},
  };
}
// Verbs no input makes fail (they only report).
const std::set<std::string> kCannotFail = {"version"};

TEST_F(CliContract, AFailingInputIsAnErrorOnStderrInTheFormatOfO) {
  WriteFile(dir_ / "a-file", "not a directory\n");
  WriteFile(dir_ / "log-is-a-file/log", "not a directory\n");
  WriteFile(dir_ / "events.ndjson", "{\"id\": 1}\n");
  WriteFile(dir_ / "token", "slc_not_a_real_token\n");
  const std::string server = "http://127.0.0.1:" + std::to_string(ClosedPort());
  const auto inputs = FailingInputs(dir_.path());
  for (const Path& path : Verbs().leaves) {
    const std::string verb = Join(path);
    if (kCannotFail.count(verb)) continue;
    const auto it = inputs.find(verb);
    if (it == inputs.end()) {
      ADD_FAILURE() << "`sluice " << verb << "` has no failing input in FailingInputs(): give it one";
      continue;
    }
    const FailingInput& f = it->second;
    std::vector<std::string> args = path;
    args.insert(args.end(), f.args.begin(), f.args.end());
    if (f.server) args.insert(args.end(), {"--server", server});

    const ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, f.exit_code) << verb << ": " << r.err;
    EXPECT_EQ(r.out, "") << verb << ": nothing on stdout when nothing was done";
    EXPECT_FALSE(r.err.empty()) << verb;

    args.insert(args.end(), {"-o", "json"});
    const ProcessResult j = Run(args);
    EXPECT_EQ(j.exit_code, f.exit_code) << verb << ": " << j.err;
    EXPECT_EQ(j.out, "") << verb;
    const json error = LastLineAsJson(j.err);
    ASSERT_TRUE(error.is_object()) << verb << ": the last line of stderr is not a JSON object: " << j.err;
    EXPECT_EQ(error["code"], f.code) << verb << ": " << j.err;
    EXPECT_TRUE(error["message"].is_string() && !error["message"].get<std::string>().empty()) << verb << ": " << j.err;
    EXPECT_TRUE(error["problems"].is_array()) << verb << ": " << j.err;
    EXPECT_EQ(error["exit_code"], f.exit_code) << verb << ": " << j.err;
  }
  // Every entry names a verb that exists (a renamed verb must not leave a stale entry).
  std::set<std::string> leaves;
  for (const Path& p : Verbs().leaves) leaves.insert(Join(p));
  for (const auto& [verb, f] : inputs) EXPECT_TRUE(leaves.count(verb)) << verb << " is no verb";
}

// Success with -o json: stdout is one JSON document (log consume's NDJSON aside), stderr is empty.
// The local verbs on an example spec, over data from sluice-gen.
TEST_F(CliContract, LocalVerbsAnswerJsonOnSuccess) {
  const std::string data = dir_ / "data";
  auto gen = RunProcess({kGen, "--out", data, "--only", "orders", "--orders", "300", "--seed", "7"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string spec = kSrc + "/examples/pipelines/orders.yaml";
  const std::string set = "spec.sources.orders_raw.path=" + data + "/orders.ndjson";
  const std::string work = dir_ / "work";
  const std::string spec_test = kSrc + "/tests/pipelines/pii_masking";
  auto ok = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"-o", "json"});
    const ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Join(args) << ": " << r.err;
    EXPECT_EQ(r.err, "") << Join(args);
    const json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Join(args) << ": stdout is not JSON: " << r.out;
    return j;
  };
  EXPECT_EQ(ok({"validate", "-f", spec, "--set", set})["valid"], true);
  EXPECT_TRUE(ok({"plan", "-f", spec, "--set", set})["nodes"].is_array());
  const json run = ok({"run", "-f", spec, "--set", set, "--workdir", work});
  EXPECT_EQ(run["status"], "succeeded");
  EXPECT_EQ(run["components"]["orders_raw"]["in"], 300);
  const json tables = ok({"lake", "ls", "--workdir", work});
  ASSERT_TRUE(tables.is_array());
  ASSERT_EQ(tables.size(), 1u) << tables.dump();
  EXPECT_EQ(tables[0]["table"], "bronze.orders");
  EXPECT_TRUE(ok({"lake", "describe", "bronze.orders", "--workdir", work})["schema"].is_array());
  EXPECT_TRUE(ok({"lake", "history", "bronze.orders", "--workdir", work}).is_array());
  EXPECT_EQ(ok({"lake", "read", "bronze.orders", "--limit", "3", "--workdir", work}).size(), 3u);
  EXPECT_TRUE(ok({"log", "ls", "--workdir", work}).is_array());
  EXPECT_EQ(ok({"test", spec_test})["failed"], 0);
  EXPECT_TRUE(ok({"version"})["commit"].is_string());
}

// serve -o json: its first line on stdout is {"url", "api"}, the base URL with the real port.
TEST_F(CliContract, ServeSaysItsUrlInJson) {
  const int pid = SpawnProcess({"/bin/sh", "-c",
                                "exec '" + kBin + "' serve --listen 127.0.0.1:0 --insecure-dev --workdir '" +
                                    (dir_ / "work") + "' -o json > '" + (dir_ / "out") + "' 2> '" + (dir_ / "err") +
                                    "'"});
  const std::string line = WaitForFirstLine(dir_ / "out");
  ::kill(pid, SIGTERM);
  EXPECT_EQ(WaitProcess(pid), 0) << ReadFile(dir_ / "err");
  const json j = json::parse(line, nullptr, false);
  ASSERT_TRUE(j.is_object()) << line << ReadFile(dir_ / "err");
  const std::string url = j["url"];
  EXPECT_TRUE(url.starts_with("http://127.0.0.1:") && url != "http://127.0.0.1:0") << url;
  EXPECT_EQ(j["api"], url + "/api/v1");
}

}  // namespace
}  // namespace sluice::testing
