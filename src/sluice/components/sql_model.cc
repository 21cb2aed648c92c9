// Transform `sql`: a SQL model run in the warehouse after everything it reads is written (as dbt
// models are); the SELECT is materialized as a table (replaced atomically) or a view. It reads
// warehouse tables through {{ ref('schema.table') }}, not records from other components.
#include <regex>

#include <nlohmann/json.hpp>

#include "sluice/base/table_name.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/warehouse_operators.h"

namespace sluice::components {
namespace {

// The `SqlModelConfig` settings with this kind's behaviour.
struct SqlModelNode final : OperatorConfig<engine::SqlModelConfig, engine::SqlModel> {
  nlohmann::ordered_json Describe() const override {
    return {{"table", schema + "." + table}, {"materialized", view ? "view" : "table"}, {"refs", refs}, {"sql", sql}};
  }
  bool RunsInStreams() const override { return false; }
  bool ChangesCardinality() const override { return true; }
};

// {{ ref('schema.table') }} in a SQL model.
const std::regex kRef(R"(\{\{\s*ref\(\s*'([^']*)'\s*\)\s*\}\})");

std::vector<std::string> ReadsTables(const YAML::Node& settings) {
  std::vector<std::string> out;
  if (!settings.IsMap() || !settings["sql"].IsDefined() || !settings["sql"].IsScalar()) return out;
  const std::string sql = settings["sql"].Scalar();
  for (std::sregex_iterator it(sql.begin(), sql.end(), kRef), end; it != end; ++it) out.push_back((*it)[1]);
  return out;
}

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a sql model", {"kind", "table", "sql", "materialized", "description"});
  auto cfg = std::make_shared<SqlModelNode>();
  cfg->url = ctx.WarehouseUrl();
  auto table = ctx.Str(n, "table", name, true);
  auto sql = ctx.Str(n, "sql", name, true);
  if (!table || !sql) return;
  auto parsed = TableName::Parse(*table);
  if (!parsed.ok()) {
    ctx.Error(n["table"], name,
              fmt::format("table '{}' must be schema.table, each matching ^[a-z_][a-z0-9_]{{0,62}}$ (e.g. "
                          "gold.daily_revenue)",
                          *table));
    return;
  }
  auto schema = ctx.WarehouseSchema(n["table"], name, parsed->schema_or_layer);
  if (!schema) return;
  cfg->schema = *schema;
  cfg->table = parsed->name;
  std::string m = ctx.Str(n, "materialized", name).value_or("table");
  if (m != "table" && m != "view") {
    ctx.Error(n["materialized"], name, fmt::format("materialized '{}' must be table or view", m));
    return;
  }
  cfg->view = m == "view";
  // Resolve {{ ref('schema.table') }}; any other {{ … }} is an error.
  std::string out;
  size_t last = 0;
  bool ok = true;
  for (std::sregex_iterator it(sql->begin(), sql->end(), kRef), end; it != end; ++it) {
    const std::string ref = (*it)[1];
    auto ref_name = TableName::Parse(ref);
    if (!ref_name.ok()) {
      ctx.Error(n["sql"], name,
                fmt::format("ref('{}') must name schema.table, each matching ^[a-z_][a-z0-9_]{{0,62}}$", ref));
      ok = false;
      continue;
    }
    auto ref_schema = ctx.WarehouseSchema(n["sql"], name, ref_name->schema_or_layer);
    if (!ref_schema) {
      ok = false;
      continue;
    }
    out += sql->substr(last, static_cast<size_t>(it->position()) - last);
    out += "\"" + *ref_schema + "\".\"" + ref_name->name + "\"";
    last = static_cast<size_t>(it->position() + it->length());
    cfg->refs.push_back(ref);
  }
  out += sql->substr(last);
  if (out.find("{{") != std::string::npos) {
    ctx.Error(n["sql"], name, "only {{ ref('schema.table') }} may appear between {{ and }} in a sql model");
    ok = false;
  }
  if (!ok) return;
  while (!out.empty() && (out.back() == ';' || std::isspace(static_cast<unsigned char>(out.back())))) out.pop_back();
  cfg->sql = out;
  node.config = std::move(cfg);
}

}  // namespace

void RegisterSqlModel(Registry& r) {
  r.Add(engine::Role::kTransform, "sql", Compile,
        KindTraits{.listed = false,
                   .takes_inputs = false,
                   .no_inputs = "a sql model takes no 'inputs': it reads warehouse tables through {{ ref('schema.table') }}",
                   .produces_records = false,
                   .noun = "sql model",
                   .writes_warehouse_table = true,
                   .reads_warehouse_tables = ReadsTables});
}

}  // namespace sluice::components
