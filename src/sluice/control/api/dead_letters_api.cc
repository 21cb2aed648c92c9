// Dead letters of a pipeline: list and filter its envelopes (docs/dead-letters.md), and replay
// the rejected records after a fix — a stream's back into its log topic, a batch pipeline's as
// a run that reads exactly those records.
#include <filesystem>
#include <fstream>

#include "sluice/control/api/api.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/engine/plan/node_configs.h"
#include "sluice/io/file_system.h"
#include "sluice/io/workdir.h"
#include "sluice/log/log.h"

namespace sluice::api {

namespace {

namespace fs = std::filesystem;

struct Filter {
  std::optional<std::string> run, component, error_class;
  bool Matches(const std::string& file_run, const json& envelope) const {
    if (run && file_run != *run) return false;
    if (component && envelope.value("component", "") != *component) return false;
    if (error_class && envelope.value("error_class", "") != *error_class) return false;
    return true;
  }
};

// The pipeline's latest plan (masked secrets are fine: only paths and kinds are read).
Result<engine::Plan> LatestPlan(ApiContext& ctx, const PathParams& p) {
  const std::string ns(p.Get("namespace")), name(p.Get("name"));
  SLUICE_ASSIGN_OR_RETURN(auto pipeline, ctx.store.pipelines().GetPipeline(ns, name));
  SLUICE_ASSIGN_OR_RETURN(auto version, ctx.store.pipelines().GetVersion(ns, name, pipeline.latest_version));
  return CompileIn(ctx, version.spec, version.environment);
}

// The envelope files, oldest first: (run or epoch name, path).
Result<std::vector<std::pair<std::string, std::string>>> DeadLetterFiles(ApiContext& ctx, const engine::Plan& plan) {
  if (plan.dead_letter.kind == engine::DeadLetterKind::kLake) {
    return Status::FailedPrecondition("the dead letters of {} go to the lake table {}; read them with `sluice lake read {}`",
                                      plan.pipeline, plan.dead_letter.table, plan.dead_letter.table);
  }
  std::vector<std::pair<std::string, std::string>> files;
  fs::path where = plan.dead_letter.path.empty() ? NamespaceWorkdirOf(ctx, plan.namespace_).DeadLetters(plan.StateKey())
                                                 : fs::path(plan.dead_letter.path);
  std::error_code ec;
  if (fs::is_regular_file(where, ec)) {
    files.emplace_back(where.stem().string(), where.string());
  } else if (fs::is_directory(where, ec)) {
    for (const auto& e : fs::directory_iterator(where, ec)) {
      if (e.path().extension() == ".ndjson") files.emplace_back(e.path().stem().string(), e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

Filter FilterOf(const Request& req) {
  Filter f;
  if (auto v = req.Query("run")) f.run = std::string(*v);
  if (auto v = req.Query("component")) f.component = std::string(*v);
  if (auto v = req.Query("error_class")) f.error_class = std::string(*v);
  return f;
}

// Visits the matching envelopes in order; `visit` returns false to stop.
Status ForEach(const std::vector<std::pair<std::string, std::string>>& files, const Filter& filter,
               const std::function<bool(const std::string& run, int64_t line, const json& envelope)>& visit) {
  for (const auto& [run, path] : files) {
    std::ifstream in(path);
    if (!in) return Status::IoError("cannot read {}", path);
    int64_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      json env = json::parse(line, nullptr, false);
      if (!env.is_object() || !filter.Matches(run, env)) continue;
      if (!visit(run, line_no, env)) return Status::OK();
    }
  }
  return Status::OK();
}

Response List(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(http::PageRequest page, http::ParsePageRequest(req));
  auto plan = LatestPlan(ctx, p);
  if (!plan.ok()) return http::ProblemFromStatus(plan.status());
  auto files = DeadLetterFiles(ctx, *plan);
  if (!files.ok()) return http::ProblemFromStatus(files.status());
  // The cursor is "run\nline" of the last envelope returned.
  std::optional<std::pair<std::string, int64_t>> after;
  if (page.after) {
    const size_t nl = page.after->find('\n');
    if (nl == std::string::npos) return http::FieldProblem(http::codes::kInvalidField, "cursor", "not a cursor of this list");
    after = std::make_pair(page.after->substr(0, nl), std::stoll("0" + page.after->substr(nl + 1)));
  }
  json items = json::array();
  std::optional<std::string> next;
  Status st = ForEach(*files, FilterOf(req), [&](const std::string& run, int64_t line, const json& env) {
    if (after && std::make_pair(run, line) <= *after) return true;
    json item = env;
    item["run"] = run;
    item["line"] = line;
    items.push_back(std::move(item));
    if (static_cast<int64_t>(items.size()) == page.limit) {
      next = run + "\n" + std::to_string(line);
      return false;
    }
    return true;
  });
  if (!st.ok()) return http::ProblemFromStatus(st);
  return http::PageResponse(std::move(items), next);
}

Response Replay(ApiContext& ctx, const Request& req, const PathParams& p) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body.empty() ? "{}" : req.body));
  http::JsonFieldReader fields(body);
  Filter filter;
  filter.run = fields.OptionalString("run");
  filter.component = fields.OptionalString("component");
  filter.error_class = fields.OptionalString("error_class");
  if (auto problem = fields.Finish()) return *problem;
  auto plan = LatestPlan(ctx, p);
  if (!plan.ok()) return http::ProblemFromStatus(plan.status());
  auto files = DeadLetterFiles(ctx, *plan);
  if (!files.ok()) return http::ProblemFromStatus(files.status());
  // The payloads, by the source they came from.
  std::map<std::string, std::vector<std::string>> by_source;
  int64_t count = 0;
  Status st = ForEach(*files, filter, [&](const std::string&, int64_t, const json& env) {
    if (env.contains("payload") && env["payload"].is_string()) {
      by_source[env.value("source", "")].push_back(env["payload"].get<std::string>());
      ++count;
    }
    return true;
  });
  if (!st.ok()) return http::ProblemFromStatus(st);
  if (count == 0) return http::MakeProblem(http::codes::kNotFound, "no dead letters match");

  std::map<std::string, const engine::PlanNode*> sources;
  for (const auto& n : plan->nodes) {
    if (n.role == engine::Role::kSource) sources[n.name] = &n;
  }
  for (const auto& [source, payloads] : by_source) {
    auto it = sources.find(source);
    if (it == sources.end()) {
      return http::MakeProblem(http::codes::kFailedPrecondition,
                               "dead letters from source '" + source + "', which the latest version no longer has");
    }
    const auto* files_cfg = it->second->ConfigAs<engine::FilesSourceConfig>();
    const auto* stream_cfg = it->second->ConfigAs<engine::StreamSourceConfig>();
    if (!(files_cfg && files_cfg->format == engine::FileFormat::kJson) &&
        !(stream_cfg && stream_cfg->kind == engine::StreamSourceConfig::Kind::kLog)) {
      return http::MakeProblem(http::codes::kFailedPrecondition,
                               "source '" + source + "' is a " + it->second->kind +
                                   " source: replay sends records back through JSON files sources and log (and http) "
                                   "sources only");
    }
  }
  const std::string ns(p.Get("namespace")), name(p.Get("name"));
  if (plan->mode == engine::PlanMode::kStream) {
    // Back into the topics the stream reads: its next epochs process them again.
    json to = json::array();
    for (const auto& [source, payloads] : by_source) {
      const auto& cfg = sources[source]->Config<engine::StreamSourceConfig>();
      auto lg = log::Log::OpenShared(cfg.log_root, cfg.topic, log::LogOptions{.partitions = 0});
      if (!lg.ok()) return http::ProblemFromStatus(lg.status());
      std::vector<std::string_view> views(payloads.begin(), payloads.end());
      auto at = (*lg)->Append(0, views);
      if (!at.ok()) return http::ProblemFromStatus(at.status());
      to.push_back("log:" + cfg.topic);
    }
    return Response::Json(200, {{"replayed", count}, {"to", to}});
  }
  // A batch pipeline: a run whose sources read the replayed records (and nothing else).
  if (!ctx.scheduler) return http::MakeProblem(http::codes::kFailedPrecondition, "this server runs no scheduler");
  const std::string id = metadata::NewRunId(ctx.clock.NowMicros());
  const fs::path dir = NamespaceWorkdirOf(ctx, plan->namespace_).Replay(plan->StateKey(), id);
  std::vector<std::string> overrides;
  for (const auto& [source, node] : sources) {
    const fs::path file = dir / (source + ".ndjson");
    std::string text;
    for (const auto& payload : by_source[source]) text.append(payload).push_back('\n');
    if (Status st = io::WriteFileAtomic(file.string(), text); !st.ok()) return http::ProblemFromStatus(st);
    overrides.push_back("spec.sources." + source + ".path=" + file.string());
  }
  auto run = ctx.scheduler->Trigger(ns, name, "replay", ctx.clock.NowMicros(), std::nullopt, overrides);
  if (!run.ok()) return http::ProblemFromStatus(run.status());
  return Response::Json(201, {{"replayed", count}, {"run", run->id}, {"input", dir.string()}});
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
