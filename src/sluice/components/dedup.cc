// Transform `dedup`: drops records whose key was seen before, within a time span (event time
// when known, else processing time), or for the life of the pipeline.
#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/window_operators.h"

namespace sluice::components {
namespace {

// The `DedupConfig` settings with this kind's behaviour.
struct DedupNode final : OperatorConfig<engine::DedupConfig, engine::DedupOperator> {
  nlohmann::ordered_json Describe() const override {
    return {{"key", key},
            {"within", within_us ? FormatDuration(within_us) : "forever"},
            {"time", time_column >= 0 ? "event time" : "processing time"}};
  }
  std::string_view State() const override {
    return "keys seen within 'within' (in memory, snapshotted at checkpoints)";
  }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  ctx.CheckKeys(n, name, "a dedup transform", {"kind", "inputs", "key", "within", "time", "description"});
  auto cfg = std::make_shared<DedupNode>();
  if (!n["key"].IsDefined()) {
    ctx.Error(n, name, "missing required key 'key': the column(s) that identify a record, e.g. key: event_id");
    return;
  }
  auto key = ctx.Columns(n["key"], name, "key", in);
  if (!key) return;
  cfg->key = *key;
  cfg->within_us = ctx.Duration(n, "within", name).value_or(0);
  std::optional<std::string> time = ctx.Str(n, "time", name);
  if (!time) time = ctx.UpstreamEventTime(node);
  if (time) {
    auto i = in.IndexOf(*time);
    if (!i || in.field(*i).type.id != TypeId::kTimestamp) {
      ctx.Error(n["time"].IsDefined() ? n["time"] : n, name,
                fmt::format("time column '{}' must be a timestamp column of the input{}", *time,
                            DidYouMeanSuffix(*time, in.names())));
      return;
    }
    cfg->time_column = static_cast<int>(*i);
  }
  node.outputs.push_back({"", node.input_schema});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterDedup(Registry& r) { r.Add(engine::Role::kTransform, "dedup", Compile); }

}  // namespace sluice::components
