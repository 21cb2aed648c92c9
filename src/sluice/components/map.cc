// Transform `map`: an optional filter, then computed columns (select); without select every
// input column passes through.
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/row_operators.h"

namespace sluice::components {
namespace {

// The `MapConfig` settings with this kind's behaviour.
struct MapNode final : OperatorConfig<engine::MapConfig, engine::MapOperator> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json j;
    j["filter"] = filter ? nlohmann::ordered_json(expr::ToSql(*filter)) : nlohmann::ordered_json(nullptr);
    nlohmann::ordered_json sel = nlohmann::ordered_json::object();
    for (const auto& [col, e] : select) sel[col] = expr::ToSql(*e);
    j["select"] = sel;
    return j;
  }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  ctx.CheckKeys(n, name, "a map transform", {"kind", "inputs", "filter", "select", "description"});
  auto cfg = std::make_shared<MapNode>();
  if (YAML::Node f = n["filter"]; f.IsDefined()) {
    cfg->filter = ctx.CompileExpr(f, name, "filter", in, true);
    if (f.IsScalar()) cfg->filter_text = f.Scalar();
  }
  std::vector<Field> out;
  if (YAML::Node sel = n["select"]; sel.IsDefined()) {
    if (!sel.IsMap() || sel.size() == 0) {
      ctx.Error(sel, name, "'select' must map output names to expressions, e.g. select: {amount_usd: \"amount * 1.08\"}");
    } else {
      for (auto kv : sel) {
        std::string col = kv.first.as<std::string>();
        auto e = ctx.CompileExpr(kv.second, name, "select '" + col + "'", in, false);
        if (!e) continue;
        out.push_back(Field{col, expr::ResultType(*e), !expr::MaybeNull(*e)});
        out.back().pii = expr::IsPii(*e, in);
        if (out.back().type.id == TypeId::kNull) out.back().type = DataType::String();
        cfg->select.emplace_back(col, e);
      }
    }
  } else {
    out = in.fields();
  }
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterMap(Registry& r) { r.Add(engine::Role::kTransform, "map", Compile); }

}  // namespace sluice::components
