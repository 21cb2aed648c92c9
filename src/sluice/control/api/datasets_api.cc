// Datasets: what applied pipelines read and write, with schema history and lineage
// (dataset -> pipeline -> dataset), recorded from the compiled plan at every apply.
#include <algorithm>
#include <map>
#include <set>

#include "sluice/base/table_name.h"
#include "sluice/control/api/api.h"
#include "sluice/control/http/pagination.h"
#include "sluice/engine/plan/node_configs.h"
#include "sluice/expr/expr.h"
#include "sluice/types/temporal.h"

namespace sluice::api {

std::string SchemaJson(const Schema& schema) {
  json fields = json::array();
  for (const auto& f : schema.fields()) fields.push_back({{"name", f.name}, {"type", f.type.ToString()}, {"required", f.required}});
  return fields.dump();
}

namespace {

// Where each column of a node's output comes from: column -> {"dataset.column", ...}.
using Origins = std::map<std::string, std::set<std::string>>;

// "kind:name" of what a node reads (a source, a lookup's dimension), named as lineage names it.
std::string ReadDataset(const engine::Plan& plan, const engine::PlanNode& n) {
  for (const auto& d : plan.DatasetsOf(n)) {
    if (!d.write) return engine::Plan::DatasetKey(d);
  }
  return "";
}

// Column-level lineage through the plan, where it knows it: sources name their columns, map
// selects take the columns their expressions reference, lookups add the dimension's fields,
// and every other transform passes a column of the same name through (new columns, such as
// aggregate measures, have no known origin).
std::vector<Origins> ColumnOrigins(const engine::Plan& plan) {
  std::vector<Origins> out(plan.nodes.size());
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const auto& n = plan.nodes[i];
    Origins in;
    for (const auto& e : n.inputs) {
      for (const auto& [col, from] : out[e.node]) in[col].insert(from.begin(), from.end());
    }
    Origins& o = out[i];
    if (n.role == engine::Role::kSource) {
      const std::string dataset = ReadDataset(plan, n);
      if (!n.outputs.empty() && n.outputs[0].schema && !dataset.empty()) {
        for (const auto& f : n.outputs[0].schema->fields()) o[f.name] = {dataset + "." + f.name};
      }
      continue;
    }
    if (const auto* m = n.ConfigAs<engine::MapConfig>(); m && !m->select.empty()) {
      for (const auto& [name, expr] : m->select) {
        for (const auto& ref : expr::ReferencedColumns(*expr)) {
          if (auto it = in.find(ref); it != in.end()) o[name].insert(it->second.begin(), it->second.end());
        }
      }
      continue;
    }
    o = in;
    if (const auto* l = n.ConfigAs<engine::LookupConfig>()) {
      const std::string dimension = ReadDataset(plan, n);
      for (const auto& f : l->field_names) o[f] = {dimension + "." + f};
    }
    if (!n.outputs.empty() && n.outputs[0].schema) {  // only the columns the node emits
      Origins kept;
      for (const auto& f : n.outputs[0].schema->fields()) {
        if (auto it = o.find(f.name); it != o.end()) kept[f.name] = it->second;
      }
      o = std::move(kept);
    }
  }
  return out;
}

}  // namespace

std::vector<metadata::DatasetUse> DatasetsOf(const engine::Plan& plan) {
  std::vector<metadata::DatasetUse> uses;
  const std::vector<Origins> origins = ColumnOrigins(plan);
  auto add = [&](std::string kind, const std::string& name, const char* direction, const engine::PlanNode& n) {
    if (name.empty()) return;
    metadata::DatasetUse u{engine::Plan::DatasetKey({kind, name}), kind, direction, "", ""};
    if (std::string_view(direction) == "out") {
      if (n.input_schema) u.schema_json = SchemaJson(*n.input_schema);
      json columns = json::object();
      for (const auto& e : n.inputs) {
        for (const auto& [col, from] : origins[e.node]) {
          if (!from.empty()) columns[col] = from;
        }
      }
      if (!columns.empty()) u.columns = columns.dump();
    }
    uses.push_back(std::move(u));
  };
  for (const auto& n : plan.nodes) {
    for (const auto& d : plan.DatasetsOf(n)) add(d.kind, d.name, d.write ? "out" : "in", n);
  }
  return uses;
}

namespace {

// Whether a caller who may view the namespaces `visible` may see dataset `key` ("kind:name"): a
// lake or warehouse table when it may view the table's namespace (NamespaceOfTableName); a file
// or a topic when it may view the namespace of a pipeline that reads or writes it (`edges`: all
// of the dataset's, or more).
bool DatasetVisible(const std::string& key, const std::string& kind, const NamespaceFilter& visible,
                    const std::vector<metadata::LineageEdge>& edges) {
  if (kind == "lake" || kind == "warehouse") return visible(NamespaceOfTableName(key.substr(kind.size() + 1)));
  return std::any_of(edges.begin(), edges.end(),
                     [&](const metadata::LineageEdge& e) { return e.dataset == key && visible(e.ns); });
}

Response List(ApiContext& ctx, const Request& req) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(NamespaceFilter visible, VisibleNamespaces(ctx, req, "datasets.read"));
  auto all = ctx.store.datasets().ListDatasets();
  if (!all.ok()) return http::ProblemFromStatus(all.status());
  auto edges = ctx.store.datasets().Lineage(std::nullopt, std::nullopt);
  if (!edges.ok()) return http::ProblemFromStatus(edges.status());
  json items = json::array();
  for (const auto& d : *all) {
    if (!DatasetVisible(d.name, d.kind, visible, *edges)) continue;
    items.push_back({{"name", d.name}, {"kind", d.kind}, {"updated_at", FormatTimestamp(d.updated_at)}});
  }
  return http::PageResponse(std::move(items), std::nullopt);
}

// Edges and schema versions name pipelines: only those of namespaces the caller may read.
json EdgesJson(const std::vector<metadata::LineageEdge>& edges, const NamespaceFilter& visible) {
  json out = json::array();
  for (const auto& e : edges) {
    if (!visible(e.ns)) continue;
    json j = {{"pipeline", e.ns + "/" + e.pipeline}, {"dataset", e.dataset}, {"direction", e.direction}};
    if (!e.columns.empty()) j["columns"] = json::parse(e.columns, nullptr, false);
    out.push_back(std::move(j));
  }
  return out;
}

Response Get(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string name(p.Get("name"));
  SLUICE_HTTP_ASSIGN_OR_RETURN(NamespaceFilter visible, VisibleNamespaces(ctx, req, "pipelines.read"));
  SLUICE_HTTP_ASSIGN_OR_RETURN(NamespaceFilter viewable, VisibleNamespaces(ctx, req, "datasets.read"));
  auto edges = ctx.store.datasets().Lineage(name, std::nullopt);
  if (!edges.ok()) return http::ProblemFromStatus(edges.status());
  const size_t colon = name.find(':');
  if (!DatasetVisible(name, colon == std::string::npos ? "" : name.substr(0, colon), viewable, *edges)) {
    http::Problem p = http::MakeProblem(http::codes::kNotFound, fmt::format("dataset '{}' does not exist", name));
    p.denied = true;
    return p;
  }
  auto history = ctx.store.datasets().SchemaHistory(name);
  if (!history.ok()) return http::ProblemFromStatus(history.status());
  json schemas = json::array();
  for (const auto& v : *history) {
    schemas.push_back({{"version", v.version},
                       {"fields", json::parse(v.schema_json, nullptr, false)},
                       {"pipeline", visible(v.ns) ? json(v.ns + "/" + v.pipeline) : json(nullptr)},
                       {"pipeline_version", v.pipeline_version},
                       {"created_at", FormatTimestamp(v.created_at)}});
  }
  json producers = json::array(), consumers = json::array();
  for (const auto& e : *edges) {
    if (visible(e.ns)) (e.direction == "out" ? producers : consumers).push_back(e.ns + "/" + e.pipeline);
  }
  return Response::Json(200, {{"name", name}, {"schemas", std::move(schemas)}, {"producers", std::move(producers)},
                              {"consumers", std::move(consumers)}});
}

Response GetLineage(ApiContext& ctx, const Request& req) {
  std::optional<std::string> dataset;
  std::optional<std::pair<std::string, std::string>> pipeline;
  if (auto d = req.Query("dataset")) dataset = std::string(*d);
  if (auto q = req.Query("pipeline")) {
    const std::string v(*q);
    const size_t slash = v.find('/');
    if (slash == std::string::npos) return http::FieldProblem(http::codes::kInvalidField, "pipeline", "give NAMESPACE/NAME");
    pipeline = std::make_pair(v.substr(0, slash), v.substr(slash + 1));
  }
  SLUICE_HTTP_ASSIGN_OR_RETURN(NamespaceFilter visible, VisibleNamespaces(ctx, req, "pipelines.read"));
  auto edges = ctx.store.datasets().Lineage(dataset, pipeline);
  if (!edges.ok()) return http::ProblemFromStatus(edges.status());
  return Response::Json(200, {{"edges", EdgesJson(*edges, visible)}});
}

}  // namespace

void AddDatasetRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  routes.push_back(MakeRoute("GET", "/api/v1/datasets", "listDatasets", "datasets.read",
                             [c](const Request& r, const PathParams&) { return List(*c, r); }));
  routes.push_back(MakeRoute("GET", "/api/v1/datasets/{name}", "getDataset", "datasets.read",
                             [c](const Request& r, const PathParams& p) { return Get(*c, r, p); }));
  routes.push_back(MakeRoute("GET", "/api/v1/lineage", "getLineage", "datasets.read",
                             [c](const Request& r, const PathParams&) { return GetLineage(*c, r); }));
}

}  // namespace sluice::api
