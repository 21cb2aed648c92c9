// Templates: a pipeline spec with {{ parameters }} and a parameter schema (docs/templates.md).
// Stored when they parse; rendering checks the values, fills the placeholders and compiles the
// result like any spec — and can apply it as a pipeline in the same request.
#include "sluice/control/api/api.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/pipeline/template.h"
#include "sluice/types/temporal.h"

namespace sluice::api {

namespace {

json TemplateJson(const metadata::TemplateRecord& r, const pipeline::Template& t, bool with_text) {
  json j = pipeline::TemplateSchemaJson(t);
  j["created_at"] = FormatTimestamp(r.created_at);
  j["updated_at"] = FormatTimestamp(r.updated_at);
  if (with_text) j["text"] = r.text;
  return j;
}

Response Put(ApiContext& ctx, const Request& req) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string text = fields.RequiredString("template");
  if (auto problem = fields.Finish()) return *problem;
  auto t = pipeline::ParseTemplate(text, "template.yaml");
  if (!t.ok()) return SpecProblem(t.status());
  metadata::TemplateRecord rec{t->ns.empty() ? "default" : t->ns, t->name, t->description, text, 0, 0};
  if (auto denied = Denied(ctx, req, "templates.write", rec.ns, fmt::format("namespace '{}'", rec.ns))) return *denied;
  auto created = ctx.store.pipelines().PutTemplate(rec);
  if (!created.ok()) return http::ProblemFromStatus(created.status());
  auto stored = ctx.store.pipelines().GetTemplate(rec.ns, rec.name);
  if (!stored.ok()) return http::ProblemFromStatus(stored.status());
  return Response::Json(*created ? 201 : 200, TemplateJson(*stored, *t, false));
}

Response List(ApiContext& ctx, const Request& req) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(NamespaceFilter visible, VisibleNamespaces(ctx, req, "templates.read"));
  auto all = ctx.store.pipelines().ListTemplates();
  if (!all.ok()) return http::ProblemFromStatus(all.status());
  json items = json::array();
  for (const auto& r : *all) {
    if (!visible(r.ns)) continue;
    items.push_back({{"namespace", r.ns}, {"name", r.name}, {"description", r.description},
                     {"updated_at", FormatTimestamp(r.updated_at)}});
  }
  return http::PageResponse(std::move(items), std::nullopt);
}

Result<std::pair<metadata::TemplateRecord, pipeline::Template>> Load(ApiContext& ctx, const PathParams& p) {
  SLUICE_ASSIGN_OR_RETURN(
      auto rec, ctx.store.pipelines().GetTemplate(std::string(p.Get("namespace")), std::string(p.Get("name"))));
  SLUICE_ASSIGN_OR_RETURN(auto t, pipeline::ParseTemplate(rec.text, rec.name + ".yaml"));
  return std::make_pair(std::move(rec), std::move(t));
}

Response Get(ApiContext& ctx, const PathParams& p) {
  auto loaded = Load(ctx, p);
  if (!loaded.ok()) return http::ProblemFromStatus(loaded.status());
  return Response::Json(200, TemplateJson(loaded->first, loaded->second, true));
}

Response Delete(ApiContext& ctx, const PathParams& p) {
  Status st = ctx.store.pipelines().DeleteTemplate(std::string(p.Get("namespace")), std::string(p.Get("name")));
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);
}

// {values: {param: value}, apply?: bool, message?, environment?} -> {spec} (and the applied
// pipeline when apply is true).
Response Render(ApiContext& ctx, const Request& req, const PathParams& p, const http::Handler& apply_pipeline) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const json* values = fields.OptionalObject("values");
  const bool apply = fields.OptionalBool("apply").value_or(false);
  const std::optional<std::string> message = fields.OptionalString("message");
  const std::optional<std::string> environment = fields.OptionalString("environment");
  if (auto problem = fields.Finish()) return *problem;
  std::map<std::string, std::string> given;
  if (values) {
    for (const auto& [k, v] : values->items()) given[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  auto loaded = Load(ctx, p);
  if (!loaded.ok()) return http::ProblemFromStatus(loaded.status());
  auto spec = pipeline::RenderTemplate(loaded->second, given);
  if (!spec.ok()) return SpecProblem(spec.status());
  if (!apply) {
    // Checked like any spec, but not stored.
    // Compiled in the environment for the rendered pipeline's namespace: the caller must be able
    // to apply there, and the environment must be granted to it.
    if (auto refused = EnvironmentRefused(ctx, req, "pipelines.write", environment.value_or(""), *spec)) {
      return *refused;
    }
    std::optional<http::Problem> unreadable;
    auto plan = CompileForCaller(ctx, req, *spec, environment.value_or(""), unreadable);
    if (unreadable) return *unreadable;
    if (!plan.ok()) return SpecProblem(plan.status());
    return Response::Json(200, {{"spec", *spec}, {"namespace", plan->namespace_}, {"name", plan->pipeline}});
  }
  // Apply through the pipelines route, so the rendered spec goes through exactly its checks.
  json apply_body = {{"spec", *spec}, {"message", message.value_or("from template " + loaded->first.ns + "/" + loaded->first.name)}};
  if (environment) apply_body["environment"] = *environment;
  http::Request inner = req;
  inner.method = "POST";
  inner.body = apply_body.dump();
  return apply_pipeline(inner, http::PathParams());
}

}  // namespace

void AddTemplateRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  const std::string one = "/api/v1/templates/{namespace}/{name}";
  routes.push_back(MakeRoute("GET", "/api/v1/templates", "listTemplates", "templates.read",
                             [c](const Request& r, const PathParams&) { return List(*c, r); }));
  routes.push_back(MakeRoute("POST", "/api/v1/templates", "putTemplate", "templates.write",
                             [c](const Request& r, const PathParams&) { return Put(*c, r); }));
  routes.back().json_body = true;
  routes.push_back(MakeRoute("GET", one, "getTemplate", "templates.read",
                             [c](const Request&, const PathParams& p) { return Get(*c, p); }));
  routes.push_back(MakeRoute("DELETE", one, "deleteTemplate", "templates.write",
                             [c](const Request&, const PathParams& p) { return Delete(*c, p); }));
  // Render may apply the result through the pipelines' apply route (added before these).
  http::Handler apply;
  for (const auto& r : routes) {
    if (r.operation_id == "applyPipeline") apply = r.handler;
  }
  SLUICE_CHECK(apply) << "the pipeline routes come before the template routes";
  routes.push_back(MakeRoute("POST", one + "/render", "renderTemplate", "pipelines.write",
                             [c, apply](const Request& r, const PathParams& p) { return Render(*c, r, p, apply); }));
  routes.back().json_body = true;
}

}  // namespace sluice::api
