// Sinks `log` and `kafka`: append records (as JSON) to a topic of the embedded log or of Kafka,
// exactly once per epoch.
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/stream_io.h"

namespace sluice::components {
namespace {

// The `StreamSinkConfig` settings with this kind's behaviour: the log or Kafka writer.
struct StreamSinkNode final : engine::NodeConfigFor<engine::StreamSinkConfig> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json j = {{"topic", topic}, {"key_column", key_column}};
    if (kind == engine::StreamSourceConfig::Kind::kKafka) {
      j["brokers"] = brokers;
    } else {
      j["log"] = log_root;
    }
    return j;
  }
  std::vector<engine::DatasetRef> Datasets() const override {
    return {{kind == engine::StreamSourceConfig::Kind::kKafka ? "kafka" : "log", topic, true}};
  }
  std::unique_ptr<engine::Operator> MakeOperator(const engine::PlanNode& node, size_t index, engine::ExecContext& ctx,
                                                 engine::NodeCounters& counters, engine::Progress*) const override {
    return engine::MakeStreamSink(node, index, ctx, counters);
  }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  auto cfg = std::make_shared<StreamSinkNode>();
  if (c.kind == "kafka") {
    ctx.CheckKeys(n, name, "a kafka sink", {"kind", "inputs", "topic", "brokers", "key", "format", "description"});
    cfg->kind = engine::StreamSourceConfig::Kind::kKafka;
    cfg->brokers = ctx.KafkaBrokers(n, name, "");
  } else {
    ctx.CheckKeys(n, name, "a log sink", {"kind", "inputs", "topic", "key", "partitions", "format", "description"});
    cfg->log_root = ctx.LogRoot();
    if (YAML::Node p = n["partitions"]; p.IsDefined()) {
      if (!p.IsScalar() || !YAML::convert<int>::decode(p, cfg->partitions) || cfg->partitions < 1 ||
          cfg->partitions > 1024) {
        ctx.Error(p, name, "'partitions' must be a whole number from 1 to 1024");
      }
    }
  }
  ctx.ParseFormat(n, name, {"json"}, engine::FileFormat::kJson);
  if (auto t = ctx.Str(n, "topic", name, true)) cfg->topic = *t;
  if (YAML::Node k = n["key"]; k.IsDefined()) {
    auto cols = ctx.Columns(k, name, "key", *node.input_schema);
    if (cols && cols->size() != 1) ctx.Error(k, name, "'key' names one column (its value picks the partition)");
    else if (cols) cfg->key_column = static_cast<int>((*cols)[0]);
  }
  if (ctx.plan().mode != engine::PlanMode::kStream) {
    ctx.Error(n["kind"], name, fmt::format("a {} sink needs spec.mode: stream", c.kind));
  }
  if (cfg->topic.empty()) return;
  node.config = std::move(cfg);
}

}  // namespace

void RegisterStreamSinks(Registry& r) {
  r.Add(engine::Role::kSink, "log", Compile);
  r.Add(engine::Role::kSink, "kafka", Compile);
}

}  // namespace sluice::components
