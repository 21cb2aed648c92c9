// Sink `warehouse`: writes to a warehouse table (SQLite or PostgreSQL) in one transaction per run
// or epoch, with its commit row: append, upsert or scd2.
#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/base/table_name.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/warehouse_operators.h"

namespace sluice::components {
namespace {

// The `WarehouseSinkConfig` settings with this kind's behaviour.
struct WarehouseSinkNode final : OperatorConfig<engine::WarehouseSinkConfig, engine::WarehouseSink> {
  nlohmann::ordered_json Describe() const override {
    return {{"table", schema + "." + table}, {"mode", mode}, {"key", key}, {"warehouse", url}};
  }
  std::vector<engine::DatasetRef> Datasets() const override { return {{"warehouse", spec_schema + "." + table, true}}; }
  // The schema as the spec names it (`schema` is its name in the warehouse, which differs in a
  // shared PostgreSQL warehouse): lineage knows the table by it.
  std::string spec_schema;
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a warehouse sink", {"kind", "inputs", "table", "mode", "key", "description"});
  auto cfg = std::make_shared<WarehouseSinkNode>();
  cfg->url = ctx.WarehouseUrl();
  auto table = ctx.Str(n, "table", name, true);
  if (!table) return;
  auto parsed = TableName::Parse(*table);
  if (!parsed.ok()) {
    ctx.Error(n["table"], name,
              fmt::format("table '{}' must be schema.table, each matching ^[a-z_][a-z0-9_]{{0,62}}$ (e.g. "
                          "silver.fact_orders)",
                          *table));
    return;
  }
  cfg->spec_schema = parsed->schema_or_layer;
  auto schema = ctx.WarehouseSchema(n["table"], name, parsed->schema_or_layer);
  if (!schema) return;
  cfg->schema = *schema;
  cfg->table = parsed->name;
  static const std::vector<std::string> kModes = {"append", "upsert", "scd2"};
  cfg->mode = ctx.Str(n, "mode", name).value_or("append");
  if (std::find(kModes.begin(), kModes.end(), cfg->mode) == kModes.end()) {
    ctx.Error(n["mode"], name,
              fmt::format("mode '{}' must be append, upsert or scd2{}", cfg->mode, DidYouMeanSuffix(cfg->mode, kModes)));
    return;
  }
  if (n["key"].IsDefined()) {
    auto k = ctx.Columns(n["key"], name, "key", *node.input_schema);
    if (!k) return;
    for (size_t i : *k) cfg->key.push_back(node.input_schema->field(i).name);
  }
  if (cfg->mode != "append" && cfg->key.empty()) {
    ctx.Error(n, name, fmt::format("mode {} needs 'key': the columns that identify a row, e.g. key: [order_id]", cfg->mode));
    return;
  }
  for (const auto& f : node.input_schema->fields()) {
    if (!IsIdentifier(f.name)) {
      ctx.Error(n, name,
                fmt::format("column '{}' cannot be a warehouse column name (^[a-z_][a-z0-9_]{{0,62}}$); rename it with "
                            "a map select first",
                            f.name));
      return;
    }
  }
  node.config = std::move(cfg);
}

}  // namespace

void RegisterWarehouseSink(Registry& r) {
  r.Add(engine::Role::kSink, "warehouse", Compile, KindTraits{.writes_warehouse_table = true});
}

}  // namespace sluice::components
