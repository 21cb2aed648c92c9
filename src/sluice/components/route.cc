// Transform `route`: one output port per named condition (first match wins) and `_default`.
#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/row_operators.h"

namespace sluice::components {
namespace {

// The `RouteConfig` settings with this kind's behaviour.
struct RouteNode final : OperatorConfig<engine::RouteConfig, engine::RouteOperator> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json list = nlohmann::ordered_json::object();
    for (const auto& [name, e] : routes) list[name] = expr::ToSql(*e);
    return {{"routes", list}, {"default", "_default"}};
  }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  ctx.CheckKeys(n, name, "a route transform", {"kind", "inputs", "routes", "description"});
  auto cfg = std::make_shared<RouteNode>();
  YAML::Node routes = n["routes"];
  if (!routes.IsDefined() || !routes.IsMap() || routes.size() == 0) {
    ctx.Error(routes.IsDefined() ? routes : n, name,
              "'routes' must map route names to conditions, e.g. routes: {big: \"amount > 100\"}");
  } else {
    for (auto kv : routes) {
      std::string r = kv.first.as<std::string>();
      if (!IsIdentifier(r) || r == "_default") {
        ctx.Error(kv.first, name, "route names must match ^[a-z][a-z0-9_]*$ ('_default' is reserved)");
      }
      auto e = ctx.CompileExpr(kv.second, name, "route '" + r + "'", in, true);
      if (e) cfg->routes.emplace_back(r, e);
      node.outputs.push_back({r, node.input_schema});
    }
  }
  node.outputs.push_back({"_default", node.input_schema});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterRoute(Registry& r) { r.Add(engine::Role::kTransform, "route", Compile); }

}  // namespace sluice::components
