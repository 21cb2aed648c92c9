// Transform `aggregate`: group_by and measures; batch (one row per group when the input ends) or
// windowed over event time (tumble, hop, session; one row per window and group once the
// watermark passes the window's end).
#include <set>

#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/aggregate_operator.h"
#include "sluice/engine/exec/window_operators.h"

namespace sluice::components {
namespace {

// The `AggregateConfig` settings with this kind's behaviour: a batch aggregate, or a windowed
// one when the spec has a window.
struct AggregateNode final : engine::NodeConfigFor<engine::AggregateConfig> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json g = nlohmann::ordered_json::object();
    for (const auto& x : group_by) g[x.name] = expr::ToSql(*x.expr);
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [name, e] : measures) m[name] = expr::ToSql(*e);
    nlohmann::ordered_json j = {{"group_by", g}, {"measures", m}};
    const auto& w = window;
    if (w.kind != engine::WindowConfig::Kind::kNone) {
      nlohmann::ordered_json win = {{"on", w.time_field}};
      if (w.kind == engine::WindowConfig::Kind::kTumble) win["tumble"] = FormatDuration(w.size_us);
      if (w.kind == engine::WindowConfig::Kind::kHop) {
        win["hop"] = {{"size", FormatDuration(w.size_us)}, {"slide", FormatDuration(w.slide_us)}};
      }
      if (w.kind == engine::WindowConfig::Kind::kSession) win["session"] = {{"gap", FormatDuration(w.gap_us)}};
      j["window"] = win;
      j["allowed_lateness"] = FormatDuration(w.allowed_lateness_us);
      j["late"] = w.late_to_dead_letter ? "dead_letter" : "drop";
    }
    return j;
  }
  std::string_view State() const override {
    return window.kind == engine::WindowConfig::Kind::kNone
               ? "groups (in memory, until the input ends)"
               : "open windows x groups (in memory, snapshotted at checkpoints)";
  }
  bool RunsInStreams() const override { return window.kind != engine::WindowConfig::Kind::kNone; }
  bool ChangesCardinality() const override { return true; }
  std::unique_ptr<engine::Operator> MakeOperator(const engine::PlanNode& node, size_t index, engine::ExecContext& ctx,
                                                 engine::NodeCounters& counters, engine::Progress*) const override {
    if (window.kind != engine::WindowConfig::Kind::kNone) {
      return std::make_unique<engine::WindowAggregateOperator>(node, index, ctx, counters);
    }
    return std::make_unique<engine::AggregateOperator>(node, index, ctx, counters);
  }
};

engine::WindowConfig ParseWindow(SpecContext& ctx, const ComponentSpec& c, const engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  engine::WindowConfig w;
  YAML::Node win = n["window"];
  const char* example = "window: {tumble: 1m}, {hop: {size: 5m, slide: 1m}} or {session: {gap: 30s}}";
  if (!win.IsMap()) {
    ctx.Error(win, name, fmt::format("'window' must be a mapping like {}", example));
    return w;
  }
  ctx.CheckKeys(win, name, "window", {"tumble", "hop", "session", "on"});
  int kinds = 0;
  if (win["tumble"].IsDefined()) {
    ++kinds;
    w.kind = engine::WindowConfig::Kind::kTumble;
    w.size_us = ctx.Duration(win, "tumble", name).value_or(0);
  }
  if (YAML::Node h = win["hop"]; h.IsDefined()) {
    ++kinds;
    w.kind = engine::WindowConfig::Kind::kHop;
    ctx.CheckKeys(h, name, "hop", {"size", "slide"});
    w.size_us = ctx.Duration(h, "size", name).value_or(0);
    w.slide_us = ctx.Duration(h, "slide", name).value_or(0);
    if (!h["size"].IsDefined() || !h["slide"].IsDefined()) {
      ctx.Error(h, name, "hop needs size and slide, e.g. hop: {size: 5m, slide: 1m}");
    } else if (w.slide_us > 0 && (w.size_us % w.slide_us != 0)) {
      ctx.Error(h, name, "hop size must be a whole multiple of slide");
    }
  }
  if (YAML::Node se = win["session"]; se.IsDefined()) {
    ++kinds;
    w.kind = engine::WindowConfig::Kind::kSession;
    ctx.CheckKeys(se, name, "session", {"gap"});
    w.gap_us = ctx.Duration(se, "gap", name).value_or(0);
  }
  if (kinds != 1) ctx.Error(win, name, fmt::format("'window' takes exactly one of tumble, hop, session: {}", example));
  std::optional<std::string> on = ctx.Str(win, "on", name);
  if (!on) on = ctx.UpstreamEventTime(node);
  if (!on) {
    ctx.Error(win, name, "the window needs a time column: add on: <timestamp column>, or declare event_time on the source");
  } else if (auto i = in.IndexOf(*on); !i || in.field(*i).type.id != TypeId::kTimestamp) {
    ctx.Error(win["on"].IsDefined() ? win["on"] : win, name,
              fmt::format("window column '{}' must be a timestamp column of the input{}", *on,
                          DidYouMeanSuffix(*on, in.names())));
  } else {
    w.time_field = *on;
    w.time_column = *i;
  }
  w.allowed_lateness_us = ctx.Duration(n, "allowed_lateness", name, false).value_or(0);
  if (auto l = ctx.Str(n, "late", name)) {
    if (*l == "drop") w.late_to_dead_letter = false;
    else if (*l != "dead_letter") ctx.Error(n["late"], name, fmt::format("late '{}' must be dead_letter or drop", *l));
  }
  return w;
}

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  ctx.CheckKeys(n, name, "an aggregate transform",
                {"kind", "inputs", "group_by", "measures", "window", "allowed_lateness", "late", "description"});
  auto cfg = std::make_shared<AggregateNode>();
  std::vector<Field> out;
  std::set<std::string> names;
  if (n["window"].IsDefined()) {
    cfg->window = ParseWindow(ctx, c, node);
    out.push_back(Field{"window_start", DataType::Timestamp(), true});
    out.push_back(Field{"window_end", DataType::Timestamp(), true});
    names = {"window_start", "window_end"};
  } else {
    for (const char* k : {"allowed_lateness", "late"}) {
      if (n[k].IsDefined()) {
        ctx.Error(n[k], name, fmt::format("'{}' applies only to a windowed aggregate (add window: {{tumble: 1m}})", k));
      }
    }
  }
  if (YAML::Node gb = n["group_by"]; gb.IsDefined()) {
    for (auto& g : ctx.NamedExpressions(gb, name, "group_by", in, false)) {
      engine::AggregateConfig::GroupBy group;
      group.name = g.name;
      group.expr = g.expr;
      if (!g.plain_column.empty()) group.input_column = static_cast<int>(*in.IndexOf(g.plain_column));
      names.insert(g.name);
      out.push_back(Field{g.name, expr::ResultType(*g.expr), !expr::MaybeNull(*g.expr)});
      out.back().pii = expr::IsPii(*g.expr, in);
      cfg->group_by.push_back(std::move(group));
    }
  }
  YAML::Node measures = n["measures"];
  if (!measures.IsDefined() || !measures.IsMap() || measures.size() == 0) {
    ctx.Error(measures.IsDefined() ? measures : n, name,
              "'measures' must map output names to aggregates, e.g. measures: {orders: \"count(*)\", revenue: "
              "\"sum(amount)\"}");
    return;
  }
  std::set<std::string> plain_groups;
  for (const auto& g : cfg->group_by) {
    if (g.input_column >= 0) plain_groups.insert(in.field(static_cast<size_t>(g.input_column)).name);
  }
  std::set<std::string> call_sql;
  for (auto kv : measures) {
    std::string m = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) {
      ctx.Error(kv.second, name, fmt::format("measure '{}' must be an expression string", m));
      continue;
    }
    expr::BindOptions bo;
    bo.allow_aggregates = true;
    auto r = expr::Compile(kv.second.Scalar(), in, bo);
    if (!r.ok()) {
      ctx.Error(kv.second, name, fmt::format("measure '{}': {} in \"{}\"", m, r.status().message(), kv.second.Scalar()));
      continue;
    }
    bool bad = false;
    for (const auto& col : expr::ColumnsOutsideAggregates(**r)) {
      if (!plain_groups.count(col)) {
        ctx.Error(kv.second, name,
                  fmt::format("measure '{}': column '{}' must be in group_by or inside an aggregate such as first({})",
                              m, col, col));
        bad = true;
      }
    }
    if (bad) continue;
    for (auto& call : expr::FindAggregates(**r)) {
      if (call_sql.insert(call.sql).second) cfg->calls.push_back(call);
    }
    if (!names.insert(m).second) ctx.Error(kv.first, name, fmt::format("output column '{}' appears twice", m));
    out.push_back(Field{m, expr::ResultType(**r), !expr::MaybeNull(**r)});
    out.back().pii = expr::IsPii(**r, in);
    cfg->measures.emplace_back(m, *r);
  }
  if (out.empty()) return;
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterAggregate(Registry& r) { r.Add(engine::Role::kTransform, "aggregate", Compile); }

}  // namespace sluice::components
