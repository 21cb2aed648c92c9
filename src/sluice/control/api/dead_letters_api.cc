// Dead letters of a pipeline: list and filter its envelopes (docs/dead-letters.md), and replay
// the rejected records after a fix — a stream's back into its log topic, a batch pipeline's as
// a run that reads exactly those records. The pipeline's engine::DeadLetterStore, in its
// namespace's folder of the data root, does the reading and the staging; the handlers turn
// requests into its calls and its answers into responses.
#include "sluice/control/api/api.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/engine/exec/dead_letter_store.h"

namespace sluice::api {

namespace {

// The pipeline's latest plan (masked secrets are fine: only paths, kinds and sources are read).
Result<engine::Plan> LatestPlan(ApiContext& ctx, const PathParams& p) {
  const std::string ns(p.Get("namespace")), name(p.Get("name"));
  SLUICE_ASSIGN_OR_RETURN(auto pipeline, ctx.store.pipelines().GetPipeline(ns, name));
  SLUICE_ASSIGN_OR_RETURN(auto version, ctx.store.pipelines().GetVersion(ns, name, pipeline.latest_version));
  return CompileIn(ctx, version.spec, version.environment);
}

engine::DeadLetterStore StoreOf(ApiContext& ctx, const engine::Plan& plan) {
  return engine::DeadLetterStore(NamespaceWorkdirOf(ctx, plan.namespace_), plan);
}

Response List(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(http::PageRequest page, http::ParsePageRequest(req));
  std::optional<engine::DeadLetterId> after;
  if (page.after) {
    auto id = engine::DeadLetterId::Parse(*page.after);
    if (!id.ok()) return http::FieldProblem(http::codes::kInvalidField, "cursor", "not a cursor of this list");
    after = std::move(*id);
  }
  engine::DeadLetterFilter filter;
  if (auto v = req.Query("run")) filter.run = std::string(*v);
  if (auto v = req.Query("component")) filter.component = std::string(*v);
  if (auto v = req.Query("error_class")) filter.error_class = std::string(*v);
  auto plan = LatestPlan(ctx, p);
  if (!plan.ok()) return http::ProblemFromStatus(plan.status());
  auto listed = StoreOf(ctx, *plan).List(filter, after, page.limit);
  if (!listed.ok()) return http::ProblemFromStatus(listed.status());
  json items = json::array();
  for (auto& dead_letter : listed->items) {
    json item = std::move(dead_letter.envelope);
    item["run"] = dead_letter.id.run;
    item["line"] = dead_letter.id.line;
    items.push_back(std::move(item));
  }
  std::optional<std::string> next;
  if (listed->next) next = listed->next->ToString();
  return http::PageResponse(std::move(items), next);
}

Response Replay(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body.empty() ? "{}" : req.body));
  http::JsonFieldReader fields(body);
  engine::DeadLetterFilter filter;
  filter.run = fields.OptionalString("run");
  filter.component = fields.OptionalString("component");
  filter.error_class = fields.OptionalString("error_class");
  if (auto problem = fields.Finish()) return *problem;
  auto plan = LatestPlan(ctx, p);
  if (!plan.ok()) return http::ProblemFromStatus(plan.status());
  const bool stream = plan->mode == engine::PlanMode::kStream;
  // A batch pipeline's replay is a run: without a scheduler there is nothing to stage it for.
  if (!stream && !ctx.scheduler)
    return http::MakeProblem(http::codes::kFailedPrecondition, "this server runs no scheduler");
  auto staged = StoreOf(ctx, *plan).StageReplay(*plan, filter, metadata::NewRunId(ctx.clock.NowMicros()));
  if (!staged.ok()) return http::ProblemFromStatus(staged.status());
  if (stream) return Response::Json(200, {{"replayed", staged->count}, {"to", staged->appended_to}});
  // A batch pipeline: a run whose sources read the replayed records (and nothing else).
  const std::string ns(p.Get("namespace")), name(p.Get("name"));
  auto run = ctx.scheduler->Trigger(ns, name, "replay", ctx.clock.NowMicros(), std::nullopt, staged->overrides);
  if (!run.ok()) return http::ProblemFromStatus(run.status());
  return Response::Json(201, {{"replayed", staged->count}, {"run", run->id}, {"input", staged->input.string()}});
}

}  // namespace

void AddDeadLetterRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  const std::string one = "/api/v1/pipelines/{namespace}/{name}/dead-letters";
  routes.push_back(MakeRoute("GET", one, "listDeadLetters", "pipelines.read",
                             [c](const Request& r, const PathParams& p) { return List(*c, r, p); }));
  routes.push_back(MakeRoute("POST", one + "/replay", "replayDeadLetters", "pipelines.operate",
                             [c](const Request& r, const PathParams& p) { return Replay(*c, r, p); }));
}

}  // namespace sluice::api
