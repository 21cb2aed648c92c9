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
  for (const auto& f : s.fields()) {
    ordered_json j = {{"name", f.name}, {"type", f.type.ToString()}, {"required", f.required}};
    if (f.pii) j["pii"] = true;
    a.push_back(std::move(j));
  }
  return a;
}

// The kind's own description of its settings, plus the event time of a source.
ordered_json Details(const engine::PlanNode& n) {
  ordered_json j = n.config->Describe();
  if (n.event_time) {
    j["event_time"] = {
        {"field", n.event_time->field},
        {"max_out_of_order", FormatDuration(n.event_time->max_out_of_order_us)},
        {"idle_timeout", n.event_time->idle_timeout_us ? FormatDuration(n.event_time->idle_timeout_us) : "never"},
        {"idle_advance", n.event_time->idle_advance}};
  }
  return j;
}

}  // namespace

std::string PlanToJson(const engine::Plan& plan, int indent) {
  ordered_json j;
  j["pipeline"] = plan.pipeline;
  j["namespace"] = plan.namespace_;
  j["version"] = plan.version;
  j["mode"] = engine::PlanModeName(plan.mode);
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
    node["state"] = n.config->State();
    node["location"] = n.location;
    node["details"] = Details(n);
    nodes.push_back(node);
  }
  j["nodes"] = nodes;
  if (plan.dead_letter.kind == engine::DeadLetterKind::kLake) {
    j["dead_letter"] = {{"kind", "lake"}, {"table", plan.dead_letter.table}, {"path", plan.dead_letter.table_dir}};
  } else {
    j["dead_letter"] = {{"kind", engine::DeadLetterKindName(plan.dead_letter.kind)},
                        {"path", plan.dead_letter.path.empty() ? "<workdir>/dead_letters/" + plan.pipeline + "/<run>.ndjson" : plan.dead_letter.path}};
  }
  return j.dump(indent);
}

std::string PlanToText(const engine::Plan& plan) {
  std::string out = fmt::format("pipeline {} (namespace {}, version {}, mode {})\n", plan.pipeline, plan.namespace_,
                                plan.version, engine::PlanModeName(plan.mode));
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
    out += "  state: " + std::string(n.config->State()) + "\n";
  }
  out += fmt::format("\ndead letters -> {}\n",
                     plan.dead_letter.kind == engine::DeadLetterKind::kLake ? "lake table " + plan.dead_letter.table
                     : plan.dead_letter.path.empty()  ? "<workdir>/dead_letters/" + plan.pipeline + "/<run>.ndjson"
                                                      : plan.dead_letter.path);
  return out;
}

}  // namespace sluice::pipeline
