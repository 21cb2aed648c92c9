// Runs: trigger (pinned to a pipeline version), backfill (one run per schedule interval), list,
// read, cancel, logs.
#include <charconv>

#include "sluice/control/api/api.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/types/temporal.h"

namespace sluice::api {

namespace {

// Run answers keep the members of a summary and a progress as the worker wrote them (the
// components in the plan's order).
using ordered_json = nlohmann::ordered_json;

ordered_json Time(std::optional<int64_t> micros) {
  return micros ? ordered_json(FormatTimestamp(*micros)) : ordered_json(nullptr);
}

// A JSON text the run record keeps (summary, progress); null when empty or unreadable.
ordered_json StoredJson(const std::string& text) {
  if (text.empty()) return nullptr;
  ordered_json j = ordered_json::parse(text, nullptr, false);
  return j.is_discarded() ? ordered_json(nullptr) : j;
}

ordered_json RunJson(const metadata::RunRecord& r) {
  ordered_json j = {{"id", r.id},
                    {"namespace", r.ns},
                    {"pipeline", r.pipeline},
                    {"version", r.version},
                    {"cause", r.cause},
                    {"status", std::string(metadata::RunStatusName(r.status))},
                    {"attempt", r.attempt},
                    {"logical_time", FormatTimestamp(r.logical_time)},
                    {"created_at", FormatTimestamp(r.created_at)},
                    {"started_at", Time(r.started_at)},
                    {"finished_at", Time(r.finished_at)},
                    {"error", r.error}};
  if (r.not_before) j["not_before"] = FormatTimestamp(r.not_before);
  if (r.cancel_requested) j["cancel_requested"] = true;
  j["summary"] = StoredJson(r.summary);
  // Where a running run stands (its worker's last report); null for a run that never reported.
  j["progress"] = StoredJson(r.progress);
  return j;
}

// A timestamp member ("2026-11-01T00:00:00Z"), recorded as a field error when malformed.
std::optional<int64_t> TimeField(http::JsonFieldReader& fields, std::string_view name, bool required) {
  std::optional<std::string> text = required ? std::optional<std::string>(fields.RequiredString(name))
                                             : fields.OptionalString(name);
  if (!text || text->empty()) return std::nullopt;
  auto t = ParseTimestamp(*text);
  if (!t) fields.AddError(name, "must be a timestamp like 2026-11-01T00:00:00Z, not '" + *text + "'");
  return t;
}

Response NoScheduler() {
  return http::MakeProblem(http::codes::kFailedPrecondition, "this server runs no scheduler");
}

Response TriggerRun(ApiContext& ctx, const Request& req, const PathParams& p) {
  json body = json::object();
  if (!req.body.empty()) {
    SLUICE_HTTP_ASSIGN_OR_RETURN(body, http::ParseJsonObject(req.body));
  }
  http::JsonFieldReader fields(body);
  const std::optional<int64_t> version = fields.OptionalInt("version");
  const std::optional<int64_t> logical = TimeField(fields, "logical_time", false);
  if (auto problem = fields.Finish()) return *problem;
  if (!ctx.scheduler) return NoScheduler();
  auto run = ctx.scheduler->Trigger(std::string(p.Get("namespace")), std::string(p.Get("name")), "manual",
                                    logical.value_or(ctx.clock.NowMicros()), version);
  if (!run.ok()) return http::ProblemFromStatus(run.status());
  Response r = Response::OrderedJson(201, RunJson(*run));
  r.headers.Set("Location", "/api/v1/runs/" + run->id);
  return r;
}

Response Backfill(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::optional<int64_t> from = TimeField(fields, "from", true);
  const std::optional<int64_t> to = TimeField(fields, "to", true);
  if (auto problem = fields.Finish()) return *problem;
  if (!ctx.scheduler) return NoScheduler();
  auto runs = ctx.scheduler->Backfill(std::string(p.Get("namespace")), std::string(p.Get("name")), *from, *to);
  if (!runs.ok()) return http::ProblemFromStatus(runs.status());
  return Response::Json(201, {{"runs", *runs}, {"count", runs->size()}});
}

Response ListRuns(ApiContext& ctx, const Request& req) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(http::PageRequest page, http::ParsePageRequest(req));
  metadata::RunFilter filter;
  if (auto v = req.Query("namespace")) filter.ns = std::string(*v);
  if (auto v = req.Query("pipeline")) filter.pipeline = std::string(*v);
  if (auto v = req.Query("status")) {
    filter.status = metadata::ParseRunStatus(*v);
    if (!filter.status) return http::PageResponse(json::array(), std::nullopt);  // no run has that status
  }
  SLUICE_HTTP_ASSIGN_OR_RETURN(NamespaceFilter visible, VisibleNamespaces(ctx, req, "runs.read"));
  SLUICE_HTTP_ASSIGN_OR_RETURN(
      auto rows,
      (ReadVisiblePage<metadata::RunRecord, std::string>(
          page.after, page.limit,
          [&](const std::optional<std::string>& from, int n) { return ctx.store.runs().ListRuns(filter, from, n); },
          [&](const metadata::RunRecord& r) { return visible(r.ns); },
          [](const metadata::RunRecord& r) { return r.id; })));
  ordered_json items = ordered_json::array();
  for (const auto& r : rows.rows) items.push_back(RunJson(r));
  return http::PageResponse(std::move(items), rows.next);
}

// The run of the path, when the caller holds `permission` in its namespace; else the problem (a
// run of a namespace the caller cannot see does not exist for it).
http::ProblemOr<metadata::RunRecord> VisibleRun(ApiContext& ctx, const Request& req, const PathParams& p,
                                                std::string_view permission) {
  const std::string id(p.Get("id"));
  auto run = ctx.store.runs().GetRun(id);
  if (!run.ok()) return http::ProblemFromStatus(run.status());
  if (auto denied = Denied(ctx, req, permission, run->ns, fmt::format("run '{}'", id))) return std::move(*denied);
  return std::move(*run);
}

Response GetRun(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(auto run, VisibleRun(ctx, req, p, "runs.read"));
  return Response::OrderedJson(200, RunJson(run));
}

Response CancelRun(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(auto visible, VisibleRun(ctx, req, p, "pipelines.operate"));
  auto run = ctx.store.runs().CancelRun(visible.id);
  if (!run.ok()) return http::ProblemFromStatus(run.status());
  ordered_json out = RunJson(*run);
  // A stream's scheduler would start it again at once: cancelling it pauses its pipeline, so it
  // stays stopped (its checkpoint kept) until resumed.
  auto pipeline = ctx.store.pipelines().GetPipeline(run->ns, run->pipeline);
  if (pipeline.ok() && pipeline->mode == "stream" && !pipeline->paused) {
    Status paused = ctx.store.pipelines().SetPaused(run->ns, run->pipeline, true);
    if (!paused.ok()) return http::ProblemFromStatus(paused);
    out["pipeline_paused"] = true;
  }
  return Response::OrderedJson(200, out);
}

Response RunLogs(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(auto visible, VisibleRun(ctx, req, p, "runs.read"));
  auto log = ctx.store.runs().GetRunLog(visible.id);
  if (!log.ok()) return http::ProblemFromStatus(log.status());
  return Response::Text(200, *log);
}

}  // namespace

void AddRunRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  const std::string one = "/api/v1/pipelines/{namespace}/{name}";
  routes.push_back(MakeRoute("POST", one + "/runs", "triggerRun", "pipelines.operate",
                             [c](const Request& r, const PathParams& p) { return TriggerRun(*c, r, p); }));
  routes.push_back(MakeRoute("POST", one + "/backfill", "backfillPipeline", "pipelines.operate",
                             [c](const Request& r, const PathParams& p) { return Backfill(*c, r, p); }));
  routes.back().json_body = true;
  routes.push_back(MakeRoute("GET", "/api/v1/runs", "listRuns", "runs.read",
                             [c](const Request& r, const PathParams&) { return ListRuns(*c, r); }));
  routes.push_back(MakeRoute("GET", "/api/v1/runs/{id}", "getRun", "runs.read",
                             [c](const Request& r, const PathParams& p) { return GetRun(*c, r, p); }));
  routes.push_back(MakeRoute("POST", "/api/v1/runs/{id}/cancel", "cancelRun", "pipelines.operate",
                             [c](const Request& r, const PathParams& p) { return CancelRun(*c, r, p); }));
  routes.push_back(MakeRoute("GET", "/api/v1/runs/{id}/logs", "getRunLogs", "runs.read",
                             [c](const Request& r, const PathParams& p) { return RunLogs(*c, r, p); }));
}

}  // namespace sluice::api
