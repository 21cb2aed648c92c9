// sluice log produce | consume | ls — the embedded durable log from the command line.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "sluice/base/hash.h"
#include "sluice/io/workdir.h"
#include "sluice/log/log.h"
#include "verbs.h"

namespace sluice::cli {
namespace {

using nlohmann::ordered_json;

struct LogOptions {
  std::string topic;
  std::string workdir = ".sluice";
  int partitions = 0;  // produce: for a new topic (0: keep an existing topic's count, 1 for a new one)
  std::string key;     // produce: JSON field whose value picks the partition
  int partition = -1;  // consume: one partition, or all
  int64_t from = 0;    // consume: first offset
  int64_t limit = -1;  // consume: at most this many records
  OutputFormat output = OutputFormat::kTable;
};

std::string Root(const LogOptions& o) { return Workdir(o.workdir).Log().string(); }

// Reads NDJSON from stdin and appends it in batches; with --key, a record goes to the partition
// of its key's hash (so one key stays in order), else partitions take turns per batch.
int Produce(const LogOptions& o) {
  log::LogOptions lo;
  lo.partitions = o.partitions;  // 0: the existing topic's count
  if (lo.partitions == 0) {
    auto topics = log::Log::ListTopics(Root(o));
    bool exists = topics.ok() && std::find(topics->begin(), topics->end(), o.topic) != topics->end();
    if (!exists) lo.partitions = 1;
  }
  auto opened = log::Log::Open(Root(o), o.topic, lo);
  if (!opened.ok()) return Fail(opened.status());
  auto& lg = **opened;
  const int parts = lg.partitions();
  std::vector<std::vector<std::string>> pending(static_cast<size_t>(parts));
  int64_t produced = 0, skipped = 0, next = 0;
  auto flush = [&](int p) -> Status {
    auto& batch = pending[static_cast<size_t>(p)];
    if (batch.empty()) return Status::OK();
    std::vector<std::string_view> views(batch.begin(), batch.end());
    auto r = lg.Append(p, views);
    if (!r.ok()) return r.status();
    produced += static_cast<int64_t>(batch.size());
    batch.clear();
    return Status::OK();
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      ++skipped;
      continue;
    }
    int p;
    if (!o.key.empty()) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      std::string key = j.is_object() && j.contains(o.key) ? j[o.key].dump() : std::string();
      p = static_cast<int>(Hash64(key) % static_cast<uint64_t>(parts));
    } else {
      p = static_cast<int>(next % parts);
    }
    pending[static_cast<size_t>(p)].push_back(std::move(line));
    if (pending[static_cast<size_t>(p)].size() >= 1000) {
      if (Status st = flush(p); !st.ok()) return Fail(st);
      if (o.key.empty()) ++next;
    }
  }
  for (int p = 0; p < parts; ++p) {
    if (Status st = flush(p); !st.ok()) return Fail(st);
  }
  if (Status st = lg.Close(); !st.ok()) return Fail(st);
  ordered_json j = {{"topic", o.topic}, {"partitions", parts}, {"produced", produced}, {"blank_lines_skipped", skipped}};
  PrintDocument(j.dump(2), o.output, fmt::format("{}: appended {} records to {} partition(s)\n", o.topic, produced, parts));
  return kExitOk;
}

// Opens an existing topic (never creates one).
Result<std::unique_ptr<log::Log>> OpenExisting(const LogOptions& o, const std::string& topic) {
  SLUICE_ASSIGN_OR_RETURN(auto topics, log::Log::ListTopics(Root(o)));
  if (std::find(topics.begin(), topics.end(), topic) == topics.end()) {
    return Status::NotFound("topic '{}' does not exist under {} (see `sluice log ls`)", topic, Root(o));
  }
  log::LogOptions lo;
  lo.partitions = 0;
  return log::Log::Open(Root(o), topic, lo);
}

int Consume(const LogOptions& o) {
  auto opened = OpenExisting(o, o.topic);
  if (!opened.ok()) return Fail(opened.status());
  auto& lg = **opened;
  int64_t printed = 0;
  for (int p = 0; p < lg.partitions(); ++p) {
    if (o.partition >= 0 && p != o.partition) continue;
    int64_t offset = o.from;
    while (o.limit < 0 || printed < o.limit) {
      size_t want = o.limit < 0 ? 10000 : static_cast<size_t>(std::min<int64_t>(10000, o.limit - printed));
      auto records = lg.Read(p, offset, want);
      if (!records.ok()) return Fail(records.status());
      if (records->empty()) break;
      for (const auto& r : *records) {
        if (o.output == OutputFormat::kJson) {
          std::cout << ordered_json{{"partition", p}, {"offset", r.offset}, {"value", r.value}}.dump() << "\n";
        } else {
          std::cout << r.value << "\n";
        }
        ++printed;
        offset = r.offset + 1;
      }
    }
  }
  return kExitOk;
}

int Ls(const LogOptions& o) {
  if (!std::filesystem::exists(Root(o))) {
    PrintDocument("[]", o.output, "no topics under " + Root(o) + "\n");
    return kExitOk;
  }
  auto topics = log::Log::ListTopics(Root(o));
  if (!topics.ok()) return Fail(topics.status());
  ordered_json arr = ordered_json::array();
  std::string text = topics->empty() ? "no topics under " + Root(o) + "\n" : "";
  for (const auto& t : *topics) {
    auto opened = OpenExisting(o, t);
    if (!opened.ok()) return Fail(opened.status());
    ordered_json ends = ordered_json::array();
    int64_t total = 0;
    for (int p = 0; p < (*opened)->partitions(); ++p) {
      ends.push_back((*opened)->EndOffset(p));
      total += (*opened)->EndOffset(p);
    }
    arr.push_back({{"topic", t}, {"partitions", (*opened)->partitions()}, {"end_offsets", ends}, {"records", total}});
    text += fmt::format("{:<24} partitions {:<4} records {}\n", t, (*opened)->partitions(), total);
  }
  PrintDocument(arr.dump(2), o.output, text);
  return kExitOk;
}

}  // namespace

void AddLogVerbs(Command& app) {
  Command logcmd = app.Subcommand("log", "The embedded durable log (the default stream transport) under <workdir>/log");
  logcmd.RequireSubcommand();
  auto produce_opts = std::make_shared<LogOptions>();
  Command produce = logcmd.Subcommand("produce",
                                      "Append NDJSON records from stdin to TOPIC (durable before it returns)");
  produce.Option("topic", produce_opts->topic, "Topic name").Required();
  produce.Option("--partitions", produce_opts->partitions, "Partitions of a new topic (default 1)");
  produce.Option("--key", produce_opts->key, "JSON field whose value picks the partition (keeps a key in order)");
  auto consume_opts = std::make_shared<LogOptions>();
  Command consume = logcmd.Subcommand("consume", "Print the records of TOPIC from an offset");
  consume.Option("topic", consume_opts->topic, "Topic name").Required();
  consume.Option("--partition", consume_opts->partition, "Only this partition (default all)");
  consume.Option("--from", consume_opts->from, "First offset (default 0)");
  consume.Option("--limit", consume_opts->limit, "At most this many records");
  auto ls_opts = std::make_shared<LogOptions>();
  Command ls = logcmd.Subcommand("ls", "List topics with their partitions and end offsets");
  struct LogCommand {
    Command& cmd;
    std::shared_ptr<LogOptions> o;
    int (*run)(const LogOptions&);
  };
  for (LogCommand c : {LogCommand{produce, produce_opts, &Produce}, LogCommand{consume, consume_opts, &Consume},
                       LogCommand{ls, ls_opts, &Ls}}) {
    c.cmd.Option("--workdir", c.o->workdir, "Working directory whose log/ holds the topics").DefaultVal(".sluice");
    c.cmd.Output(c.o->output, "Output format: table, json (consume: NDJSON with offsets) or yaml");
    c.cmd.Runs([o = c.o, run = c.run] { return run(*o); });
  }
}

}  // namespace sluice::cli
