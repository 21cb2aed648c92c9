// Transform `validate`: required fields and rules (conditions); a failing record is warned
// about, dropped, dead-lettered or fails the run, per rule.
#include <set>

#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/row_operators.h"

namespace sluice::components {
namespace {

// The `ValidateConfig` settings with this kind's behaviour.
struct ValidateNode final : OperatorConfig<engine::ValidateConfig, engine::ValidateOperator> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& r : rules) {
      list.push_back({{"name", r.name}, {"check", expr::ToSql(*r.predicate)}, {"on_fail", OnFailName(r.on_fail)}});
    }
    return {{"required", required}, {"rules", list}};
  }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  ctx.CheckKeys(n, name, "a validate transform", {"kind", "inputs", "required", "rules", "description"});
  auto cfg = std::make_shared<ValidateNode>();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in.field(i).required) cfg->required.push_back(in.field(i).name);
  }
  if (YAML::Node req = n["required"]; req.IsDefined()) {
    if (!req.IsSequence()) {
      ctx.Error(req, name, "'required' must be a list of field names");
    } else {
      for (auto r : req) {
        std::string f = r.as<std::string>();
        if (!in.IndexOf(f)) {
          ctx.Error(r, name, fmt::format("required field '{}' is not in the input{}", f, DidYouMeanSuffix(f, in.names())));
        } else if (std::find(cfg->required.begin(), cfg->required.end(), f) == cfg->required.end()) {
          cfg->required.push_back(f);
        }
      }
    }
  }
  for (const auto& f : cfg->required) {
    if (auto i = in.IndexOf(f)) cfg->required_index.push_back(*i);
  }
  if (YAML::Node rules = n["rules"]; rules.IsDefined()) {
    if (!rules.IsSequence()) {
      ctx.Error(rules, name, "'rules' must be a list like [{name: positive, check: \"amount >= 0\", on_fail: dead_letter}]");
    } else {
      std::set<std::string> rule_names;
      for (auto r : rules) {
        if (!r.IsMap()) {
          ctx.Error(r, name, "each rule must be a mapping with name and check");
          continue;
        }
        ctx.CheckKeys(r, name, "a rule", {"name", "check", "on_fail", "description"});
        engine::ValidateRule rule;
        auto rn = ctx.Str(r, "name", name, true);
        auto check = ctx.Str(r, "check", name, true);
        if (!rn || !check) continue;
        if (!rule_names.insert(*rn).second) ctx.Error(r["name"], name, "rule '" + *rn + "' is declared twice");
        rule.name = *rn;
        rule.check = *check;
        rule.predicate = ctx.CompileExpr(r["check"], name, "rule '" + *rn + "'", in, true);
        static const std::vector<std::string> kOnFail = {"warn", "drop", "dead_letter", "fail"};
        if (auto of = ctx.Str(r, "on_fail", name)) {
          auto pos = std::find(kOnFail.begin(), kOnFail.end(), *of);
          if (pos == kOnFail.end()) {
            ctx.Error(r["on_fail"], name,
                      fmt::format("on_fail '{}' must be one of warn, drop, dead_letter, fail{}", *of,
                                  DidYouMeanSuffix(*of, kOnFail)));
          } else {
            rule.on_fail = static_cast<engine::OnFail>(pos - kOnFail.begin());
          }
        }
        cfg->rules.push_back(std::move(rule));
      }
    }
  }
  auto fields = in.fields();
  for (auto& f : fields) {
    if (std::find(cfg->required.begin(), cfg->required.end(), f.name) != cfg->required.end()) f.required = true;
  }
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(fields))});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterValidate(Registry& r) { r.Add(engine::Role::kTransform, "validate", Compile); }

}  // namespace sluice::components
