// Source `lake`: a snapshot of a Delta table of the lake, or what was added after a version.
#include <nlohmann/json.hpp>

#include "sluice/catalog/catalog.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/lake_operators.h"

namespace sluice::engine {
namespace {

// The `LakeSourceConfig` settings with this kind's behaviour.
struct LakeSourceNode final : NodeConfigFor<LakeSourceConfig> {
  nlohmann::ordered_json Describe() const override;
  std::unique_ptr<Operator> MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx, NodeCounters& counters,
                                         Progress* progress) const override;
  std::vector<DatasetRef> Datasets() const override;
  bool RunsInStreams() const override { return false; }
};

}  // namespace
}  // namespace sluice::engine

namespace sluice::components {
namespace {

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a lake source", {"kind", "table", "version", "since_version", "schema", "event_time", "description"});
  auto cfg = std::make_shared<engine::LakeSourceNode>();
  auto table = ctx.LakeTable(n, name, SpecContext::Access::kRead);
  if (!table) return;
  cfg->table = table->table;
  cfg->table_ns = table->ns;
  cfg->table_dir = table->dir;
  cfg->version = ctx.Version(n, "version", name);
  cfg->since_version = ctx.Version(n, "since_version", name);
  if (cfg->version && cfg->since_version) {
    ctx.Error(n, name, "use either 'version' (a snapshot) or 'since_version' (what was added after it), not both");
  }
  SchemaPtr schema;
  if (n["schema"].IsDefined()) {
    schema = ctx.ParseSchema(n["schema"], name);
  } else {
    auto found = catalog::LakeTableSchema(cfg->table_dir);
    if (!found.ok()) {
      ctx.Error(n["table"], name,
                fmt::format("table '{}' cannot be read at {}: {}; run the pipeline that writes it first, or declare "
                            "'schema'",
                            cfg->table, cfg->table_dir, found.status().message()));
    } else {
      schema = *found;
    }
  }
  if (!schema) return;
  node.outputs.push_back({"", schema});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterLakeSource(Registry& r) { r.Add(engine::Role::kSource, "lake", Compile); }

}  // namespace sluice::components

namespace sluice::engine {
namespace {

nlohmann::ordered_json LakeSourceNode::Describe() const {
  nlohmann::ordered_json j = {{"table", table}, {"path", table_dir}};
  if (!table_ns.empty()) j["namespace"] = table_ns;
  if (version) j["version"] = *version;
  if (since_version) j["since_version"] = *since_version;
  return j;
}

std::vector<DatasetRef> LakeSourceNode::Datasets() const { return {{"lake", table, false, table_ns}}; }

std::unique_ptr<Operator> LakeSourceNode::MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx,
                                                         NodeCounters& counters, Progress*) const {
  return std::make_unique<LakeSource>(node, index, ctx, counters);
}

}  // namespace
}  // namespace sluice::engine
