// /api/v1/health (the process answers) and /api/v1/ready (the metadata database answers too, how
// many runs wait for a worker slot of their kind, and the data root's id for remote workers).
#include "sluice/control/api/api.h"
#include "sluice/control/scheduler/scheduler_service.h"

namespace sluice::api {

void AddHealthRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  routes.push_back(MakeRoute("GET", "/api/v1/health", "getHealth", "public",
                             [](const http::Request&, const http::PathParams&) {
                               return http::Response::Json(200, {{"status", "ok"}});
                             }));
  routes.push_back(MakeRoute("GET", "/api/v1/ready", "getReadiness", "public", [c](const http::Request&, const http::PathParams&) {
    auto v = c->store.SchemaVersion();
    if (!v.ok()) {
      http::Problem p = http::MakeProblem(http::codes::kUnavailable, "the metadata database does not answer");
      p.internal_message = v.status().ToString();
      return http::Response(std::move(p));
    }
    json out = {{"status", "ready"}, {"metadata", c->store.dialect()}, {"schema_version", *v}};
    if (!c->options.data_root_id.empty()) out["data_root_id"] = c->options.data_root_id;
    // Runs that wait for a worker slot of their kind (Scheduler::CountWaiting).
    if (c->scheduler) {
      auto waiting = c->scheduler->CountWaiting();
      if (waiting.ok()) {
        out["waiting_runs"] = {{"batch", waiting->batch},
                               {"stream", waiting->stream},
                               {"after_seconds", c->scheduler->wait_warning_micros() / 1'000'000}};
      }
    }
    return http::Response::Json(200, out);
  }));
}

}  // namespace sluice::api
