// validate, plan and run: a spec on this machine, without a server (run NAMESPACE/NAME hands over
// to the client verbs); dev kafka.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "client_common.h"
#include "sluice/base/strings.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/engine/exec/batch_runner.h"
#include "sluice/engine/exec/stream_runner.h"
#include "sluice/pipeline/compile.h"
#include "sluice/pipeline/plan_format.h"
#include "sluice/types/temporal.h"
#include "verbs.h"

namespace sluice::cli {
namespace {

using nlohmann::ordered_json;

struct SpecOptions {
  std::string file;
  std::string workdir = ".sluice";
  std::string lake_root;
  std::vector<std::string> sets;
  OutputFormat output = OutputFormat::kTable;
};

struct RunFlags {
  bool progress = false;
  bool quiet = false;
  std::string logical_time;  // ISO-8601; empty = now
  // Streams.
  bool until_idle = false;
  bool drain = false;
  int64_t epoch_records = 500000;
  int source_threads = 0;
  std::string epoch_interval = "1s";
  int64_t max_epochs = -1;
};

struct DevKafkaOptions {
  int brokers = 1;
  std::vector<std::string> topics;  // NAME or NAME:PARTITIONS
};

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

ordered_json CountersJson(const std::vector<std::pair<std::string, engine::NodeCounters>>& components) {
  ordered_json comps = ordered_json::object();
  for (const auto& [name, k] : components) {
    comps[name] = {{"in", k.in}, {"out", k.out}, {"dead_letter", k.dead_letter}, {"dropped", k.dropped}};
    if (k.warnings) comps[name]["warnings"] = k.warnings;
    if (k.late) comps[name]["late"] = k.late;
  }
  return comps;
}

std::string CountersTable(const std::vector<std::pair<std::string, engine::NodeCounters>>& components) {
  std::string table = fmt::format("  {:<24} {:>12} {:>12} {:>12} {:>12}\n", "component", "in", "out", "dead_letter", "dropped");
  for (const auto& [name, k] : components) {
    table += fmt::format("  {:<24} {:>12} {:>12} {:>12} {:>12}{}\n", name, k.in, k.out, k.dead_letter, k.dropped,
                         k.late ? fmt::format("   ({} late)", k.late) : "");
  }
  return table;
}

int RunStreamSpec(const SpecOptions& o, const RunFlags& flags, const engine::Plan& plan) {
  engine::StreamOptions so;
  so.workdir = o.workdir;
  so.until_idle = flags.until_idle;
  so.drain = flags.drain;
  so.max_epochs = flags.max_epochs;
  so.epoch_records = flags.epoch_records;
  so.source_threads = flags.source_threads;
  auto interval = ParseDurationMicros(flags.epoch_interval);
  if (!interval || *interval < 1000 || flags.epoch_records < 1 || flags.source_threads < 0 || flags.source_threads > 256) {
    return FailUsage(
        "--epoch-interval must be a duration of at least 1ms like 500ms or 2s, --epoch-records at least 1, "
        "and --source-threads between 1 and 256 (0: automatic)");
  }
  if (flags.drain && !flags.until_idle) {
    return FailUsage("--drain ends a stream's input for good and needs --until-idle (add it, or drop --drain)");
  }
  so.epoch_interval_ms = *interval / 1000;
  so.progress = flags.progress || (!flags.quiet && ::isatty(STDERR_FILENO));
  so.stop = &g_stop;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  engine::StreamResult r = engine::RunStream(plan, so);
  ordered_json j;
  j["pipeline"] = plan.pipeline;
  j["version"] = plan.version;
  j["mode"] = "stream";
  j["status"] = r.status.ok() ? (r.finished ? "finished" : "stopped") : "failed";
  if (!r.status.ok()) j["error"] = r.status.message();
  j["restored_epoch"] = r.restored_epoch;
  j["last_epoch"] = r.last_epoch;
  j["epochs"] = r.epochs;
  j["records"] = r.records;
  j["watermark"] = r.watermark == INT64_MIN ? ordered_json(nullptr)
                   : r.watermark == INT64_MAX ? ordered_json("end of input")
                                               : ordered_json(FormatTimestamp(r.watermark));
  j["components"] = CountersJson(r.components);
  j["duration_ms"] = r.duration_ms;
  std::string table;
  if (!flags.quiet || !r.status.ok()) {
    table = fmt::format("pipeline {} (stream): {} after {} epochs ({} records) in {} ms; last epoch {}{}\n\n", plan.pipeline,
                        r.status.ok() ? (r.finished ? "finished" : "stopped") : "FAILED", r.epochs, r.records,
                        r.duration_ms, r.last_epoch,
                        r.restored_epoch ? fmt::format(", resumed from checkpoint {}", r.restored_epoch) : "");
    table += "totals since the pipeline started:\n" + CountersTable(r.components);
  }
  if (o.output != OutputFormat::kTable || !flags.quiet || !r.status.ok()) PrintDocument(j.dump(2), o.output, table);
  if (r.status.ok()) return kExitOk;
  // The counts above are the result; why the stream stopped is the error.
  if (r.status.IsUserError()) return Fail(r.status);
  return Fail(Failure{.code = codes::kRunFailed, .message = r.status.message(), .exit_code = kExitFailure});
}

Result<engine::Plan> CompileSpec(const SpecOptions& o) {
  return pipeline::CompileFile(o.file, MakeCompileOptions(o.workdir, o.lake_root, o.sets));
}

int Validate(const SpecOptions& o) {
  auto plan = CompileSpec(o);
  if (!plan.ok()) return FailSpec(plan.status());
  // What only the server checks is part of the answer: in the document, and in table mode a
  // note on stderr.
  ordered_json needs_server = ordered_json::array();
  std::vector<std::string> names;
  for (const auto& check : pipeline::ServerOnlyChecks()) {
    needs_server.push_back({{"check", check.name}, {"what", check.what}});
    names.emplace_back(check.name);
  }
  ordered_json j = {{"file", o.file},
                    {"valid", true},
                    {"pipeline", plan->pipeline},
                    {"components", plan->nodes.size()},
                    {"needs_server", needs_server}};
  PrintDocument(j.dump(2), o.output,
                fmt::format("{}: valid (pipeline {}, {} components)\n", o.file, plan->pipeline, plan->nodes.size()));
  if (o.output == OutputFormat::kTable) {
    PrintNote(fmt::format("not checked without the server (sluice apply checks them): {}; see docs/cli.md",
                          Join(names, ", ")));
  }
  return kExitOk;
}

int Plan(const SpecOptions& o) {
  auto plan = CompileSpec(o);
  if (!plan.ok()) return FailSpec(plan.status());
  PrintDocument(pipeline::PlanToJson(*plan), o.output, pipeline::PlanToText(*plan));
  return kExitOk;
}

int Run(const SpecOptions& o, const RunFlags& flags) {
  auto plan = CompileSpec(o);
  if (!plan.ok()) return FailSpec(plan.status());
  if (plan->mode == engine::PlanMode::kStream) return RunStreamSpec(o, flags, *plan);
  engine::RunOptions ro;
  ro.workdir = o.workdir;
  if (!flags.logical_time.empty()) {
    auto t = ParseTimestamp(flags.logical_time);
    if (!t) {
      return FailUsage("--logical-time '" + flags.logical_time + "' is not an ISO-8601 time like 2026-11-01T00:00:00Z");
    }
    ro.logical_time_micros = *t;
  }
  ro.progress = flags.progress || (!flags.quiet && ::isatty(STDERR_FILENO));
  engine::RunResult r = engine::RunBatch(*plan, ro);

  ordered_json comps = CountersJson(r.components);
  ordered_json j;
  j["pipeline"] = plan->pipeline;
  j["version"] = plan->version;
  j["run_id"] = r.run_id;
  j["logical_time"] = FormatTimestamp(r.logical_time_micros);
  j["status"] = r.status.ok() ? "succeeded" : "failed";
  if (!r.status.ok()) j["error"] = r.status.message();
  j["components"] = comps;
  j["dead_letters"] = r.dead_letters;
  j["dead_letter_path"] = r.dead_letter_path.empty() ? ordered_json(nullptr) : ordered_json(r.dead_letter_path);
  j["dead_letter_table"] = r.dead_letter_table.empty() ? ordered_json(nullptr) : ordered_json(r.dead_letter_table);
  j["duration_ms"] = r.duration_ms;

  std::string table;
  if (!flags.quiet || !r.status.ok()) {
    table = fmt::format("pipeline {} run {}: {} in {} ms\n\n", plan->pipeline, r.run_id,
                        r.status.ok() ? "succeeded" : "FAILED", r.duration_ms);
    table += CountersTable(r.components);
    if (!r.dead_letter_path.empty()) table += fmt::format("\n{} dead letters in {}\n", r.dead_letters, r.dead_letter_path);
    if (!r.dead_letter_table.empty()) {
      table += fmt::format("\n{} dead letters in lake table {} (sluice lake read {})\n", r.dead_letters,
                           r.dead_letter_table, r.dead_letter_table);
    }
  }
  if (o.output != OutputFormat::kTable || !flags.quiet || !r.status.ok()) PrintDocument(j.dump(2), o.output, table);
  if (r.status.ok()) return kExitOk;
  // The counts above are the result; why the run stopped is the error. The spec was valid, so
  // whatever stopped it (missing input, a rule with on_fail: fail, I/O) is a runtime failure.
  Failure failure{.code = codes::kRunFailed, .message = r.status.message(), .exit_code = kExitFailure};
  if (r.status.code() == StatusCode::kIoError) {
    // Sinks before the failing one may have committed: the same logical time skips them.
    failure.hint = fmt::format(
        "Once the cause is fixed (free disk space, repair the device), finish this run by running it again with "
        "--logical-time {}: sinks that committed it skip it (at another time they would write their rows again; "
        "docs/lake.md#on-an-io-error-or-a-full-disk)",
        FormatTimestamp(r.logical_time_micros));
  }
  return Fail(failure);
}

int DevKafka(const DevKafkaOptions& o) {
  std::vector<std::pair<std::string, int>> topics;
  for (const auto& t : o.topics) {
    auto colon = t.find(':');
    std::string name = t.substr(0, colon);
    int partitions = 1;
    if (colon != std::string::npos) {
      try {
        partitions = std::stoi(t.substr(colon + 1));
      } catch (...) {
        partitions = 0;
      }
    }
    if (name.empty() || partitions < 1) {
      return FailUsage("--topic '" + t + "' must be NAME or NAME:PARTITIONS, e.g. orders:8");
    }
    topics.emplace_back(name, partitions);
  }
  if (o.brokers < 1 || o.brokers > 16) {
    return FailUsage("--brokers must be from 1 to 16");
  }
  Status st = kafka::RunDevBroker(o.brokers, topics, std::cin, std::cout);
  if (!st.ok()) return Fail(st);
  return kExitOk;
}

void AddSpecFlags(Command& cmd, SpecOptions& o, bool file_required) {
  cmd.Option("-f,--file", o.file, "Pipeline spec (YAML)").Required(file_required).ExistingFile();
  cmd.Option("--workdir", o.workdir, "Where runs keep their lake, warehouse, state and dead letters")
      .DefaultVal(".sluice");
  cmd.Option("--lake-root", o.lake_root, "Lake root (default <workdir>/lake)");
  cmd.Option("--set", o.sets, "Override a spec value: --set spec.sources.raw.path=data/*.json (repeatable)")
      .MayHoldPassword("reference ${env.NAME} or an environment's ${secret.NAME} in the spec instead");
  cmd.Output(o.output);
}

// run: -f SPEC runs here; NAMESPACE/NAME queues a run on the server.
struct RunCommand {
  SpecOptions spec;
  RunFlags flags;
  std::string remote_pipeline;
  std::optional<std::string> remote_server;
  std::optional<std::string> remote_token_file;
  int64_t remote_version = 0;
  bool remote_wait = false;
};

int RunCommandLine(const RunCommand& r) {
  if (r.spec.file.empty() == r.remote_pipeline.empty()) {
    return FailUsage("run needs either -f SPEC (run locally) or NAMESPACE/NAME (queue a run on the server)");
  }
  if (!r.spec.file.empty()) return Run(r.spec, r.flags);
  ClientCommon common;
  common.server = r.remote_server;
  common.token_file = r.remote_token_file;
  common.output = r.spec.output;
  TriggerOptions trigger;
  trigger.pipeline = r.remote_pipeline;
  trigger.wait = r.remote_wait;
  trigger.version = r.remote_version;
  trigger.logical_time = r.flags.logical_time;
  return TriggerRun(common, trigger);
}

}  // namespace

void AddRunVerbs(Command& app) {
  auto validate_opts = std::make_shared<SpecOptions>();
  Command validate = app.Subcommand("validate", "Check a spec: keys, types, expressions, inputs. Exit 0 if valid, 2 "
                                                "with FILE:LINE: COMPONENT: message per problem");
  AddSpecFlags(validate, *validate_opts, true);
  validate.Runs([validate_opts] { return Validate(*validate_opts); });

  auto plan_opts = std::make_shared<SpecOptions>();
  Command plan = app.Subcommand(
      "plan", "Compile a spec and print its plan: the DAG, the schema on every edge, state per operator");
  AddSpecFlags(plan, *plan_opts, true);
  plan.Runs([plan_opts] { return Plan(*plan_opts); });

  auto r = std::make_shared<RunCommand>();
  Command run = app.Subcommand("run", "Run a spec locally, without a server (run -f SPEC): prints per-component counts "
                                      "(in, out, dead_letter, dropped). "
                                      "Or queue a run of a pipeline on the server (run NAMESPACE/NAME [--wait])");
  AddSpecFlags(run, r->spec, false);
  run.Option("pipeline", r->remote_pipeline, "NAMESPACE/NAME of a pipeline on the server (instead of -f)");
  run.Option("--server", r->remote_server, "Server URL for run NAMESPACE/NAME");
  run.Option("--token-file", r->remote_token_file,
             "run NAMESPACE/NAME: file holding the bearer token (default: $SLUICE_TOKEN or the client config)");
  run.Option("--version", r->remote_version, "run NAMESPACE/NAME: this version (default: the latest)");
  run.Flag("--wait", r->remote_wait, "run NAMESPACE/NAME: wait until the run ends; exit 1 unless it succeeded");
  run.Flag("--progress", r->flags.progress, "Print progress to stderr every 2 s (default when stderr is a terminal)");
  run.Flag("-q,--quiet", r->flags.quiet, "Print nothing on success");
  run.Option("--logical-time", r->flags.logical_time,
             "The time this run stands for (ISO-8601, e.g. 2026-11-01T00:00:00Z): now(), warehouse commits and "
             "SCD2 versions use it. Default: when the run starts");
  run.Flag("--until-idle", r->flags.until_idle,
           "Stream specs: stop once every source has been read to its end. Windows the watermark has not passed "
           "stay open in the checkpoint for the next run. Without it a stream runs until SIGTERM/SIGINT, which "
           "finishes the current epoch and stops");
  run.Flag("--drain", r->flags.drain,
           "Stream specs, with --until-idle: the input has ended for good; the last epoch closes every window and "
           "records read by a later run are late");
  run.Option("--epoch-records", r->flags.epoch_records, "Stream specs: records per epoch at most (default 500000)");
  run.Option("--epoch-interval", r->flags.epoch_interval,
             "Stream specs: time per epoch at most, e.g. 1s or 500ms (default 1s)");
  run.Option("--max-epochs", r->flags.max_epochs, "Stream specs: stop after this many epochs");
  run.Option("--source-threads", r->flags.source_threads,
             "Stream specs: threads that read and decode the sources, each a group of partitions "
             "(default: one per core but one, at least one)");
  run.Runs([r] { return RunCommandLine(*r); });

  auto dev_kafka_opts = std::make_shared<DevKafkaOptions>();
  Command dev = app.Subcommand("dev", "Development helpers for laptops and tests");
  dev.RequireSubcommand();
  Command dev_kafka = dev.Subcommand(
      "kafka",
      "Start an IN-MEMORY development Kafka broker (librdkafka's mock cluster) on 127.0.0.1 and print its bootstrap "
      "servers. Data is lost when it stops. Commands on stdin inject faults: topic NAME N, down ID, up ID, rtt ID MS, "
      "errors API ERR..., help, quit");
  dev_kafka.Option("--brokers", dev_kafka_opts->brokers, "Number of brokers (default 1)").DefaultVal(1);
  dev_kafka.Option("--topic", dev_kafka_opts->topics, "Create a topic: NAME or NAME:PARTITIONS (repeatable)");
  dev_kafka.Runs([dev_kafka_opts] { return DevKafka(*dev_kafka_opts); });
}

}  // namespace sluice::cli
