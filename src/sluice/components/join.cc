// Transform `join`: a batch hash join of two inputs (inner or left); the right input is built in
// memory, the left is probed.
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/join_operator.h"

namespace sluice::components {
namespace {

// The `JoinConfig` settings with this kind's behaviour.
struct JoinNode final : OperatorConfig<engine::JoinConfig, engine::JoinOperator> {
  nlohmann::ordered_json Describe() const override {
    return {{"type", left_join ? "left" : "inner"}, {"fields", right_names}};
  }
  std::string_view State() const override { return "right input (in memory)"; }
  bool RunsInStreams() const override { return false; }
  bool ChangesCardinality() const override { return true; }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a join transform", {"kind", "inputs", "on", "type", "fields", "description"});
  if (c.inputs.size() != 2) {
    ctx.Error(c.inputs_node, name, "a join takes exactly two inputs: [left, right]");
    return;
  }
  const Schema& left = *node.input_schema;
  SchemaPtr right_schema = ctx.OutputSchema(c.inputs[1].first, c.inputs[1].second);
  if (!right_schema) return;
  const Schema& right = *right_schema;
  auto cfg = std::make_shared<JoinNode>();
  std::string type = ctx.Str(n, "type", name).value_or("inner");
  if (type != "inner" && type != "left") {
    ctx.Error(n["type"], name, fmt::format("join type '{}' must be inner or left", type));
    return;
  }
  cfg->left_join = type == "left";
  YAML::Node on = n["on"];
  if (!on.IsDefined()) {
    ctx.Error(n, name, "missing required key 'on': the key columns, e.g. on: customer_id or on: {customer_id: id}");
    return;
  }
  if (on.IsMap()) {
    for (auto kv : on) {
      auto i = left.IndexOf(kv.first.as<std::string>());
      auto j = right.IndexOf(kv.second.as<std::string>());
      if (!i || !j) {
        ctx.Error(kv.first, name,
                  fmt::format("on: '{}' must be a column of the left input and '{}' of the right",
                              kv.first.as<std::string>(), kv.second.as<std::string>()));
        return;
      }
      cfg->left_keys.push_back(*i);
      cfg->right_keys.push_back(*j);
    }
  } else {
    auto lk = ctx.Columns(on, name, "on (left)", left);
    auto rk = ctx.Columns(on, name, "on (right)", right);
    if (!lk || !rk) return;
    cfg->left_keys = *lk;
    cfg->right_keys = *rk;
  }
  if (cfg->left_keys.empty()) return;
  if (n["fields"].IsDefined()) {
    auto f = ctx.Columns(n["fields"], name, "fields (right)", right);
    if (!f) return;
    cfg->right_fields = *f;
  } else {
    for (size_t i = 0; i < right.size(); ++i) {
      if (std::find(cfg->right_keys.begin(), cfg->right_keys.end(), i) == cfg->right_keys.end()) {
        cfg->right_fields.push_back(i);
      }
    }
  }
  auto out = left.fields();
  for (size_t f : cfg->right_fields) {
    std::string col = right.field(f).name;
    if (left.IndexOf(col)) {
      ctx.Error(n, name,
                fmt::format("column '{}' is in both inputs; list the right columns to keep in 'fields' or rename one",
                            col));
      return;
    }
    cfg->right_names.push_back(col);
    out.push_back(Field{col, right.field(f).type, !cfg->left_join && right.field(f).required});
    out.back().pii = right.field(f).pii;
  }
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterJoin(Registry& r) { r.Add(engine::Role::kTransform, "join", Compile, KindTraits{.inputs_may_differ = true}); }

}  // namespace sluice::components
