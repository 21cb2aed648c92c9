// The run queue for remote workers (`sluice worker --server URL`): claim a run (with its spec,
// its environment's effective config and the secrets it references, opened), renew its lease,
// append to its log, finish or release it. A claim names the kind of slot asking ("batch" or
// "stream"); a worker that names none (an older one) claims runs of any kind. The server keeps the rules: leases,
// retries and dependency triggers happen here exactly as for the embedded worker.
#include "sluice/control/api/api.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/control/worker/run_queue.h"

namespace sluice::api {

namespace {

json RawRun(const metadata::RunRecord& r) {
  return {{"id", r.id},
          {"namespace", r.ns},
          {"pipeline", r.pipeline},
          {"version", r.version},
          {"cause", r.cause},
          {"attempt", r.attempt},
          {"logical_time", r.logical_time},
          {"overrides", r.overrides},
          {"lease_generation", r.lease_generation}};
}

Response NoQueue() { return http::MakeProblem(http::codes::kFailedPrecondition, "this server hands out no runs"); }

Response Claim(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const int64_t lease_ms = fields.OptionalInt("lease_ms").value_or(30000);
  const std::string kind_name = fields.OptionalString("kind").value_or("any");
  if (auto problem = fields.Finish()) return *problem;
  if (lease_ms < 1000 || lease_ms > 3600000) {
    return http::FieldProblem(http::codes::kInvalidField, "lease_ms", "between 1000 and 3600000");
  }
  const std::optional<metadata::RunKind> kind = metadata::ParseRunKind(kind_name);
  if (!kind) return http::FieldProblem(http::codes::kInvalidField, "kind", "batch, stream or any");
  if (!ctx.queue) return NoQueue();
  auto claimed = ctx.queue->Claim(std::string(p.Get("worker")), lease_ms * 1000, *kind);
  if (!claimed.ok()) return http::ProblemFromStatus(claimed.status());
  if (!*claimed) return Response::Empty(204);
  const worker::ClaimedRun& c = **claimed;
  json out = {{"run", RawRun(c.run)}, {"spec", c.spec}, {"error", c.error}, {"config", json::object()},
              {"secrets", json::object()}};
  if (c.readable_namespaces) out["readable_namespaces"] = *c.readable_namespaces;
  if (c.error.empty() && !c.environment.empty()) {
    auto config = metadata::EffectiveConfig(ctx.store.environments(), c.environment);
    if (config.ok()) out["config"] = *config;
    for (const auto& name : metadata::ReferencedSecrets(c.spec)) {
      if (auto value = c.resolver("secret", name)) out["secrets"][name] = *value;
    }
  }
  return Response::Json(200, out);
}

// A member of a JSON object body as sent, its members in the order the sender wrote them (a
// summary's or progress's components are in the plan's order); "" when absent.
std::string MemberAsSent(const std::string& body, const char* name) {
  const auto j = nlohmann::ordered_json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains(name)) return "";
  return j[name].dump();
}

Response Lease(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string worker = fields.RequiredString("worker");
  const int64_t lease_ms = fields.OptionalInt("lease_ms").value_or(30000);
  const int64_t generation = fields.OptionalInt("lease_generation").value_or(0);
  const json* progress = fields.OptionalObject("progress");
  if (auto problem = fields.Finish()) return *problem;
  if (!ctx.queue) return NoQueue();
  auto cancel = ctx.queue->Renew(std::string(p.Get("id")), worker, generation, lease_ms * 1000,
                                 progress ? MemberAsSent(req.body, "progress") : "");
  if (!cancel.ok()) return http::ProblemFromStatus(cancel.status());
  return Response::Json(200, {{"cancel_requested", *cancel}});
}

Response Finish(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string worker = fields.RequiredString("worker");
  const std::string status_name = fields.RequiredString("status");
  const json* summary = fields.OptionalObject("summary");
  const std::string error = fields.OptionalString("error").value_or("");
  const int64_t generation = fields.OptionalInt("lease_generation").value_or(0);
  if (auto problem = fields.Finish()) return *problem;
  const std::optional<metadata::RunStatus> status = metadata::ParseRunStatus(status_name);
  if (!status || !metadata::IsFinal(*status)) {
    return http::FieldProblem(http::codes::kInvalidField, "status", "succeeded, failed or cancelled");
  }
  if (!ctx.queue) return NoQueue();
  auto run = ctx.store.runs().GetRun(std::string(p.Get("id")));  // the server's record, not the worker's word
  if (!run.ok()) return http::ProblemFromStatus(run.status());
  run->lease_generation = generation;  // the worker's claim, checked against the server's
  Status st = ctx.queue->Finish(*run, worker, *status, summary ? MemberAsSent(req.body, "summary") : "{}", error);
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);
}

Response Release(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string worker = fields.RequiredString("worker");
  const int64_t generation = fields.OptionalInt("lease_generation").value_or(0);
  if (auto problem = fields.Finish()) return *problem;
  if (!ctx.queue) return NoQueue();
  Status st = ctx.queue->Release(std::string(p.Get("id")), worker, generation);
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);
}

Response AppendLog(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string text = fields.RequiredString("text");
  if (auto problem = fields.Finish()) return *problem;
  if (!ctx.queue) return NoQueue();
  Status st = ctx.queue->Log(std::string(p.Get("id")), text);
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);
}

}  // namespace

void AddWorkerRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  auto add = [&](std::string method, std::string pattern, std::string op, http::Handler h) {
    routes.push_back(MakeRoute(std::move(method), std::move(pattern), std::move(op), "workers", std::move(h)));
    routes.back().json_body = true;
    routes.back().scope = http::Scope::kCluster;  // a worker is given the secrets of the runs it claims
  };
  add("POST", "/api/v1/workers/{worker}/claim", "claimRun", [c](const Request& r, const PathParams& p) { return Claim(*c, r, p); });
  add("POST", "/api/v1/runs/{id}/lease", "renewRunLease", [c](const Request& r, const PathParams& p) { return Lease(*c, r, p); });
  add("POST", "/api/v1/runs/{id}/finish", "finishRun", [c](const Request& r, const PathParams& p) { return Finish(*c, r, p); });
  add("POST", "/api/v1/runs/{id}/release", "releaseRun", [c](const Request& r, const PathParams& p) { return Release(*c, r, p); });
  add("POST", "/api/v1/runs/{id}/log", "appendRunLog", [c](const Request& r, const PathParams& p) { return AppendLog(*c, r, p); });
}

}  // namespace sluice::api
