// `sluice test`: spec tests kept as data.
//
// A test is a directory holding pipeline.yaml, input/ (read by the spec's sources through
// relative paths) and expected/:
//   expected/<file>             for each `files` sink, the expected content of its output file
//                               (matched by file name); compared as multisets of records
//                               (NDJSON objects compared by value, CSV rows as text after the
//                               header), so row order does not matter — unless the sink has
//                               order_by, then the order must match too.
//   expected/dead_letters.ndjson  expected envelopes; only the keys present in the expected
//                               lines are compared (e.g. component, rule, error_class, offset).
//   expected/counts.json        optional {"component": {"in":…, "out":…, "dead_letter":…,
//                               "dropped":…}}; only the listed numbers are compared.
// Each test runs in a fresh working directory.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "sluice/engine/exec/batch_runner.h"
#include "sluice/engine/plan/node_configs.h"
#include "sluice/pipeline/compile.h"
#include "verbs.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

struct TestOptions {
  std::vector<std::string> paths;  // spec files or directories holding tests/pipelines/<name>/
  OutputFormat output = OutputFormat::kTable;
  bool keep = false;  // keep each test's workdir for inspection
};

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Canonical form of a record: JSON objects re-serialized with sorted keys and numbers normalized.
Result<std::vector<std::string>> Records(const std::string& text, bool is_json, const std::string& what,
                                         const std::vector<std::string>* keep_keys, bool ordered = false) {
  std::vector<std::string> out;
  auto lines = Lines(text);
  size_t start = 0;
  if (!is_json && !lines.empty()) start = 1;  // CSV header, compared separately
  for (size_t i = start; i < lines.size(); ++i) {
    if (!is_json) {
      out.push_back(lines[i]);
      continue;
    }
    json j = json::parse(lines[i], nullptr, false);
    if (j.is_discarded()) return Status::InvalidArgument("{} line {}: not valid JSON", what, i + 1);
    if (keep_keys) {
      json projected = json::object();
      for (const auto& k : *keep_keys) projected[k] = j.contains(k) ? j[k] : json(nullptr);
      j = projected;
    }
    out.push_back(j.dump());
  }
  if (!ordered) std::sort(out.begin(), out.end());
  return out;
}

struct Outcome {
  std::string name;
  bool passed = true;
  std::vector<std::string> failures;
  int64_t duration_ms = 0;
};

void CompareRecords(Outcome& t, const std::string& what, const std::vector<std::string>& expected,
                    const std::vector<std::string>& actual, bool ordered = false) {
  if (ordered) {
    if (expected == actual) return;
    t.passed = false;
    std::string msg = fmt::format("{}: the records differ in content or order (the sink has order_by)", what);
    for (size_t i = 0; i < std::max(expected.size(), actual.size()) && i < 10; ++i) {
      msg += fmt::format("\n      #{} expected: {}\n      #{} got:      {}", i + 1, i < expected.size() ? expected[i] : "(none)",
                         i + 1, i < actual.size() ? actual[i] : "(none)");
    }
    t.failures.push_back(msg);
    return;
  }
  std::vector<std::string> missing, unexpected;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(), std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(), std::back_inserter(unexpected));
  if (missing.empty() && unexpected.empty()) return;
  t.passed = false;
  std::string msg = fmt::format("{}: expected {} records, got {}; {} missing, {} unexpected", what, expected.size(),
                                actual.size(), missing.size(), unexpected.size());
  for (size_t i = 0; i < std::min<size_t>(5, missing.size()); ++i) msg += "\n      missing:    " + missing[i];
  for (size_t i = 0; i < std::min<size_t>(5, unexpected.size()); ++i) msg += "\n      unexpected: " + unexpected[i];
  t.failures.push_back(msg);
}

Outcome RunOne(const fs::path& spec, bool keep) {
  Outcome t;
  fs::path dir = spec.parent_path();
  t.name = dir.filename().string();
  std::random_device rd;
  fs::path work = fs::temp_directory_path() / ("sluice-test-" + t.name + "-" + std::to_string(rd()));
  auto plan = pipeline::CompileFile(spec.string(), MakeCompileOptions(work.string(), "", {}));
  if (!plan.ok()) {
    t.passed = false;
    t.failures.push_back("spec does not compile:\n" + plan.status().message());
    return t;
  }
  engine::RunOptions ro;
  ro.workdir = work.string();
  ro.run_id = "test";
  engine::RunResult r = engine::RunBatch(*plan, ro);
  t.duration_ms = r.duration_ms;
  if (!r.status.ok()) {
    t.passed = false;
    t.failures.push_back("run failed: " + r.status.message());
  }
  fs::path expected = dir / "expected";
  // Sink outputs.
  for (const auto& node : plan->nodes) {
    const auto* sink = node.ConfigAs<engine::FilesSinkConfig>();
    if (!sink) continue;
    fs::path exp = expected / fs::path(sink->path).filename();
    if (!fs::exists(exp)) {
      t.passed = false;
      t.failures.push_back(fmt::format("sink '{}': no expected file {}", node.name, exp.string()));
      continue;
    }
    bool is_json = sink->format != engine::FileFormat::kCsv;
    std::string actual_text = fs::exists(sink->path) ? ReadText(sink->path) : "";
    std::string expected_text = ReadText(exp);
    if (!is_json) {
      auto a = Lines(actual_text), e = Lines(expected_text);
      if (!e.empty() && (a.empty() || a[0] != e[0])) {
        t.passed = false;
        t.failures.push_back(fmt::format("sink '{}': CSV header differs: expected '{}', got '{}'", node.name, e[0],
                                         a.empty() ? "" : a[0]));
      }
    }
    const bool ordered = !sink->order_by.empty();
    auto a = Records(actual_text, is_json, "output of " + node.name, nullptr, ordered);
    auto e = Records(expected_text, is_json, exp.string(), nullptr, ordered);
    if (!a.ok() || !e.ok()) {
      t.passed = false;
      t.failures.push_back(!a.ok() ? a.status().message() : e.status().message());
      continue;
    }
    CompareRecords(t, "sink '" + node.name + "'", *e, *a, ordered);
  }
  // Dead letters.
  fs::path exp_dl = expected / "dead_letters.ndjson";
  std::string actual_dl = r.dead_letter_path.empty() ? "" : ReadText(r.dead_letter_path);
  if (fs::exists(exp_dl)) {
    std::string text = ReadText(exp_dl);
    auto lines = Lines(text);
    std::vector<std::string> keys;
    if (!lines.empty()) {
      json first = json::parse(lines[0], nullptr, false);
      if (first.is_object()) {
        for (const auto& [k, v] : first.items()) keys.push_back(k);
      }
    }
    auto e = Records(text, true, exp_dl.string(), &keys);
    auto a = Records(actual_dl, true, "dead letters", &keys);
    if (e.ok() && a.ok()) CompareRecords(t, "dead letters", *e, *a);
    else {
      t.passed = false;
      t.failures.push_back(!e.ok() ? e.status().message() : a.status().message());
    }
  } else if (r.dead_letters > 0) {
    t.passed = false;
    t.failures.push_back(fmt::format("{} dead letters but no expected/dead_letters.ndjson; first: {}", r.dead_letters,
                                     Lines(actual_dl).empty() ? "" : Lines(actual_dl)[0]));
  }
  // Counts.
  fs::path exp_counts = expected / "counts.json";
  if (fs::exists(exp_counts)) {
    json e = json::parse(ReadText(exp_counts), nullptr, false);
    if (!e.is_object()) {
      t.passed = false;
      t.failures.push_back(exp_counts.string() + ": not a JSON object");
    } else {
      for (const auto& [comp, want] : e.items()) {
        auto it = std::find_if(r.components.begin(), r.components.end(), [&](const auto& c) { return c.first == comp; });
        if (it == r.components.end()) {
          t.passed = false;
          t.failures.push_back("counts.json names unknown component '" + comp + "'");
          continue;
        }
        std::map<std::string, int64_t> got = {{"in", it->second.in}, {"out", it->second.out},
                                              {"dead_letter", it->second.dead_letter}, {"dropped", it->second.dropped},
                                              {"warnings", it->second.warnings}};
        for (const auto& [k, v] : want.items()) {
          if (!got.count(k) || !v.is_number_integer() || got[k] != v.get<int64_t>()) {
            t.passed = false;
            t.failures.push_back(fmt::format("{}.{}: expected {}, got {}", comp, k, v.dump(),
                                             got.count(k) ? std::to_string(got[k]) : "no such count"));
          }
        }
      }
    }
  }
  if (!keep) fs::remove_all(work);
  else t.failures.push_back("kept working directory " + work.string());
  return t;
}

std::vector<fs::path> FindSpecs(const std::vector<std::string>& paths, std::vector<std::string>& problems) {
  std::vector<fs::path> specs;
  for (const auto& p : paths) {
    fs::path path(p);
    if (fs::is_regular_file(path)) {
      specs.push_back(path);
    } else if (fs::is_directory(path) && fs::exists(path / "pipeline.yaml")) {
      specs.push_back(path / "pipeline.yaml");
    } else if (fs::is_directory(path)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::directory_iterator(path)) {
        if (e.is_directory() && fs::exists(e.path() / "pipeline.yaml")) found.push_back(e.path() / "pipeline.yaml");
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) problems.push_back(p + ": no <test>/pipeline.yaml inside");
      specs.insert(specs.end(), found.begin(), found.end());
    } else {
      problems.push_back(p + ": no such file or directory");
    }
  }
  return specs;
}

int Test(const TestOptions& o) {
  std::vector<std::string> problems;
  auto specs = FindSpecs(o.paths, problems);
  if (!problems.empty()) {
    std::vector<Problem> where;
    for (const auto& p : problems) where.push_back(Problem{"", 0, p});
    const std::string message = problems.size() == 1 ? problems[0]
                                                     : std::to_string(problems.size()) + " paths hold no spec test";
    return Fail(Failure{.code = CodeOf(StatusCode::kNotFound),
                        .message = message,
                        .exit_code = kExitInvalid,
                        .problems = std::move(where)});
  }
  int failed = 0;
  ordered_json results = ordered_json::array();
  std::string table;
  for (const auto& spec : specs) {
    Outcome t = RunOne(spec, o.keep);
    if (!t.passed) ++failed;
    results.push_back({{"test", t.name}, {"spec", spec.string()}, {"passed", t.passed}, {"failures", t.failures},
                       {"duration_ms", t.duration_ms}});
    table += fmt::format("{} {} ({} ms)\n", t.passed ? "PASS" : "FAIL", t.name, t.duration_ms);
    for (const auto& f : t.failures) table += "    " + f + "\n";
  }
  table += fmt::format("\n{} passed, {} failed\n", specs.size() - failed, failed);
  ordered_json doc = {{"passed", static_cast<int>(specs.size()) - failed}, {"failed", failed}, {"tests", results}};
  PrintDocument(doc.dump(2), o.output, table);
  if (failed == 0) return kExitOk;
  return Fail(Failure{.code = codes::kTestsFailed,
                      .message = fmt::format("{} of {} spec tests failed", failed, specs.size()),
                      .exit_code = kExitFailure});
}

}  // namespace

void AddTestVerb(Command& app) {
  auto o = std::make_shared<TestOptions>();
  Command test = app.Subcommand(
      "test",
      "Run spec tests kept as data: <dir>/{pipeline.yaml, input/, expected/}. Exit 0 if all pass, 1 if any fails");
  test.Option("-f,--file,paths", o->paths, "pipeline.yaml files, test directories, or a folder of test directories")
      .Required();
  test.Output(o->output);
  test.Flag("--keep", o->keep, "Keep each test's working directory for inspection");
  test.Runs([o] { return Test(*o); });
}

}  // namespace sluice::cli
