// Sinks `log` and `kafka`: append records (as JSON) to a topic of the embedded log or of Kafka,
// exactly once per epoch.
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/stream_io.h"

namespace sluice::engine {
namespace {

// The `StreamSinkConfig` settings with this kind's behaviour.
struct StreamSinkNode final : NodeConfigFor<StreamSinkConfig> {
  nlohmann::ordered_json Describe() const override;
  std::unique_ptr<Operator> MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx, NodeCounters& counters,
                                         Progress* progress) const override;
  std::vector<DatasetRef> Datasets() const override;
};

}  // namespace
}  // namespace sluice::engine

namespace sluice::components {
namespace {

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  auto cfg = std::make_shared<engine::StreamSinkNode>();
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

namespace sluice::engine {
namespace {

nlohmann::ordered_json StreamSinkNode::Describe() const {
  nlohmann::ordered_json j = {{"topic", topic}, {"key_column", key_column}};
  if (kind == StreamSourceConfig::Kind::kKafka) j["brokers"] = brokers;
  else j["log"] = log_root;
  return j;
}

std::vector<DatasetRef> StreamSinkNode::Datasets() const {
  return {{kind == StreamSourceConfig::Kind::kKafka ? "kafka" : "log", topic, true}};
}

std::unique_ptr<Operator> StreamSinkNode::MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx,
                                                         NodeCounters& counters, Progress*) const {
  return MakeStreamSink(node, index, ctx, counters);
}

}  // namespace
}  // namespace sluice::engine
