#include "sluice/pipeline/plan_format.h"

#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"

namespace sluice::pipeline {
namespace {

using nlohmann::ordered_json;

std::string InputName(const engine::Plan& plan, const engine::EdgeRef& e) {
  return plan.nodes[e.node].name + (e.port.empty() ? "" : "." + e.port);
}

ordered_json SchemaJson(const Schema& s) {
  ordered_json a = ordered_json::array();
  for (const auto& f : s.fields()) a.push_back({{"name", f.name}, {"type", f.type.ToString()}, {"required", f.required}});
  return a;
}

ordered_json Details(const engine::PlanNode& n) {
  struct V {
    ordered_json operator()(const engine::FilesSourceConfig& c) {
      return {{"path", c.path}, {"format", engine::FileFormatName(c.format)}, {"raw", c.keep_raw}};
    }
    ordered_json operator()(const engine::ValidateConfig& c) {
      ordered_json rules = ordered_json::array();
      for (const auto& r : c.rules) {
        rules.push_back({{"name", r.name}, {"check", expr::ToSql(*r.predicate)}, {"on_fail", engine::OnFailName(r.on_fail)}});
      }
      return {{"required", c.required}, {"rules", rules}};
    }
    ordered_json operator()(const engine::MapConfig& c) {
      ordered_json j;
      j["filter"] = c.filter ? ordered_json(expr::ToSql(*c.filter)) : ordered_json(nullptr);
      ordered_json sel = ordered_json::object();
      for (const auto& [name, e] : c.select) sel[name] = expr::ToSql(*e);
      j["select"] = sel;
      return j;
    }
    ordered_json operator()(const engine::RouteConfig& c) {
      ordered_json routes = ordered_json::object();
      for (const auto& [name, e] : c.routes) routes[name] = expr::ToSql(*e);
      return {{"routes", routes}, {"default", "_default"}};
    }
    ordered_json operator()(const engine::FilesSinkConfig& c) {
      return {{"path", c.path}, {"format", engine::FileFormatName(c.format)}};
    }
    ordered_json operator()(const engine::BlackholeSinkConfig&) { return ordered_json::object(); }
    ordered_json operator()(const engine::AggregateConfig& c) {
      ordered_json g = ordered_json::object();
      for (const auto& x : c.group_by) g[x.name] = expr::ToSql(*x.expr);
      ordered_json m = ordered_json::object();
      for (const auto& [name, e] : c.measures) m[name] = expr::ToSql(*e);
      ordered_json j = {{"group_by", g}, {"measures", m}};
      const auto& w = c.window;
      if (w.kind != engine::WindowConfig::Kind::kNone) {
        ordered_json win = {{"on", w.time_field}};
        if (w.kind == engine::WindowConfig::Kind::kTumble) win["tumble"] = FormatDuration(w.size_us);
        if (w.kind == engine::WindowConfig::Kind::kHop) win["hop"] = {{"size", FormatDuration(w.size_us)}, {"slide", FormatDuration(w.slide_us)}};
        if (w.kind == engine::WindowConfig::Kind::kSession) win["session"] = {{"gap", FormatDuration(w.gap_us)}};
        j["window"] = win;
        j["allowed_lateness"] = FormatDuration(w.allowed_lateness_us);
        j["late"] = w.late_to_dead_letter ? "dead_letter" : "drop";
      }
      return j;
    }
    ordered_json operator()(const engine::DedupConfig& c) {
      return {{"key", c.key}, {"within", c.within_us ? FormatDuration(c.within_us) : "forever"},
              {"time", c.time_column >= 0 ? "event time" : "processing time"}};
    }
    ordered_json operator()(const engine::StreamSourceConfig& c) {
      ordered_json j = {{"topic", c.topic}, {"start", c.start_at_end ? "latest" : "earliest"}, {"raw", c.keep_raw}};
      if (c.kind == engine::StreamSourceConfig::Kind::kKafka) {
        j["brokers"] = c.brokers;
        j["group"] = c.group;
      } else {
        j["log"] = c.log_root;
      }
      return j;
    }
    ordered_json operator()(const engine::StreamSinkConfig& c) {
      ordered_json j = {{"topic", c.topic}, {"key_column", c.key_column}};
      if (c.kind == engine::StreamSourceConfig::Kind::kKafka) j["brokers"] = c.brokers;
      else j["log"] = c.log_root;
      return j;
    }
    ordered_json operator()(const engine::LookupConfig& c) {
      std::vector<std::string> keys;
      for (size_t k : c.dimension_keys) keys.push_back(c.dimension_schema->field(k).name);
      return {{"table", c.table}, {"from", c.from_lake ? "lake" : "warehouse"}, {"on", keys}, {"fields", c.field_names},
              {"on_missing", c.on_missing == engine::OnMissing::kNull ? "null" : c.on_missing == engine::OnMissing::kDrop ? "drop" : "dead_letter"}};
    }
    ordered_json operator()(const engine::JoinConfig& c) {
      return {{"type", c.left_join ? "left" : "inner"}, {"fields", c.right_names}};
    }
    ordered_json operator()(const engine::SqlModelConfig& c) {
      return {{"table", c.schema + "." + c.table}, {"materialized", c.view ? "view" : "table"}, {"refs", c.refs}, {"sql", c.sql}};
    }
    ordered_json operator()(const engine::WarehouseSinkConfig& c) {
      return {{"table", c.schema + "." + c.table}, {"mode", c.mode}, {"key", c.key}, {"warehouse", c.url}};
    }
    ordered_json operator()(const engine::LakeSinkConfig& c) {
      ordered_json parts = ordered_json::object();
      for (const auto& [name, e] : c.partition_by) parts[name] = expr::ToSql(*e);
      return {{"table", c.table}, {"path", c.table_dir}, {"partition_by", parts}, {"target_file_bytes", c.target_file_bytes}};
    }
    ordered_json operator()(const engine::LakeSourceConfig& c) {
      ordered_json j = {{"table", c.table}, {"path", c.table_dir}};
      if (c.version) j["version"] = *c.version;
      if (c.since_version) j["since_version"] = *c.since_version;
      return j;
    }
  };
  ordered_json j = std::visit(V{}, n.config);
  if (n.event_time) {
    j["event_time"] = {{"field", n.event_time->field}, {"max_out_of_order", FormatDuration(n.event_time->max_out_of_order_us)},
                       {"idle_timeout", n.event_time->idle_timeout_us ? FormatDuration(n.event_time->idle_timeout_us) : "never"}};
  }
  return j;
}

// What an operator keeps in memory (streams snapshot it at every checkpoint).
std::string StateOf(const engine::PlanNode& n) {
  if (const auto* a = std::get_if<engine::AggregateConfig>(&n.config)) {
    return a->window.kind == engine::WindowConfig::Kind::kNone ? "groups (in memory, until the input ends)"
                                                                : "open windows x groups (in memory, snapshotted at checkpoints)";
  }
  if (std::holds_alternative<engine::DedupConfig>(n.config)) return "keys seen within 'within' (in memory, snapshotted at checkpoints)";
  if (std::holds_alternative<engine::LookupConfig>(n.config)) return "dimension table (in memory)";
  if (std::holds_alternative<engine::JoinConfig>(n.config)) return "right input (in memory)";
  if (std::holds_alternative<engine::StreamSourceConfig>(n.config)) return "partition offsets and event-time progress (checkpointed)";
  return "none";
}

}  // namespace

std::string PlanToJson(const engine::Plan& plan, int indent) {
  ordered_json j;
  j["pipeline"] = plan.pipeline;
  j["namespace"] = plan.namespace_;
  j["version"] = plan.version;
  j["mode"] = plan.mode;
  ordered_json nodes = ordered_json::array();
  for (const auto& n : plan.nodes) {
    ordered_json node;
    node["name"] = n.name;
    node["role"] = engine::RoleName(n.role);
    node["kind"] = n.kind;
    ordered_json inputs = ordered_json::array();
    for (const auto& e : n.inputs) {
      if (e.port != "#after") inputs.push_back(InputName(plan, e));
    }
    node["inputs"] = inputs;
    ordered_json after = ordered_json::array();
    for (const auto& e : n.inputs) {
      if (e.port == "#after") after.push_back(plan.nodes[e.node].name);
    }
    if (!after.empty()) node["after"] = after;
    ordered_json outs = ordered_json::array();
    for (const auto& o : n.outputs) outs.push_back({{"port", o.name.empty() ? "default" : o.name}, {"schema", SchemaJson(*o.schema)}});
    node["outputs"] = outs;
    if (n.role == engine::Role::kSink) node["input_schema"] = SchemaJson(*n.input_schema);
    node["state"] = StateOf(n);
    node["location"] = n.location;
    node["details"] = Details(n);
    nodes.push_back(node);
  }
  j["nodes"] = nodes;
  if (plan.dead_letter.kind == "lake") {
    j["dead_letter"] = {{"kind", "lake"}, {"table", plan.dead_letter.table}, {"path", plan.dead_letter.table_dir}};
  } else {
    j["dead_letter"] = {{"kind", plan.dead_letter.kind},
                        {"path", plan.dead_letter.path.empty() ? "<workdir>/dead_letters/" + plan.pipeline + "/<run>.ndjson" : plan.dead_letter.path}};
  }
  return j.dump(indent);
}

std::string PlanToText(const engine::Plan& plan) {
  std::string out = fmt::format("pipeline {} (namespace {}, version {}, mode {})\n", plan.pipeline, plan.namespace_,
                                plan.version, plan.mode);
  for (const auto& n : plan.nodes) {
    std::vector<std::string> ins;
    for (const auto& e : n.inputs) ins.push_back(InputName(plan, e));
    out += fmt::format("\n{} {} [{}]{}\n", engine::RoleName(n.role), n.name, n.kind,
                       ins.empty() ? "" : " <- " + Join(ins, ", "));
    std::string details = Details(n).dump();
    out += "  " + details + "\n";
    for (const auto& o : n.outputs) {
      out += fmt::format("  -> {}: {}\n", o.name.empty() ? "out" : o.name, o.schema->ToString());
    }
    out += "  state: " + StateOf(n) + "\n";
  }
  out += fmt::format("\ndead letters -> {}\n",
                     plan.dead_letter.kind == "lake" ? "lake table " + plan.dead_letter.table
                     : plan.dead_letter.path.empty()  ? "<workdir>/dead_letters/" + plan.pipeline + "/<run>.ndjson"
                                                      : plan.dead_letter.path);
  return out;
}

}  // namespace sluice::pipeline
