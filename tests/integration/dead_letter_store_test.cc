// The dead-letter store (engine/exec/dead_letter_store.h) on the dead letters of real runs: batch
// runs and a stream, in-process. What it lists, filters, pages and reads is checked against a
// reference worked out here from the input (which lines are malformed, which fail the rule);
// replay staging against the payloads it must send back (the files a batch replay reads, the
// records appended to a stream's topic).
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/process.h"
#include "sluice/engine/exec/batch_runner.h"
#include "sluice/engine/exec/dead_letter_store.h"
#include "sluice/engine/exec/stream_runner.h"
#include "sluice/io/workdir.h"
#include "sluice/log/log.h"
#include "sluice/pipeline/compile.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using engine::DeadLetterFilter;
using engine::DeadLetterId;
using engine::DeadLetterStore;

// One input line and what the pipeline does with it.
struct InputLine {
  std::string text;
  std::string error_class;  // empty: the record passes
};

// `n` lines: every 5th is not JSON, every 3rd (of the others) has a negative amount.
std::vector<InputLine> Input(int n, int seed) {
  std::vector<InputLine> lines;
  for (int i = 1; i <= n; ++i) {
    const int id = seed * 1000 + i;
    if (i % 5 == 0) lines.push_back({"{\"id\": " + std::to_string(id) + ", broken", "malformed_json"});
    else if (i % 3 == 0)
      lines.push_back({json{{"id", id}, {"amount", -i}}.dump(), "rule_failed"});
    else
      lines.push_back({json{{"id", id}, {"amount", i}}.dump(), ""});
  }
  return lines;
}

std::string BatchSpec(const std::string& source, const std::string& dead_letter = "") {
  return "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: orders, namespace: shop}\nspec:\n" + dead_letter +
         "  sources:\n    " + source +
         ": {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}, {name: amount, type: int64}]}}\n"
         "  transforms:\n    pos: {kind: validate, inputs: [" +
         source +
         "], rules: [{name: non_negative, check: \"amount >= 0\"}]}\n"
         "  sinks:\n    out: {kind: files, inputs: [pos], path: out/orders.ndjson}\n";
}

engine::Plan CompileIn(const std::string& spec, const std::string& work) {
  pipeline::CompileOptions co;
  co.workdir = work;
  auto plan = pipeline::CompileString(spec, "orders.yaml", work, co);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(*plan) : engine::Plan();
}

class DeadLetterStoreTest : public ::testing::Test {
 protected:
  // Runs the batch pipeline over `lines` as run `run_id`; returns the reference of what it
  // rejected, in line order.
  std::vector<std::pair<int64_t, InputLine>> RunBatch(const engine::Plan& plan, const std::vector<InputLine>& lines,
                                                      const std::string& run_id) {
    std::string text;
    for (const auto& l : lines) text += l.text + "\n";
    WriteFile(work_ + "/in.ndjson", text);
    engine::RunOptions o;
    o.workdir = work_;
    o.run_id = run_id;
    const engine::RunResult r = engine::RunBatch(plan, o);
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    std::vector<std::pair<int64_t, InputLine>> rejected;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!lines[i].error_class.empty()) rejected.emplace_back(static_cast<int64_t>(i) + 1, lines[i]);
    }
    EXPECT_EQ(r.dead_letters, static_cast<int64_t>(rejected.size()));
    EXPECT_EQ(r.dead_letter_path, DeadLetterStore(Workdir(work_), plan).BatchRunFile(run_id))
        << "the run wrote where the store says";
    return rejected;
  }

  // Every matching envelope, one page of `limit` after another.
  std::vector<engine::DeadLetter> ListAll(const DeadLetterStore& store, const DeadLetterFilter& filter, int64_t limit) {
    std::vector<engine::DeadLetter> all;
    std::optional<DeadLetterId> after;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = store.List(filter, after, limit);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      EXPECT_LE(static_cast<int64_t>(page->items.size()), limit);
      for (auto& d : page->items) all.push_back(std::move(d));
      if (!page->next) break;
      EXPECT_EQ(*page->next, all.back().id) << "a page resumes after its last envelope";
      after = page->next;
    }
    return all;
  }

  TempDir dir_;
  const std::string work_ = dir_.path() + "/work";
};

TEST_F(DeadLetterStoreTest, ListsFiltersAndPagesTheDeadLettersOfBatchRuns) {
  fs::create_directories(work_);
  const engine::Plan plan = CompileIn(BatchSpec("in"), work_);
  const auto first = RunBatch(plan, Input(23, 1), "r-0001");
  const auto second = RunBatch(plan, Input(11, 2), "r-0002");
  const DeadLetterStore store(Workdir(work_), plan);

  // The reference: every rejected line of both runs, by run and input line. (A run's file holds
  // them in the order the components rejected them: the source's decode errors, then the rule's.)
  std::map<std::string, std::map<int64_t, InputLine>> reference;
  for (const auto& [line, in] : first) reference["r-0001"][line] = in;
  for (const auto& [line, in] : second) reference["r-0002"][line] = in;
  std::vector<std::tuple<std::string, int64_t, InputLine>> expected;  // (run, input line, input)
  for (const auto& [run, lines] : reference) {
    for (const auto& [line, in] : lines) expected.emplace_back(run, line, in);
  }

  const auto all = ListAll(store, {}, 1000);
  ASSERT_EQ(all.size(), expected.size());
  std::map<std::string, std::set<int64_t>> seen;  // the input lines listed, by run
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& d = all[i];
    const int64_t line = d.envelope["offset"].get<int64_t>();
    ASSERT_TRUE(reference[d.id.run].contains(line)) << "not a rejected line: " << d.envelope.dump();
    const InputLine& in = reference[d.id.run][line];
    EXPECT_TRUE(seen[d.id.run].insert(line).second) << "listed twice: " << d.envelope.dump();
    EXPECT_EQ(d.id.line, static_cast<int64_t>(seen[d.id.run].size())) << "ids are the run and the line in its file";
    if (i > 0) {
      EXPECT_LT(all[i - 1].id, d.id) << "in id order";
    }
    EXPECT_EQ(d.envelope["error_class"], in.error_class) << i;
    EXPECT_EQ(d.envelope["component"], in.error_class == "rule_failed" ? "pos" : "in") << i;
    EXPECT_EQ(d.envelope["pipeline"], "orders");
    EXPECT_EQ(d.envelope["version"], plan.version);
    if (in.error_class == "malformed_json") {
      EXPECT_EQ(d.envelope["payload"], in.text);
    } else {
      EXPECT_EQ(json::parse(d.envelope["payload"].get<std::string>()), json::parse(in.text));
    }
  }

  // Pages of every size give the same sequence (keyset pagination: no envelope twice, none lost).
  for (int64_t limit : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{7}, static_cast<int64_t>(expected.size())}) {
    const auto paged = ListAll(store, {}, limit);
    ASSERT_EQ(paged.size(), all.size()) << limit;
    for (size_t i = 0; i < paged.size(); ++i) EXPECT_EQ(paged[i].id, all[i].id) << limit;
  }

  // Each filter, and a combination, against the reference.
  auto count = [&](const std::function<bool(const std::string&, const InputLine&)>& keep) {
    size_t n = 0;
    for (const auto& [run, line, in] : expected) n += keep(run, in) ? 1 : 0;
    return n;
  };
  DeadLetterFilter rule;
  rule.error_class = "rule_failed";
  EXPECT_EQ(ListAll(store, rule, 4).size(),
            count([](auto&, const InputLine& in) { return in.error_class == "rule_failed"; }));
  DeadLetterFilter source;
  source.component = "in";
  EXPECT_EQ(ListAll(store, source, 4).size(),
            count([](auto&, const InputLine& in) { return in.error_class == "malformed_json"; }));
  DeadLetterFilter run2_rule = rule;
  run2_rule.run = "r-0002";
  const auto run2 = ListAll(store, run2_rule, 2);
  EXPECT_EQ(run2.size(), count([](const std::string& run, const InputLine& in) {
              return run == "r-0002" && in.error_class == "rule_failed";
            }));
  for (const auto& d : run2) EXPECT_EQ(d.id.run, "r-0002");
  DeadLetterFilter none;
  none.component = "no-such-component";
  EXPECT_TRUE(ListAll(store, none, 5).empty());

  // One by its id; an id with no envelope is NotFound.
  const auto& some = all[all.size() / 2];
  auto got = store.Get(some.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->envelope, some.envelope);
  EXPECT_EQ(store.Get({"r-0002", 1000}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.Get({"r-0003", 1}).status().code(), StatusCode::kNotFound);

  // A cursor's text round-trips; other text is refused.
  auto parsed = DeadLetterId::Parse(some.id.ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, some.id);
  EXPECT_FALSE(DeadLetterId::Parse("r-0001").ok());
  EXPECT_FALSE(DeadLetterId::Parse("r-0001\n4x").ok());
}

TEST_F(DeadLetterStoreTest, StagesTheReplayOfABatchPipeline) {
  fs::create_directories(work_);
  const engine::Plan plan = CompileIn(BatchSpec("in"), work_);
  const auto rejected = RunBatch(plan, Input(20, 3), "r-0001");
  const DeadLetterStore store(Workdir(work_), plan);

  DeadLetterFilter rule;
  rule.error_class = "rule_failed";
  auto staged = store.StageReplay(plan, rule, "replay-1");
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  std::string want;
  for (const auto& [line, in] : rejected) {
    if (in.error_class == "rule_failed") want += in.text + "\n";
  }
  EXPECT_EQ(staged->count, static_cast<int64_t>(std::count(want.begin(), want.end(), '\n')));
  EXPECT_EQ(staged->input, Workdir(work_).Replay(plan.StateKey(), "replay-1"));
  const std::string file = (staged->input / "in.ndjson").string();
  EXPECT_EQ(staged->overrides, std::vector<std::string>{"spec.sources.in.path=" + file});
  // The payloads are the records re-encoded as JSON: equal as JSON, line by line.
  std::istringstream got(ReadFile(file)), expected(want);
  for (std::string g, e; std::getline(expected, e);) {
    ASSERT_TRUE(std::getline(got, g)) << "fewer records than rejected";
    EXPECT_EQ(json::parse(g), json::parse(e));
  }
  EXPECT_TRUE(staged->appended_to.empty());

  // Nothing matching: NotFound; a source the latest version no longer has: FailedPrecondition.
  DeadLetterFilter none;
  none.run = "r-9999";
  EXPECT_EQ(store.StageReplay(plan, none, "replay-2").status().code(), StatusCode::kNotFound);
  const engine::Plan renamed = CompileIn(BatchSpec("orders_in"), work_);
  auto gone = store.StageReplay(renamed, rule, "replay-3");
  EXPECT_EQ(gone.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(gone.status().message().find("no longer has"), std::string::npos) << gone.status().ToString();
}

TEST_F(DeadLetterStoreTest, AFileNamedBySpecAndALakeTable) {
  fs::create_directories(work_);
  // dead_letter.path: every batch run writes that file, and the store reads it.
  const engine::Plan named = CompileIn(BatchSpec("in", "  dead_letter: {kind: files, path: rejects/orders.ndjson}\n"),
                                       work_);
  const auto rejected = RunBatch(named, Input(10, 4), "r-0001");
  const DeadLetterStore store(Workdir(work_), named);
  EXPECT_EQ(store.BatchRunFile("r-0001"), work_ + "/rejects/orders.ndjson");
  const auto all = ListAll(store, {}, 3);
  ASSERT_EQ(all.size(), rejected.size());
  for (const auto& d : all) EXPECT_EQ(d.id.run, "orders") << "the file's name";

  // kind: lake: read them from the table.
  const engine::Plan lake = CompileIn(BatchSpec("in", "  dead_letter: {kind: lake, table: quarantine.orders}\n"),
                                      work_);
  const DeadLetterStore in_lake(Workdir(work_), lake);
  auto listed = in_lake.List({}, std::nullopt, 10);
  EXPECT_EQ(listed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(listed.status().message().find("sluice lake read quarantine.orders"), std::string::npos)
      << listed.status().ToString();
}

TEST_F(DeadLetterStoreTest, AStreamsEpochFilesAndItsReplayIntoTheTopic) {
  fs::create_directories(work_);
  const std::vector<InputLine> lines = Input(30, 5);
  {
    auto topic = log::Log::Open(work_ + "/log", "orders_in", log::LogOptions{.partitions = 1});
    ASSERT_TRUE(topic.ok()) << topic.status().ToString();
    std::vector<std::string_view> views;
    for (const auto& l : lines) views.push_back(l.text);
    ASSERT_TRUE((*topic)->Append(0, views).ok());
    ASSERT_TRUE((*topic)->Close().ok());
  }
  const engine::Plan plan = CompileIn(
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: orders_stream, namespace: shop}\nspec:\n  mode: stream\n"
      "  sources:\n    ev: {kind: log, topic: orders_in, schema: {fields: [{name: id, type: int64}, {name: amount, "
      "type: int64}]}}\n"
      "  transforms:\n    pos: {kind: validate, inputs: [ev], rules: [{name: non_negative, check: \"amount >= 0\"}]}\n"
      "  sinks:\n    out: {kind: log, inputs: [pos], topic: orders_out}\n",
      work_);
  engine::StreamOptions o;
  o.workdir = work_;
  o.until_idle = true;
  o.epoch_records = 10;  // three epochs
  o.epoch_interval_ms = 600'000;
  o.source_threads = 1;
  const engine::StreamResult r = engine::RunStream(plan, o);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();

  const DeadLetterStore store(Workdir(work_), plan);
  int64_t rejected = 0;
  for (const auto& l : lines) rejected += l.error_class.empty() ? 0 : 1;
  const auto all = ListAll(store, {}, 4);
  ASSERT_EQ(static_cast<int64_t>(all.size()), rejected);
  std::set<std::string> epochs;
  for (const auto& d : all) epochs.insert(d.id.run);
  EXPECT_GT(epochs.size(), 1u) << "the dead letters of several epochs";
  for (const auto& e : epochs) EXPECT_TRUE(e.starts_with("epoch-")) << e;

  // Replay: the matching records are appended to the topic the source reads, in order.
  DeadLetterFilter rule;
  rule.error_class = "rule_failed";
  auto staged = store.StageReplay(plan, rule, "unused");
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_EQ(staged->appended_to, std::vector<std::string>{"log:orders_in"});
  std::vector<std::string> want;
  for (const auto& l : lines) {
    if (l.error_class == "rule_failed") want.push_back(l.text);
  }
  EXPECT_EQ(staged->count, static_cast<int64_t>(want.size()));
  auto topic = log::Log::OpenShared(work_ + "/log", "orders_in", log::LogOptions{.partitions = 0});
  ASSERT_TRUE(topic.ok()) << topic.status().ToString();
  ASSERT_EQ((*topic)->EndOffset(0), static_cast<int64_t>(lines.size() + want.size()));
  auto appended = (*topic)->Read(0, static_cast<int64_t>(lines.size()), want.size());
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  ASSERT_EQ(appended->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(json::parse((*appended)[i].value), json::parse(want[i])) << i;

  // Malformed records came from the stream's source too: they replay into the same topic.
  DeadLetterFilter malformed;
  malformed.error_class = "malformed_json";
  auto again = store.StageReplay(plan, malformed, "unused");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->count, rejected - static_cast<int64_t>(want.size()));
}

}  // namespace
}  // namespace sluice::testing
