// /api/v1/pipelines: apply (create, or a new immutable version), read, list, versions, plan,
// diff of two versions, pause and resume, delete.
#include <charconv>

#include "sluice/control/api/api.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/pipeline/plan_diff.h"
#include "sluice/pipeline/plan_format.h"
#include "sluice/types/temporal.h"

namespace sluice::api {

namespace {

json PipelineJson(const metadata::PipelineRecord& p) {
  return {{"namespace", p.ns},
          {"name", p.name},
          {"mode", p.mode},
          {"latest_version", p.latest_version},
          {"paused", p.paused},
          {"created_at", FormatTimestamp(p.created_at)},
          {"updated_at", FormatTimestamp(p.updated_at)}};
}

json VersionJson(const metadata::PipelineVersion& v, bool with_spec) {
  json j = {{"namespace", v.ns},     {"name", v.name},       {"version", v.version},
            {"spec_hash", v.spec_hash}, {"author", v.author}, {"message", v.message},
            {"created_at", FormatTimestamp(v.created_at)}};
  if (with_spec) j["spec"] = v.spec;
  j["environment"] = v.environment;
  return j;
}

std::optional<int64_t> PositiveInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1) return std::nullopt;
  return v;
}

Response Apply(ApiContext& ctx, const Request& req) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string spec = fields.RequiredString("spec");
  const std::string message = fields.OptionalString("message").value_or("");
  const std::string environment = fields.OptionalString("environment").value_or("");
  if (auto problem = fields.Finish()) return *problem;
  // The caller's role in the namespace is checked before compiling: the compiler reads that
  // namespace's tables and folders, and its messages must not reach someone without a role there.
  if (auto declared = pipeline::DeclaredNamespace(spec); declared.ok()) {
    if (auto denied = Denied(ctx, req, "pipelines.write", *declared, fmt::format("namespace '{}'", *declared))) {
      return *denied;
    }
  }
  if (!environment.empty()) {
    if (auto env = ctx.store.environments().GetEnvironment(environment); !env.ok())
      return http::ProblemFromStatus(env.status());
    if (auto refused = EnvironmentRefused(ctx, req, "pipelines.write", environment, spec)) return *refused;
  }
  std::optional<http::Problem> unreadable;
  auto plan = CompileForCaller(ctx, req, spec, environment, unreadable);
  if (unreadable) return *unreadable;
  if (!plan.ok()) return SpecProblem(plan.status());
  if (auto denied = Denied(ctx, req, "pipelines.write", plan->namespace_, fmt::format("namespace '{}'", plan->namespace_))) {
    return *denied;
  }
  auto applied = ctx.store.pipelines().ApplyPipeline(
      plan->namespace_, plan->pipeline, spec, plan->version, "", std::string(engine::PlanModeName(plan->mode)),
      req.caller.authenticated() ? req.caller.subject : "anonymous", message, environment);
  if (!applied.ok()) return http::ProblemFromStatus(applied.status());
  if (applied->changed) {
    if (Status st = ctx.store.datasets().RecordLineage(plan->namespace_, plan->pipeline, applied->version,
                                                       DatasetsOf(*plan));
        !st.ok()) {
      return http::ProblemFromStatus(st);
    }
  }
  if (ctx.scheduler) {
    if (Status st = ctx.scheduler->SetSchedule(plan->namespace_, plan->pipeline, plan->schedule); !st.ok()) {
      return http::ProblemFromStatus(st);
    }
    // A stream runs from when it is applied (a new version replaces the running one).
    if (Status st = ctx.scheduler->KeepStreamRunning(plan->namespace_, plan->pipeline); !st.ok()) {
      return http::ProblemFromStatus(st);
    }
  }
  json out = PipelineJson(applied->pipeline);
  out["version"] = applied->version;
  out["created"] = applied->created;
  out["changed"] = applied->changed;
  Response r = Response::Json(applied->created ? 201 : 200, out);
  r.headers.Set("Location", "/api/v1/pipelines/" + plan->namespace_ + "/" + plan->pipeline);
  return r;
}

Response List(ApiContext& ctx, const Request& req) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(http::PageRequest page, http::ParsePageRequest(req));
  std::optional<std::string> ns;
  if (auto q = req.Query("namespace")) ns = std::string(*q);
  std::optional<std::pair<std::string, std::string>> after;
  if (page.after) {
    const size_t slash = page.after->find('/');
    if (slash == std::string::npos) return http::FieldProblem(http::codes::kInvalidField, "cursor", "not a cursor of this list");
    after = std::make_pair(page.after->substr(0, slash), page.after->substr(slash + 1));
  }
  SLUICE_HTTP_ASSIGN_OR_RETURN(NamespaceFilter visible, VisibleNamespaces(ctx, req, "pipelines.read"));
  using Key = std::pair<std::string, std::string>;
  SLUICE_HTTP_ASSIGN_OR_RETURN(
      auto rows,
      (ReadVisiblePage<metadata::PipelineRecord, Key>(
          after, page.limit,
          [&](const std::optional<Key>& from, int n) { return ctx.store.pipelines().ListPipelines(ns, from, n); },
          [&](const metadata::PipelineRecord& p) { return visible(p.ns); },
          [](const metadata::PipelineRecord& p) { return Key(p.ns, p.name); })));
  json items = json::array();
  for (const auto& p : rows.rows) items.push_back(PipelineJson(p));
  std::optional<std::string> next;
  if (rows.next) next = rows.next->first + "/" + rows.next->second;
  return http::PageResponse(std::move(items), next);
}

Response Get(ApiContext& ctx, const PathParams& p) {
  const std::string ns(p.Get("namespace")), name(p.Get("name"));
  auto pipeline = ctx.store.pipelines().GetPipeline(ns, name);
  if (!pipeline.ok()) return http::ProblemFromStatus(pipeline.status());
  auto version = ctx.store.pipelines().GetVersion(ns, name, pipeline->latest_version);
  if (!version.ok()) return http::ProblemFromStatus(version.status());
  json out = PipelineJson(*pipeline);
  out["spec"] = version->spec;
  out["spec_hash"] = version->spec_hash;
  out["environment"] = version->environment;
  return Response::Json(200, out);
}

Response Delete(ApiContext& ctx, const PathParams& p) {
  const std::string ns(p.Get("namespace")), name(p.Get("name"));
  // Its live runs end first (a stream at the end of its epoch).
  for (metadata::RunStatus status : {metadata::RunStatus::kQueued, metadata::RunStatus::kRunning}) {
    metadata::RunFilter f;
    f.ns = ns;
    f.pipeline = name;
    f.status = status;
    if (auto runs = ctx.store.runs().ListRuns(f, std::nullopt, 1000); runs.ok()) {
      for (const auto& r : *runs) (void)ctx.store.runs().CancelRun(r.id);
    }
  }
  Status st = ctx.store.pipelines().DeletePipeline(ns, name);
  if (!st.ok()) return http::ProblemFromStatus(st);
  if (ctx.scheduler) (void)ctx.scheduler->SetSchedule(ns, name, "");
  (void)ctx.store.datasets().ForgetLineage(ns, name);
  return Response::Empty(204);
}

Response SetPaused(ApiContext& ctx, const PathParams& p, bool paused) {
  const std::string ns(p.Get("namespace")), name(p.Get("name"));
  Status st = ctx.store.pipelines().SetPaused(ns, name, paused);
  if (!st.ok()) return http::ProblemFromStatus(st);
  if (ctx.scheduler) {
    if (Status kept = ctx.scheduler->KeepStreamRunning(ns, name); !kept.ok()) return http::ProblemFromStatus(kept);
  }
  auto pipeline = ctx.store.pipelines().GetPipeline(ns, name);
  if (!pipeline.ok()) return http::ProblemFromStatus(pipeline.status());
  return Response::Json(200, PipelineJson(*pipeline));
}

Response ListVersions(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(http::PageRequest page, http::ParsePageRequest(req));
  std::optional<int64_t> before;
  if (page.after) {
    before = PositiveInt(*page.after);
    if (!before) return http::FieldProblem(http::codes::kInvalidField, "cursor", "not a cursor of this list");
  }
  auto rows = ctx.store.pipelines().ListVersions(std::string(p.Get("namespace")), std::string(p.Get("name")), before,
                                                 static_cast<int>(page.limit));
  if (!rows.ok()) return http::ProblemFromStatus(rows.status());
  json items = json::array();
  for (const auto& v : *rows) items.push_back(VersionJson(v, false));
  std::optional<std::string> next;
  if (static_cast<int64_t>(rows->size()) == page.limit) next = std::to_string(rows->back().version);
  return http::PageResponse(std::move(items), next);
}

// The version named by a path parameter or query parameter `what`.
Result<metadata::PipelineVersion> VersionOf(ApiContext& ctx, const PathParams& p, std::string_view text,
                                            std::string_view what) {
  auto v = PositiveInt(text);
  if (!v) return Status::InvalidArgument("{} must be a version number (1, 2, ...), got '{}'", what, text);
  return ctx.store.pipelines().GetVersion(std::string(p.Get("namespace")), std::string(p.Get("name")), *v);
}

Response GetVersion(ApiContext& ctx, const PathParams& p) {
  auto v = VersionOf(ctx, p, p.Get("version"), "version");
  if (!v.ok()) return http::ProblemFromStatus(v.status());
  return Response::Json(200, VersionJson(*v, true));
}

// The plan of a version (default: the latest).
Response Plan(ApiContext& ctx, const Request& req, const PathParams& p) {
  std::string which;
  if (auto q = req.Query("version")) {
    which = std::string(*q);
  } else {
    auto pipeline = ctx.store.pipelines().GetPipeline(std::string(p.Get("namespace")), std::string(p.Get("name")));
    if (!pipeline.ok()) return http::ProblemFromStatus(pipeline.status());
    which = std::to_string(pipeline->latest_version);
  }
  auto v = VersionOf(ctx, p, which, "version");
  if (!v.ok()) return http::ProblemFromStatus(v.status());
  if (auto refused = EnvironmentRefused(ctx, req, "pipelines.read", v->environment, v->spec)) return *refused;
  // A plan shows the schemas of the tables it reads: another namespace's only to its viewers.
  std::optional<http::Problem> unreadable;
  auto plan = CompileForCaller(ctx, req, v->spec, v->environment, unreadable);
  if (unreadable) return *unreadable;
  if (!plan.ok()) {
    return http::MakeProblem(http::codes::kFailedPrecondition,
                             "version " + which + " no longer compiles here: " + plan.status().message());
  }
  Response r;
  r.status = 200;
  r.content_type = std::string(http::kApplicationJson);
  r.body = pipeline::PlanToJson(*plan);
  return r;
}

Response Diff(ApiContext& ctx, const Request& req, const PathParams& p) {
  auto from_q = req.Query("from");
  auto to_q = req.Query("to");
  if (!from_q || !to_q) {
    return http::FieldProblem(http::codes::kInvalidField, from_q ? "to" : "from",
                              "give both versions: ?from=1&to=2");
  }
  auto from = VersionOf(ctx, p, *from_q, "from");
  if (!from.ok()) return http::ProblemFromStatus(from.status());
  auto to = VersionOf(ctx, p, *to_q, "to");
  if (!to.ok()) return http::ProblemFromStatus(to.status());
  for (const auto* v : {&*from, &*to}) {
    if (auto refused = EnvironmentRefused(ctx, req, "pipelines.read", v->environment, v->spec)) return *refused;
  }
  json out = {{"from", from->version}, {"to", to->version}, {"spec", pipeline::DiffLines(from->spec, to->spec)}};
  std::optional<http::Problem> unreadable;
  auto a = CompileForCaller(ctx, req, from->spec, from->environment, unreadable);
  if (unreadable) return *unreadable;
  auto b = CompileForCaller(ctx, req, to->spec, to->environment, unreadable);
  if (unreadable) return *unreadable;
  if (a.ok() && b.ok()) {
    out["plan"] = pipeline::DiffPlans(*a, *b);
  } else {
    out["plan"] = nullptr;
    out["plan_error"] = (a.ok() ? b.status() : a.status()).message();
  }
  return Response::Json(200, out);
}

}  // namespace

void AddPipelineRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  const std::string base = "/api/v1/pipelines";
  const std::string one = base + "/{namespace}/{name}";
  auto add = [&](std::string method, std::string pattern, std::string op, std::string permission, http::Handler h,
                 bool json_body = false) {
    routes.push_back(MakeRoute(std::move(method), std::move(pattern), std::move(op), std::move(permission), std::move(h)));
    routes.back().json_body = json_body;
  };
  ApiContext* c = &ctx;
  add("GET", base, "listPipelines", "pipelines.read", [c](const Request& r, const PathParams&) { return List(*c, r); });
  add("POST", base, "applyPipeline", "pipelines.write", [c](const Request& r, const PathParams&) { return Apply(*c, r); },
      true);
  add("GET", one, "getPipeline", "pipelines.read", [c](const Request&, const PathParams& p) { return Get(*c, p); });
  add("DELETE", one, "deletePipeline", "pipelines.write", [c](const Request&, const PathParams& p) { return Delete(*c, p); });
  add("POST", one + "/pause", "pausePipeline", "pipelines.operate",
      [c](const Request&, const PathParams& p) { return SetPaused(*c, p, true); });
  add("POST", one + "/resume", "resumePipeline", "pipelines.operate",
      [c](const Request&, const PathParams& p) { return SetPaused(*c, p, false); });
  add("GET", one + "/versions", "listPipelineVersions", "pipelines.read",
      [c](const Request& r, const PathParams& p) { return ListVersions(*c, r, p); });
  add("GET", one + "/versions/{version}", "getPipelineVersion", "pipelines.read",
      [c](const Request&, const PathParams& p) { return GetVersion(*c, p); });
  add("GET", one + "/plan", "getPipelinePlan", "pipelines.read",
      [c](const Request& r, const PathParams& p) { return Plan(*c, r, p); });
  add("GET", one + "/diff", "diffPipelineVersions", "pipelines.read",
      [c](const Request& r, const PathParams& p) { return Diff(*c, r, p); });
}

}  // namespace sluice::api
