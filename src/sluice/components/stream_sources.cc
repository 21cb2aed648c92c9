// Sources `log`, `kafka` and `http`: unbounded streams of JSON records, one per message, read by
// the stream runner. An `http` source reads the topic the ingest API appends its stream to.
#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/stream_io.h"

namespace sluice::components {
namespace {

// The `StreamSourceConfig` settings with this kind's behaviour: the log or Kafka reader (an
// `http` source reads the log or Kafka topic the ingest API appends to).
struct StreamSourceNode final : engine::NodeConfigFor<engine::StreamSourceConfig> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json j = {{"topic", topic}, {"start", start_at_end ? "latest" : "earliest"}, {"raw", keep_raw}};
    if (kind == Kind::kKafka) {
      j["brokers"] = brokers;
      j["group"] = group;
    } else {
      j["log"] = log_root;
    }
    return j;
  }
  std::vector<engine::DatasetRef> Datasets() const override {
    return {{kind == Kind::kKafka ? "kafka" : "log", topic, false}};
  }
  std::string_view State() const override { return "partition offsets and event-time progress (checkpointed)"; }
  std::unique_ptr<engine::Operator> MakeOperator(const engine::PlanNode& node, size_t index, engine::ExecContext& ctx,
                                                 engine::NodeCounters& counters, engine::Progress*) const override {
    if (kind == Kind::kKafka) return engine::MakeKafkaSource(node, index, ctx, counters);
    return engine::MakeLogSource(node, index, ctx, counters);
  }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const std::string pipeline = ctx.plan().StateKey();
  auto cfg = std::make_shared<StreamSourceNode>();
  if (c.kind == "kafka") {
    ctx.CheckKeys(n, name, "a kafka source",
                  {"kind", "topic", "brokers", "group", "format", "schema", "raw", "event_time", "start", "description"});
    cfg->kind = engine::StreamSourceConfig::Kind::kKafka;
    cfg->brokers = ctx.KafkaBrokers(n, name, "; `sluice dev kafka` starts a development broker");
    if (auto g = ctx.Str(n, "group", name)) cfg->group = *g;
    else cfg->group = pipeline.empty() ? "sluice" : "sluice." + pipeline;
  } else if (c.kind == "http") {
    // The ingest API appends each accepted request durably to the log topic of its stream; the
    // pipeline reads that topic like any log source.
    ctx.CheckKeys(n, name, "an http source", {"kind", "stream", "format", "schema", "raw", "event_time", "start", "description"});
    cfg->log_root = ctx.IngestLogRoot();
    if (!ctx.env().ingest_kafka_brokers.empty()) {
      cfg->kind = engine::StreamSourceConfig::Kind::kKafka;
      cfg->brokers = ctx.env().ingest_kafka_brokers;
      cfg->group = pipeline.empty() ? "sluice" : "sluice." + pipeline;
    }
    if (auto st = ctx.Str(n, "stream", name, true)) {
      if (!IsIdentifier(*st)) {
        ctx.Error(n["stream"], name, fmt::format("stream '{}' must be a name like orders ([a-z_][a-z0-9_]*)", *st));
      }
      cfg->topic = engine::IngestTopic(*st);
    }
  } else {
    ctx.CheckKeys(n, name, "a log source", {"kind", "topic", "format", "schema", "raw", "event_time", "start", "description"});
    cfg->log_root = ctx.LogRoot();
  }
  if (c.kind != "http") {
    if (auto t = ctx.Str(n, "topic", name, true)) cfg->topic = *t;
  }
  ctx.ParseFormat(n, name, {"json"}, engine::FileFormat::kJson);
  cfg->keep_raw = ctx.Bool(n, "raw", name).value_or(false);
  if (auto st = ctx.Str(n, "start", name)) {
    if (*st == "latest") cfg->start_at_end = true;
    else if (*st != "earliest") ctx.Error(n["start"], name, fmt::format("start '{}' must be earliest or latest", *st));
  }
  if (ctx.plan().mode != engine::PlanMode::kStream) {
    ctx.Error(n["kind"], name,
              fmt::format("{} source is unbounded: it needs spec.mode: stream (run it with `sluice run "
                          "--until-idle` to stop once it has read everything)",
                          c.kind == "http" ? "an http" : "a " + c.kind));
  }
  SchemaPtr schema = ctx.SourceSchema(n, name, cfg->keep_raw, node);
  if (!schema) return;
  node.outputs.push_back({"", schema});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterStreamSources(Registry& r) {
  r.Add(engine::Role::kSource, "log", Compile);
  r.Add(engine::Role::kSource, "kafka", Compile);
  r.Add(engine::Role::kSource, "http", Compile);
}

}  // namespace sluice::components
