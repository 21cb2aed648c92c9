// Source `lake`: a snapshot of a Delta table of the lake, or what was added after a version.
#include <nlohmann/json.hpp>

#include "sluice/catalog/catalog.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/lake_operators.h"

namespace sluice::components {
namespace {

// The `LakeSourceConfig` settings with this kind's behaviour.
struct LakeSourceNode final : OperatorConfig<engine::LakeSourceConfig, engine::LakeSource> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json j = {{"table", table}, {"path", table_dir}};
    if (!table_ns.empty()) j["namespace"] = table_ns;
    if (version) j["version"] = *version;
    if (since_version) j["since_version"] = *since_version;
    return j;
  }
  std::vector<engine::DatasetRef> Datasets() const override { return {{"lake", table, false, table_ns}}; }
  bool RunsInStreams() const override { return false; }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a lake source", {"kind", "table", "version", "since_version", "schema", "event_time", "description"});
  auto cfg = std::make_shared<LakeSourceNode>();
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
