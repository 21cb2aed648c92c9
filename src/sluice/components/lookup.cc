// Transform `lookup`: enriches records with fields of a dimension table (warehouse or lake) held
// in memory; point-in-time (as_of) into SCD2 dimensions; reloaded on a schedule in streams.
#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/base/table_name.h"
#include "sluice/catalog/catalog.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/lookup_operator.h"

namespace sluice::components {
namespace {

// The `LookupConfig` settings with this kind's behaviour.
struct LookupNode final : OperatorConfig<engine::LookupConfig, engine::LookupOperator> {
  nlohmann::ordered_json Describe() const override {
    std::vector<std::string> keys;
    for (size_t k : dimension_keys) keys.push_back(dimension_schema->field(k).name);
    return {{"table", table_ns.empty() ? table : table_ns + "." + table},
            {"from", from_lake ? "lake" : "warehouse"},
            {"on", keys},
            {"fields", field_names},
            {"on_missing", on_missing == engine::OnMissing::kNull   ? "null"
                           : on_missing == engine::OnMissing::kDrop ? "drop"
                                                                    : "dead_letter"}};
  }
  std::vector<engine::DatasetRef> Datasets() const override {
    return {{from_lake ? "lake" : "warehouse", from_lake ? table : spec_table, false, table_ns}};
  }
  std::string_view State() const override { return "dimension table (in memory)"; }
  // A warehouse table as the spec names it (`table` is its name in the warehouse, which differs
  // in a shared PostgreSQL warehouse): lineage knows it by this.
  std::string spec_table;
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  ctx.CheckKeys(n, name, "a lookup transform",
                {"kind", "inputs", "table", "from", "on", "fields", "on_missing", "where", "as_of", "refresh", "description"});
  auto cfg = std::make_shared<LookupNode>();
  auto table = ctx.Str(n, "table", name, true);
  if (!table) return;
  cfg->table = *table;
  cfg->spec_table = *table;
  std::string from = ctx.Str(n, "from", name).value_or("warehouse");
  if (from != "warehouse" && from != "lake") {
    ctx.Error(n["from"], name, fmt::format("from '{}' must be warehouse or lake", from));
    return;
  }
  cfg->from_lake = from == "lake";
  Result<SchemaPtr> dim = Status::NotFound("no lookup");
  if (cfg->from_lake) {
    auto ref = ctx.TableDir(n["table"], name, *table, SpecContext::Access::kRead);
    if (!ref) return;
    cfg->table = ref->table;
    cfg->table_ns = ref->ns;
    cfg->table_dir = ref->dir;
    dim = catalog::LakeTableSchema(ref->dir);
  } else {
    auto qualified = TableName::ParseQualified(*table);
    if (qualified.ok() && !qualified->ns.empty()) {
      ctx.Error(n["table"], name,
                fmt::format("table '{}': a lookup reads another namespace's tables from its lake only; use from: lake",
                            *table));
      return;
    }
    if (qualified.ok()) {  // its name in the warehouse (a malformed one is reported when it is read)
      auto schema = ctx.WarehouseSchema(n["table"], name, qualified->schema_or_layer);
      if (!schema) return;
      cfg->table = *schema + "." + qualified->name;
    }
    cfg->warehouse_url = ctx.WarehouseUrl();
    dim = catalog::WarehouseTableSchema(cfg->warehouse_url, cfg->table);
  }
  if (!dim.ok()) {
    ctx.Error(n["table"], name,
              fmt::format("dimension table '{}' cannot be read from the {}: {}; run the pipeline that writes it first",
                          *table, from, dim.status().message()));
    return;
  }
  cfg->dimension_schema = *dim;
  const Schema& d = *cfg->dimension_schema;
  // on: a column name (same on both sides), a list of them, or {input_col: dim_col}.
  YAML::Node on = n["on"];
  if (!on.IsDefined()) {
    ctx.Error(n, name, "missing required key 'on': the key columns, e.g. on: customer_id or on: {customer_id: id}");
    return;
  }
  if (on.IsMap()) {
    for (auto kv : on) {
      std::string ic = kv.first.as<std::string>(), dc = kv.second.as<std::string>();
      auto i = in.IndexOf(ic);
      auto j = d.IndexOf(dc);
      if (!i) ctx.Error(kv.first, name, fmt::format("on: input column '{}' not found{}", ic, DidYouMeanSuffix(ic, in.names())));
      if (!j) {
        ctx.Error(kv.second, name,
                  fmt::format("on: column '{}' is not in {}{}", dc, *table, DidYouMeanSuffix(dc, d.names())));
      }
      if (i && j) {
        cfg->input_keys.push_back(*i);
        cfg->dimension_keys.push_back(*j);
      }
    }
  } else {
    auto ik = ctx.Columns(on, name, "on", in);
    auto dk = ctx.Columns(on, name, "on (in " + *table + ")", d);
    if (!ik || !dk) return;
    cfg->input_keys = *ik;
    cfg->dimension_keys = *dk;
  }
  if (cfg->input_keys.empty()) return;
  for (size_t k = 0; k < cfg->input_keys.size(); ++k) {
    const auto& a = in.field(cfg->input_keys[k]).type;
    const auto& b = d.field(cfg->dimension_keys[k]).type;
    if (!(a == b) && !(a.is_integer() && b.is_integer())) {
      ctx.Error(on, name,
                fmt::format("on: '{}' is {} but '{}' in {} is {}", in.field(cfg->input_keys[k]).name, a.ToString(),
                            d.field(cfg->dimension_keys[k]).name, *table, b.ToString()));
      return;
    }
  }
  // fields: [segment, country] or {customer_sk: surrogate_key, segment: segment} (output: column).
  std::vector<std::string> out_names;
  if (n["fields"].IsDefined() && n["fields"].IsMap()) {
    for (auto kv : n["fields"]) {
      std::string out_name = kv.first.as<std::string>(), col = kv.second.as<std::string>();
      auto j = d.IndexOf(col);
      if (!j) {
        ctx.Error(kv.second, name,
                  fmt::format("fields: column '{}' is not in {}{}", col, *table, DidYouMeanSuffix(col, d.names())));
        return;
      }
      cfg->fields.push_back(*j);
      out_names.push_back(out_name);
    }
  } else {
    auto fields = ctx.Columns(n["fields"], name, "fields (in " + *table + ")", d);
    if (!fields) return;
    cfg->fields = *fields;
    for (size_t f : cfg->fields) out_names.push_back(d.field(f).name);
  }
  cfg->refresh_us = ctx.Duration(n, "refresh", name).value_or(0);
  static const std::vector<std::string> kOnMissing = {"null", "drop", "dead_letter"};
  if (auto om = ctx.Str(n, "on_missing", name)) {
    auto pos = std::find(kOnMissing.begin(), kOnMissing.end(), *om);
    if (pos == kOnMissing.end()) {
      ctx.Error(n["on_missing"], name, fmt::format("on_missing '{}' must be null, drop or dead_letter", *om));
    } else {
      cfg->on_missing = static_cast<engine::OnMissing>(pos - kOnMissing.begin());
    }
  }
  if (auto a = ctx.Str(n, "as_of", name)) {
    auto i = in.IndexOf(*a);
    auto vf = d.IndexOf("valid_from");
    auto vt = d.IndexOf("valid_to");
    if (!i || in.field(*i).type.id != TypeId::kTimestamp) {
      ctx.Error(n["as_of"], name,
                fmt::format("as_of '{}' must be a timestamp column of the input{}", *a, DidYouMeanSuffix(*a, in.names())));
    } else if (!vf || !vt) {
      ctx.Error(n["as_of"], name,
                fmt::format("as_of needs an SCD2 dimension with valid_from and valid_to columns; {} has ({})", *table,
                            Join(d.names(), ", ")));
    } else {
      cfg->as_of_column = static_cast<int>(*i);
      cfg->valid_from_index = *vf;
      cfg->valid_to_index = *vt;
    }
  }
  if (auto w = ctx.Str(n, "where", name)) {
    auto bound = expr::Compile(*w, d);
    if (!bound.ok()) ctx.Error(n["where"], name, fmt::format("where: {} in \"{}\"", bound.status().message(), *w));
    cfg->filter = *w;
  }
  auto out = in.fields();
  for (size_t k = 0; k < cfg->fields.size(); ++k) {
    const size_t f = cfg->fields[k];
    const std::string& col = out_names[k];
    if (in.IndexOf(col)) {
      ctx.Error(n["fields"], name,
                fmt::format("field '{}' is already in the input; rename one of them first (map select)", col));
      return;
    }
    cfg->field_names.push_back(col);
    out.push_back(Field{col, d.field(f).type, false});
  }
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterLookup(Registry& r) { r.Add(engine::Role::kTransform, "lookup", Compile); }

}  // namespace sluice::components
