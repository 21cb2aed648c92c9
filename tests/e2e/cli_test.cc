// End-to-end tests of the `sluice` binary: exit codes, messages, JSON output, and the promise
// that bad input loses nothing (every record is counted out, dropped or dead-lettered).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "process.h"

namespace sluice::testing {
namespace {

using nlohmann::json;

const std::string kBin = SLUICE_BIN;
const std::string kSrc = SLUICE_SOURCE_DIR;

ProcessResult Sluice(std::vector<std::string> args) {
  args.insert(args.begin(), kBin);
  return RunProcess(args);
}

const char* kSpec = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: e2e}
spec:
  sources:
    raw:
      kind: files
      path: in.ndjson
      schema:
        fields:
          - {name: id, type: int64, required: true}
          - {name: amount, type: "decimal(10,2)"}
  transforms:
    checked:
      kind: validate
      inputs: [raw]
      rules: [{name: positive, check: "amount > 0", on_fail: ON_FAIL}]
  sinks:
    out: {kind: files, inputs: [checked], path: out.ndjson}
)yaml";

std::string Spec(const std::string& on_fail) {
  std::string s = kSpec;
  s.replace(s.find("ON_FAIL"), 7, on_fail);
  return s;
}

TEST(Cli, HelpForEveryVerb) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"}, {"validate", "--help"},
                                        {"plan", "--help"}, {"run", "--help"}, {"test", "--help"}}) {
    auto r = Sluice(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  auto bad = Sluice({"frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(Cli, ValidateGoodAndBad) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("dead_letter"));
  auto ok = Sluice({"validate", "-f", dir / "p.yaml"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("valid"), std::string::npos);

  std::string bad = Spec("dead_letter");
  bad.replace(bad.find("amount > 0"), 10, "amont > 0");
  bad.replace(bad.find("path: out.ndjson"), 16, "pth: out.ndjson");
  WriteFile(dir / "bad.yaml", bad);
  auto r = Sluice({"validate", "-f", dir / "bad.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dir / "bad.yaml:17: checked: rule 'positive'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'amount'?"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir / "bad.yaml:19: out: unknown key 'pth'"), std::string::npos) << r.err;
}

TEST(Cli, RunJsonCountsEveryRecord) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("dead_letter"));
  WriteFile(dir / "in.ndjson",
            "{\"id\": 1, \"amount\": 5}\n{\"id\": 2, \"amount\": -1}\n{\"id\": \"x\"}\n{bad\n{\"amount\": 3}\n"
            "{\"id\": 6, \"amount\": 7.5}\n");
  auto r = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "work", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["pipeline"], "e2e");
  EXPECT_EQ(j["status"], "succeeded");
  EXPECT_TRUE(j["duration_ms"].is_number());
  for (const auto& [name, c] : j["components"].items()) {
    EXPECT_EQ(c["in"].get<int>(), c["out"].get<int>() + c["dead_letter"].get<int>() + c["dropped"].get<int>()) << name;
  }
  EXPECT_EQ(j["components"]["raw"]["in"], 6);
  EXPECT_EQ(j["components"]["raw"]["dead_letter"], 2);  // wrong type, malformed
  EXPECT_EQ(j["components"]["checked"]["dead_letter"], 2);  // missing id, negative amount
  EXPECT_EQ(j["components"]["out"]["out"], 2);
  EXPECT_EQ(j["dead_letters"], 4);
  std::string dl = ReadFile(j["dead_letter_path"].get<std::string>());
  int lines = 0;
  for (char c : dl) lines += c == '\n';
  EXPECT_EQ(lines, 4);
  json first = json::parse(dl.substr(0, dl.find('\n')));
  for (const char* k : {"pipeline", "version", "component", "rule", "error_class", "error_message", "source",
                        "partition", "offset", "event_time", "ingest_time", "payload"}) {
    EXPECT_TRUE(first.contains(k)) << k;
  }
  std::string out = ReadFile(dir / "work/out.ndjson");
  EXPECT_NE(out.find("\"id\":1"), std::string::npos) << out;
  EXPECT_NE(out.find("\"id\":6"), std::string::npos) << out;
}

// Splits text into its lines (without their line ends).
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A stray quote costs its own line, and nothing else: on 20,000 rows with a few of them, the rows
// kept are DuckDB's (read_csv with ignore_errors), and each stray line is one dead letter, counted
// once in `in`. The stray quotes are placed so that each way their field can end badly happens:
// at the next stray quote, past the record size limit (1 MiB), and at the end of the file.
TEST(Cli, CsvStrayQuotesCostOneLineEachAsInDuckDb) {
  TempDir dir;
  const std::vector<int> stray = {57, 58, 4000, 15000, 19990};
  std::string csv = "order_id,ts,qty,country,status,amount,note\n";
  std::map<int64_t, std::string> stray_lines;  // line -> text
  std::map<int, size_t> offset_of;             // stray row -> byte offset
  for (int i = 1; i <= 20000; ++i) {
    const bool bad = std::find(stray.begin(), stray.end(), i) != stray.end();
    char row[200];
    std::snprintf(row, sizeof row, "o-%d,%s2026-10-12T%02d:%02d:%02dZ,%d,FR,paid,%d.%02d,%s", i, bad ? "\"" : "",
                  i % 24, i % 60, (i * 7) % 60, i % 97, i % 1000, i % 100,
                  std::string(40 + i % 37, static_cast<char>('a' + i % 26)).c_str());
    if (bad) {
      stray_lines[i + 1] = row;
      offset_of[i] = csv.size();
    }
    csv += std::string(row) + "\n";
  }
  ASSERT_GT(offset_of[15000] - offset_of[4000], size_t{1} << 20) << "one stray quote must reach the size limit";
  ASSERT_LT(offset_of[4000] - offset_of[58], size_t{1} << 20) << "one must reach the next stray quote";
  WriteFile(dir / "orders.csv", csv);
  WriteFile(dir / "p.yaml", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: stray_quotes}
spec:
  sources:
    orders:
      kind: files
      path: orders.csv
      format: csv
      schema:
        fields:
          - {name: order_id, type: string}
          - {name: ts, type: timestamp}
          - {name: qty, type: int64}
          - {name: country, type: string}
          - {name: status, type: string}
          - {name: amount, type: "decimal(10,2)"}
          - {name: note, type: string}
  sinks:
    out: {kind: files, inputs: [orders], path: out.csv, format: csv}
)yaml");
  auto r = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = json::parse(r.out);

  const std::string sql =
      "SELECT order_id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, qty, country, status, amount, note FROM read_csv('" +
      (dir / "orders.csv") +
      "', header = true, ignore_errors = true, columns = {'order_id': 'VARCHAR', 'ts': 'TIMESTAMP', 'qty': "
      "'BIGINT', 'country': 'VARCHAR', 'status': 'VARCHAR', 'amount': 'DECIMAL(10,2)', 'note': 'VARCHAR'})";
  auto duck = RunProcess({"/usr/bin/env", "node", kSrc + "/tests/oracle/duckdb-query.mjs", sql, "--format", "csv"});
  ASSERT_EQ(duck.exit_code, 0) << duck.err;
  std::vector<std::string> want = Lines(duck.out);
  std::vector<std::string> got = Lines(ReadFile(dir / "work/out.csv"));
  ASSERT_FALSE(want.empty());
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front(), want.front()) << "the same columns";
  std::sort(want.begin() + 1, want.end());
  std::sort(got.begin() + 1, got.end());
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "the rows kept differ from DuckDB's";

  const int64_t kept = static_cast<int64_t>(want.size()) - 1;
  EXPECT_EQ(j["components"]["orders"]["in"], 20000);
  EXPECT_EQ(j["components"]["orders"]["out"], kept);
  EXPECT_EQ(j["components"]["orders"]["dead_letter"], 20000 - kept);
  EXPECT_EQ(j["dead_letters"], 20000 - kept);
  std::map<int64_t, std::string> dead;  // line -> payload
  for (const auto& line : Lines(ReadFile(j["dead_letter_path"].get<std::string>()))) {
    const json d = json::parse(line);
    EXPECT_EQ(d["error_class"], "unbalanced_quote") << line;
    dead[d["offset"].get<int64_t>()] = d["payload"];
  }
  EXPECT_EQ(dead, stray_lines);
}

// A record nested 100,000 levels deep is a dead letter (too_deep), not a crash; the run goes on.
TEST(Cli, DeepJsonIsADeadLetter) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("dead_letter"));
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "[";
  deep += "1";
  for (int i = 0; i < 100000; ++i) deep += "]";
  WriteFile(dir / "in.ndjson", "{\"id\": 1, \"amount\": 5}\n{\"id\": 2, \"amount\": 1, \"tags\": " + deep + "}\n" +
                                   deep + "\n{\"id\": 4, \"amount\": 2}\n");
  auto r = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["components"]["raw"]["in"], 4);
  EXPECT_EQ(j["components"]["raw"]["dead_letter"], 2);
  EXPECT_EQ(j["components"]["out"]["out"], 2);
  std::vector<int64_t> offsets;
  for (const auto& line : Lines(ReadFile(j["dead_letter_path"].get<std::string>()))) {
    const json d = json::parse(line);
    EXPECT_EQ(d["error_class"], "too_deep") << d["error_message"];
    offsets.push_back(d["offset"]);
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{2, 3}));
}

// The spec test tests/pipelines/pii_masking: a pii email, a rule failure, a failed CAST of part of
// the email, a malformed line and a wrong type.
const std::string kPiiSpec = kSrc + "/tests/pipelines/pii_masking/pipeline.yaml";
const char* kEmails[] = {"12345@legacy.example.com", "ann.lee@legacy.example.com", "bob.stone@example.com",
                         "cara.diaz@example.com", "dan.roe@example.com"};

// No email, nor the part of one that failed its CAST, in `text`.
void ExpectNoEmail(const std::string& text, const std::string& where) {
  for (const char* email : kEmails) {
    EXPECT_EQ(text.find(email), std::string::npos) << email << " in " << where << ":\n" << text;
    const std::string local(email, std::strchr(email, '@'));
    if (local.find_first_not_of("0123456789") == std::string::npos) continue;  // digits could be anything
    EXPECT_EQ(text.find(local), std::string::npos) << local << " in " << where << ":\n" << text;
  }
}

TEST(Cli, PiiNeverReachesDeadLettersOrTheOutput) {
  TempDir dir;
  auto r = Sluice({"run", "-f", kPiiSpec, "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  ExpectNoEmail(r.out + r.err, "sluice run's output");
  json j = json::parse(r.out);
  EXPECT_EQ(j["dead_letters"], 4);
  const std::string dl = ReadFile(j["dead_letter_path"].get<std::string>());
  ExpectNoEmail(dl, "the dead letters");
  std::map<std::string, json> by_class;
  std::istringstream lines(dl);
  for (std::string line; std::getline(lines, line);) {
    json d = json::parse(line);
    by_class[d["error_class"]] = d;
  }
  ASSERT_EQ(by_class.size(), 4u) << dl;
  // The rule failure and the CAST failure are the same customer: their masks match.
  json rule = json::parse(by_class["rule_failed"]["payload"].get<std::string>());
  json cast = json::parse(by_class["expression_error"]["payload"].get<std::string>());
  const std::string mask = rule["email"];
  EXPECT_TRUE(mask.starts_with("pii:")) << mask;
  EXPECT_EQ(mask.size(), 20u) << mask;
  EXPECT_EQ(cast["email"], mask) << "equal values, equal masks";
  EXPECT_EQ(rule["id"], -2) << "other fields are kept";
  EXPECT_EQ(rule["country"], "FR");
  const std::string message = by_class["expression_error"]["error_message"];
  EXPECT_TRUE(message.starts_with("select 'legacy_id': cannot cast 'pii:")) << message;
  EXPECT_TRUE(message.ends_with("' to int64")) << message;
  EXPECT_EQ(message.find(mask), std::string::npos) << "the part of the email that failed is masked, not the email";
  // The malformed line: only its keyed hash and length.
  const std::string payload = by_class["malformed_json"]["payload"];
  EXPECT_TRUE(payload.starts_with("pii:") && payload.ends_with(" bytes)")) << payload;
  EXPECT_NE(std::string(by_class["type_mismatch"]["error_message"]).find("got number pii:"), std::string::npos)
      << by_class["type_mismatch"].dump();

  // The key is the workdir's: private, and the same on the next run (so masks still match).
  struct stat st {};
  ASSERT_EQ(::stat((dir / "work/pii.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = Sluice({"run", "-f", kPiiSpec, "--workdir", dir / "work", "-o", "json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const std::string dl2 = ReadFile(json::parse(again.out)["dead_letter_path"].get<std::string>());
  EXPECT_NE(dl2.find(mask), std::string::npos) << dl2;
  // Another workdir, another key: its masks do not match these.
  auto other = Sluice({"run", "-f", kPiiSpec, "--workdir", dir / "other", "-o", "json"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(ReadFile(json::parse(other.out)["dead_letter_path"].get<std::string>()).find(mask), std::string::npos);

  // The sink gets what hash() and mask() make of the email, never the email.
  const std::string out = ReadFile(dir / "work/customers.ndjson");
  EXPECT_NE(out.find("\"email_hint\":\"*****************.com\""), std::string::npos) << out;
  // The plan shows which columns are pii: the email and what is computed from it, not hash() or mask().
  auto plan = Sluice({"plan", "-f", kPiiSpec, "-o", "json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("hash(email, 'sha256')"), std::string::npos) << "the plan shows the digest";
  std::map<std::string, bool> pii;
  const json nodes = json::parse(plan.out)["nodes"];
  for (const auto& n : nodes) {
    if (n["name"] != "keyed") continue;
    for (const auto& f : n["outputs"][0]["schema"]) pii[f["name"]] = f.value("pii", false);
  }
  EXPECT_EQ(pii,
            (std::map<std::string, bool>{
                {"id", false}, {"country", false}, {"email_key", false}, {"email_hint", false}, {"legacy_id", true}}))
      << plan.out;
}

TEST(Cli, OnFailStopsTheRunWithExit1) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("fail"));
  WriteFile(dir / "in.ndjson", "{\"id\": 1, \"amount\": 5}\n{\"id\": 2, \"amount\": -1}\n");
  auto r = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "work"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("rule 'positive' failed at " + dir / "in.ndjson:2"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("FAILED"), std::string::npos) << "the run's counts are still its result: " << r.out;
  // A failed run does not leave a half-written output behind.
  EXPECT_EQ(ReadFile(dir / "work/out.ndjson"), "");
}

// The last line of stderr: where the JSON error object is when -o json (warnings come before it).
json ErrorObject(const std::string& err) {
  std::string text = err;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t nl = text.rfind('\n');
  return json::parse(nl == std::string::npos ? text : text.substr(nl + 1), nullptr, false);
}

// A run that fails says why on stderr (it used to print `error: ...` on stdout, with stderr empty,
// in table and JSON modes); its counts stay the result, on stdout.
TEST(Cli, RunFailureIsAnErrorOnStderr) {
  TempDir dir;
  WriteFile(dir / "p.yaml", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: pq}
spec:
  sources:
    raw: {kind: files, path: trunc.parquet, format: parquet, schema: {fields: [{name: id, type: int64}]}}
  sinks:
    out: {kind: files, inputs: [raw], path: out.ndjson}
)yaml");
  WriteFile(dir / "trunc.parquet", "PAR1 this Parquet file was cut short");
  auto table = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "w"});
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.err.find("error: " + dir / "trunc.parquet: bad magic"), std::string::npos) << table.err;
  EXPECT_EQ(table.out.find("bad magic"), std::string::npos) << "no error on stdout: " << table.out;
  EXPECT_NE(table.out.find("FAILED"), std::string::npos) << table.out;

  auto j = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "w", "-o", "json"});
  EXPECT_EQ(j.exit_code, 1);
  const json run = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(run.is_discarded()) << "stdout holds only the run's document: " << j.out;
  EXPECT_EQ(run["status"], "failed");
  const json error = ErrorObject(j.err);
  ASSERT_TRUE(error.is_object()) << j.err;
  EXPECT_EQ(error["code"], "run_failed");
  EXPECT_NE(error["message"].get<std::string>().find("bad magic"), std::string::npos) << error.dump();
  EXPECT_EQ(error["exit_code"], 1);
}

// validate -o json on a bad spec answers a JSON error object with the FILE:LINE problems (it used
// to print no JSON at all); yaml the same object as YAML.
TEST(Cli, ValidateJsonErrorHasTheProblems) {
  TempDir dir;
  std::string bad = Spec("dead_letter");
  bad.replace(bad.find("amount > 0"), 10, "amont > 0");
  WriteFile(dir / "bad.yaml", bad);
  auto r = Sluice({"validate", "-f", dir / "bad.yaml", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  const json error = ErrorObject(r.err);
  ASSERT_TRUE(error.is_object()) << r.err;
  EXPECT_EQ(error["code"], "invalid_spec");
  EXPECT_EQ(error["exit_code"], 2);
  ASSERT_EQ(error["problems"].size(), 1u) << error.dump();
  EXPECT_EQ(error["problems"][0]["file"], dir / "bad.yaml");
  EXPECT_EQ(error["problems"][0]["line"], 17);
  EXPECT_NE(error["problems"][0]["message"].get<std::string>().find("did you mean 'amount'?"), std::string::npos);
  EXPECT_NE(error["message"].get<std::string>().find("bad.yaml:17:"), std::string::npos) << error.dump();

  auto y = Sluice({"plan", "-f", dir / "bad.yaml", "--output=YAML"});
  EXPECT_EQ(y.exit_code, 2);
  EXPECT_EQ(y.out, "");
  EXPECT_NE(y.err.find("code: invalid_spec"), std::string::npos) << y.err;
  EXPECT_NE(y.err.find("line: 17"), std::string::npos) << y.err;
}

// validate makes every check apply makes that needs no server (one implementation: the
// compiler's), and names those it cannot make here: a schedule apply refuses, a step wider than
// its field and a URL path the files source cannot read used to pass validate and fail on apply or
// at run time (Kafka brokers: tests/specs/invalid/kafka_bad_brokers).
TEST(Cli, ValidateChecksWhatApplyChecksAndNamesTheServersChecks) {
  TempDir dir;
  const std::string good = Spec("dead_letter");
  WriteFile(dir / "good.yaml", good);
  auto ok = Sluice({"validate", "-f", dir / "good.yaml"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("note: not checked without the server (sluice apply checks them): role, environment_grant"),
            std::string::npos)
      << ok.err;
  EXPECT_EQ(ok.out.find("not checked"), std::string::npos) << "the note is not the result: " << ok.out;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  struct Case {
    std::string spec;
    int line;
    std::string message;
  };
  const Case cases[] = {
      {with("spec:\n", "spec:\n  schedule: \"every day\"\n"), 5,
       "schedule 'every day': use 5 cron fields (minute hour day month weekday) or @hourly"},
      {with("spec:\n", "spec:\n  schedule: \"*/61 * * * *\"\n"), 5,
       "schedule '*/61 * * * *': minute step 61 in '*/61' is out of range 1-59"},
      {with("spec:\n", "spec:\n  schedule: \"0 0 * * 8\"\n"), 5,
       "schedule '0 0 * * 8': day-of-week 8 is out of range 0-7"},
      {with("path: in.ndjson", "path: s3://bucket/in/*.ndjson"), 8,
       "raw: path 's3://bucket/in/*.ndjson': reading and writing s3:// URLs (object storage and others) is not "
       "available in this version of sluice yet; write a local path: a file, a directory or a glob"},
      {with("path: out.ndjson", "path: https://example.com/out"), 19, "out: path 'https://example.com/out': reading"},
  };
  for (const Case& c : cases) {
    WriteFile(dir / "bad.yaml", c.spec);
    auto r = Sluice({"validate", "-f", dir / "bad.yaml"});
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(dir / "bad.yaml:" + std::to_string(c.line) + ": " + c.message), std::string::npos) << r.err;
  }
  auto j = Sluice({"validate", "-f", dir / "good.yaml", "-o", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(j.err, "");
  const json doc = json::parse(j.out);
  ASSERT_TRUE(doc["needs_server"].is_array()) << j.out;
  std::vector<std::string> names;
  for (const auto& check : doc["needs_server"]) names.push_back(check["check"]);
  EXPECT_EQ(names, (std::vector<std::string>{"role", "environment_grant", "environment_values", "data_roots", "no_env",
                                             "tables"}));
}

// An unknown verb lists the verbs with a did-you-mean, on stderr, exit 2 (it used to say only "A
// subcommand is required"); so does a misspelt sub-verb, and an option a verb does not have.
TEST(Cli, UnknownVerbSuggestsTheNearest) {
  auto r = Sluice({"valdate", "-f", "x.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("unknown command 'valdate': did you mean 'validate'?"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("validate, plan, run"), std::string::npos) << "the verbs are listed: " << r.err;

  auto none = Sluice({"frob"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.out, "");
  EXPECT_NE(none.err.find("unknown command 'frob'"), std::string::npos) << none.err;
  EXPECT_EQ(none.err.find("subcommand is required"), std::string::npos) << none.err;

  auto sub = Sluice({"lake", "histroy", "bronze.x", "-o", "json"});
  EXPECT_EQ(sub.exit_code, 2);
  const json error = ErrorObject(sub.err);
  ASSERT_TRUE(error.is_object()) << sub.err;
  EXPECT_EQ(error["code"], "unknown_command");
  EXPECT_EQ(error["message"], "unknown command 'histroy': did you mean 'history'?");
  EXPECT_NE(error["hint"].get<std::string>().find("ls, describe, history, read"), std::string::npos) << error.dump();

  auto flag = Sluice({"plan", "--fiel", "x.yaml"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_EQ(flag.out, "");
  EXPECT_NE(flag.err.find("unknown option '--fiel' of sluice plan (did you mean '--file'?)"), std::string::npos)
      << flag.err;
}

// sluice --version, and sluice version with the commit and build type.
TEST(Cli, VersionSaysWhichBuild) {
  auto line = Sluice({"--version"});
  EXPECT_EQ(line.exit_code, 0) << line.err;
  EXPECT_TRUE(line.out.starts_with("sluice ")) << line.out;
  EXPECT_NE(line.out.find("commit "), std::string::npos) << line.out;
  EXPECT_EQ(line.err, "");

  auto j = Sluice({"version", "-o", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const json v = json::parse(j.out);
  EXPECT_TRUE(v["version"].is_string());
  EXPECT_EQ(v["version"], line.out.substr(7, line.out.find(' ', 7) - 7));
  EXPECT_TRUE(v["build_type"].is_string());
  const std::string commit = v["commit"];
  // The commit this source tree is at, when git can tell (the build reads it the same way).
  auto git = RunProcess({"/usr/bin/env", "git", "-C", kSrc, "rev-parse", "HEAD"});
  if (git.exit_code == 0 && !git.out.empty()) {
    EXPECT_EQ(commit + "\n", git.out);
  } else {
    EXPECT_EQ(commit, "unknown");
  }
  auto table = Sluice({"version"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("commit      " + commit), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("build type  " + v["build_type"].get<std::string>()), std::string::npos) << table.out;
}

TEST(Cli, PlanJsonHasASchemaOnEveryEdge) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("drop"));
  auto r = Sluice({"plan", "-f", dir / "p.yaml", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["nodes"].size(), 3u);
  EXPECT_EQ(j["nodes"][1]["inputs"][0], "raw");
  EXPECT_EQ(j["nodes"][1]["outputs"][0]["schema"][1]["type"], "decimal(10,2)");
  EXPECT_EQ(j["nodes"][2]["input_schema"][0]["name"], "id");
  auto y = Sluice({"plan", "-f", dir / "p.yaml", "--output", "yaml"});
  EXPECT_EQ(y.exit_code, 0);
  EXPECT_NE(y.out.find("pipeline: e2e"), std::string::npos) << y.out;
}

TEST(Cli, SetOverridesAndMissingInput) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("drop"));
  WriteFile(dir / "other.ndjson", "{\"id\": 1, \"amount\": 5}\n");
  auto r = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "w", "--set",
                   "spec.sources.raw.path=" + dir / "other.ndjson", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["components"]["raw"]["in"], 1);
  auto missing = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "w"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no files match"), std::string::npos) << missing.err;
}

// --set on a component that does not exist names it among the sources with the nearest one (it
// used to create it and fail with "tickets: missing required key 'kind'"), and so for any missing
// key on the way; nothing runs.
TEST(Cli, SetOnAMissingComponentOrKeyNamesIt) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("drop"));
  for (const std::string& verb : {"validate", "plan", "run"}) {
    auto r = Sluice({verb, "-f", dir / "p.yaml", "--workdir", dir / "w", "--set", "spec.sources.rawx.path=x.ndjson"});
    EXPECT_EQ(r.exit_code, 2) << verb;
    EXPECT_EQ(r.out, "") << verb;
    EXPECT_NE(r.err.find("--set 'spec.sources.rawx.path=x.ndjson': there is no component 'rawx' among the sources "
                         "(did you mean 'raw'?); the sources are: raw."),
              std::string::npos)
        << verb << ": " << r.err;
    EXPECT_EQ(r.err.find("missing required key"), std::string::npos) << r.err;
  }
  auto key = Sluice({"validate", "-f", dir / "p.yaml", "--set", "spec.dead_letter.path=dl", "-o", "json"});
  EXPECT_EQ(key.exit_code, 2);
  const json error = ErrorObject(key.err);
  ASSERT_TRUE(error.is_object()) << key.err;
  EXPECT_NE(error["message"].get<std::string>().find(
                "there is no 'dead_letter' under 'spec'; the keys there are: sources, transforms, sinks. To add it, "
                "set it whole: --set 'spec.dead_letter={path: dl}'"),
            std::string::npos)
      << error.dump();
  EXPECT_EQ(Sluice({"validate", "-f", dir / "p.yaml", "--set", "spec.dead_letter={path: dl}"}).exit_code, 0);
}

// Where relative source paths start is one sentence: the hint of a source that matches no files
// says it, and docs/pipeline-spec.md says it word for word (the hint used to say they start at
// the directory sluice runs from, which is not so).
TEST(Cli, RelativePathRuleIsOneSentenceInTheHintAndTheDocs) {
  TempDir dir;
  WriteFile(dir / "p.yaml", Spec("drop"));
  auto r = Sluice({"run", "-f", dir / "p.yaml", "--workdir", dir / "w"});
  EXPECT_EQ(r.exit_code, 1);
  const std::string lead = "no files match '" + dir / "in.ndjson" + "'; check the path. ";
  const size_t at = r.err.find(lead);
  ASSERT_NE(at, std::string::npos) << r.err;
  const size_t from = at + lead.size();
  const std::string rule = r.err.substr(from, r.err.find('\n', from) - from);
  EXPECT_EQ(rule.rfind("A relative source path starts at the spec file's directory when sluice run", 0), 0u) << rule;
  EXPECT_NE(rule.find("at the namespace's folder of the data root"), std::string::npos) << rule;
  for (const char* doc : {"/docs/pipeline-spec.md", "/docs/cli.md"}) {
    std::string text = ReadFile(kSrc + doc);
    // Markdown may wrap the sentence: compare with single spaces.
    for (char& c : text) c = c == '\n' ? ' ' : c;
    EXPECT_NE(text.find(rule), std::string::npos) << doc << " does not say: " << rule;
  }
}

// A lookup against a dimension in the lake: matches gain the fields, misses follow on_missing.
TEST(Cli, LookupFromTheLakeWithEveryOnMissing) {
  TempDir dir;
  WriteFile(dir / "dim.yaml", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: dim}
spec:
  sources:
    raw: {kind: files, path: countries.ndjson, schema: {fields: [{name: code, type: string}, {name: region, type: string}]}}
  sinks:
    dim: {kind: lake, inputs: [raw], table: silver.countries}
)yaml");
  WriteFile(dir / "countries.ndjson", "{\"code\": \"DE\", \"region\": \"EU\"}\n{\"code\": \"US\", \"region\": \"NA\"}\n");
  auto d = Sluice({"run", "-f", dir / "dim.yaml", "--workdir", dir / "w", "-q"});
  ASSERT_EQ(d.exit_code, 0) << d.err << d.out;
  for (std::string mode : {"null", "drop", "dead_letter"}) {
    WriteFile(dir / "facts.yaml", std::string(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: facts}
spec:
  sources:
    raw: {kind: files, path: orders.ndjson, schema: {fields: [{name: id, type: int64}, {name: country, type: string}]}}
  transforms:
    enriched: {kind: lookup, inputs: [raw], from: lake, table: silver.countries, on: {country: code}, fields: [region], on_missing: )yaml") + mode + R"yaml(}
  sinks:
    out: {kind: files, inputs: [enriched], path: out.ndjson}
)yaml");
    WriteFile(dir / "orders.ndjson", "{\"id\": 1, \"country\": \"DE\"}\n{\"id\": 2, \"country\": \"FR\"}\n"
                                     "{\"id\": 3, \"country\": null}\n{\"id\": 4, \"country\": \"US\"}\n");
    auto r = Sluice({"run", "-f", dir / "facts.yaml", "--workdir", dir / "w", "-o", "json", "-q"});
    ASSERT_EQ(r.exit_code, 0) << mode << ": " << r.err << r.out;
    json j = json::parse(r.out);
    const json& c = j["components"]["enriched"];
    std::string out = ReadFile(dir / "w/out.ndjson");
    EXPECT_NE(out.find("\"id\":1,\"country\":\"DE\",\"region\":\"EU\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"id\":4,\"country\":\"US\",\"region\":\"NA\""), std::string::npos) << out;
    if (mode == "null") {
      EXPECT_EQ(c["out"], 4) << mode;
      EXPECT_NE(out.find("\"id\":2,\"country\":\"FR\",\"region\":null"), std::string::npos) << out;
    } else if (mode == "drop") {
      EXPECT_EQ(c["out"], 2);
      EXPECT_EQ(c["dropped"], 2);  // FR is unknown; a NULL key never matches
    } else {
      EXPECT_EQ(c["out"], 2);
      EXPECT_EQ(c["dead_letter"], 2);
      std::string dl = ReadFile(j["dead_letter_path"].get<std::string>());
      EXPECT_NE(dl.find("\"error_class\":\"lookup_miss\""), std::string::npos) << dl;
    }
  }
}

TEST(Cli, SpecTestReportsFailures) {
  // A spec test whose expectation is wrong must fail, and say what differs.
  TempDir dir;
  WriteFile(dir / "t/pipeline.yaml", Spec("drop"));
  WriteFile(dir / "t/in.ndjson", "{\"id\": 1, \"amount\": 5}\n");
  WriteFile(dir / "t/expected/out.ndjson", "{\"id\": 2, \"amount\": 5}\n");
  auto r = Sluice({"test", dir / "t"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 missing, 1 unexpected"), std::string::npos) << r.out;
  WriteFile(dir / "t/expected/out.ndjson", "{\"amount\": 5.00, \"id\": 1}\n");
  auto ok = Sluice({"test", dir / "t"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

}  // namespace
}  // namespace sluice::testing
