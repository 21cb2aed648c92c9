#include "sluice/control/api/api.h"

#include "sluice/control/auth/auth_service.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/io/workdir.h"

#include <charconv>

#include <yaml-cpp/yaml.h>

namespace sluice::api {

// A compile failure as 400 invalid_spec: one entry of `errors` per "FILE:LINE: COMPONENT: message".
http::Response SpecProblem(const Status& st) {
  if (st.code() != StatusCode::kInvalidArgument && st.code() != StatusCode::kNotFound) return http::ProblemFromStatus(st);
  json errors = json::array();
  size_t start = 0;
  const std::string& m = st.message();
  while (start < m.size()) {
    size_t end = m.find('\n', start);
    if (end == std::string::npos) end = m.size();
    std::string line = m.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    json e = {{"message", line}};
    // "spec.yaml:12: component: message"
    if (size_t c1 = line.find(':'); c1 != std::string::npos) {
      int64_t n = 0;
      size_t c2 = line.find(':', c1 + 1);
      if (c2 != std::string::npos && std::from_chars(line.data() + c1 + 1, line.data() + c2, n).ec == std::errc()) {
        e["line"] = n;
        e["message"] = line.substr(std::min(line.size(), c2 + 2));
      }
    }
    errors.push_back(std::move(e));
  }
  return http::MakeProblem(http::codes::kInvalidSpec,
                           "the document has problems; fix those listed in `errors` (for a pipeline spec, sluice "
                           "validate -f SPEC shows the same locally)")
      .With("errors", std::move(errors));
}

// How the API compiles a spec: in its environment when granted to its namespace, with secrets
// masked (a plan, a diff or an error message must never show a secret's value).
Result<pipeline::CompileOptions> CompileOptionsOf(ApiContext& ctx, const std::string& environment,
                                                  const std::string& ns) {
  pipeline::CompileOptions co;
  if (ctx.options.compile_options) co = ctx.options.compile_options();
  else co.workdir = ctx.options.workdir;
  co.data_root = DataRootOf(ctx);
  // The resolver refuses an environment not granted to `ns`, before anything of it is read.
  SLUICE_ASSIGN_OR_RETURN(co.load.resolver,
                          metadata::EnvironmentResolver(ctx.store.environments(), ctx.secrets, environment, ns, true));
  if (!environment.empty()) {
    SLUICE_ASSIGN_OR_RETURN(auto effective, metadata::EffectiveConfig(ctx.store.environments(), environment));
    co.extra_roots = metadata::FileRoots(effective);
  }
  return co;
}

std::string DataRootOf(const ApiContext& ctx) {
  return ctx.options.data_root.empty() ? Workdir(ctx.options.workdir).DataRoot().string() : ctx.options.data_root;
}

Workdir NamespaceWorkdirOf(const ApiContext& ctx, const std::string& ns) {
  return NamespaceWorkdir(DataRootOf(ctx), ns);
}

Result<engine::Plan> CompileIn(ApiContext& ctx, const std::string& spec, const std::string& environment,
                               std::function<bool(const std::string&)> may_read_namespace) {
  std::string ns;
  if (!environment.empty()) {
    SLUICE_ASSIGN_OR_RETURN(ns, pipeline::DeclaredNamespace(spec));
  }
  SLUICE_ASSIGN_OR_RETURN(auto co, CompileOptionsOf(ctx, environment, ns));
  co.may_read_namespace = std::move(may_read_namespace);
  return pipeline::CompileString(spec, "spec.yaml", ctx.options.workdir, co);
}

Result<engine::Plan> CompileForCaller(ApiContext& ctx, const Request& request, const std::string& spec,
                                      const std::string& environment, std::optional<http::Problem>& refused) {
  refused.reset();
  if (!ctx.auth) return CompileIn(ctx, spec, environment);
  SLUICE_ASSIGN_OR_RETURN(auth::Grants grants, ctx.auth->GrantsOf(request.caller));
  std::vector<std::string> unreadable;
  auto plan = CompileIn(ctx, spec, environment, [&](const std::string& ns) {
    if (grants.In(ns) >= auth::Role::kViewer) return true;
    unreadable.push_back(ns);
    return false;
  });
  if (!unreadable.empty()) {
    http::Problem p = http::MakeProblem(
        http::codes::kNamespaceNotReadable,
        fmt::format("the spec reads a table of namespace '{}' (a three-part name, {}.<layer>.<table>): that needs at "
                    "least the viewer role in '{}' (ask an admin of '{}')",
                    unreadable.front(), unreadable.front(), unreadable.front(), unreadable.front()));
    p.With("namespace", unreadable.front());
    p.denied = true;
    refused = std::move(p);
  }
  return plan;
}

std::optional<http::Problem> EnvironmentRefused(ApiContext& ctx, const Request& request, std::string_view permission,
                                                const std::string& environment, const std::string& spec) {
  if (environment.empty()) return std::nullopt;
  auto ns = pipeline::DeclaredNamespace(spec);
  if (!ns.ok()) return std::nullopt;  // CompileIn refuses it as an invalid spec
  // The caller's role first: without one in the namespace, its grants stay as invisible as it.
  if (auto denied = Denied(ctx, request, permission, *ns, fmt::format("namespace '{}'", *ns))) return denied;
  Status st = metadata::CheckEnvironmentGrant(ctx.store.environments(), environment, *ns);
  if (st.ok()) return std::nullopt;
  if (st.code() != StatusCode::kFailedPrecondition) return http::ProblemFromStatus(st);
  http::Problem p = http::MakeProblem(http::codes::kEnvironmentNotGranted, st.message())
                        .With("environment", environment)
                        .With("namespace", *ns);
  p.denied = true;
  return p;
}

http::Route MakeRoute(std::string method, std::string pattern, std::string operation_id, std::string permission,
                      http::Handler handler) {
  http::Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.operation_id = std::move(operation_id);
  r.permission = std::move(permission);
  r.handler = std::move(handler);
  if (r.permission == "public") {
    r.permission.clear();
    r.scope = http::Scope::kPublic;
  } else {
    r.scope = r.pattern.find("{namespace}") != std::string::npos ? http::Scope::kNamespace : http::Scope::kAny;
  }
  return r;
}

std::optional<http::Problem> Denied(ApiContext& ctx, const Request& request, std::string_view permission,
                                    std::string_view ns, std::string_view what) {
  if (!ctx.auth) return std::nullopt;
  return ctx.auth->Check(request.caller, permission, ns, what);
}

Result<NamespaceFilter> VisibleNamespaces(ApiContext& ctx, const Request& request, std::string_view permission) {
  if (!ctx.auth) return NamespaceFilter([](std::string_view) { return true; });
  SLUICE_ASSIGN_OR_RETURN(auth::Role required, auth::RequiredRole(permission));
  SLUICE_ASSIGN_OR_RETURN(auth::Grants grants, ctx.auth->GrantsOf(request.caller));
  return NamespaceFilter([grants = std::move(grants), required](std::string_view ns) { return grants.In(ns) >= required; });
}

Result<http::Router> BuildRouter(ApiContext& context) {
  std::vector<http::Route> routes;
  AddHealthRoutes(context, routes);
  AddPipelineRoutes(context, routes);
  AddIngestRoutes(context, routes);
  AddRunRoutes(context, routes);
  AddEnvironmentRoutes(context, routes);
  AddTemplateRoutes(context, routes);
  AddDatasetRoutes(context, routes);
  AddDeadLetterRoutes(context, routes);
  AddWorkerRoutes(context, routes);
  AddAuthRoutes(context, routes);
  routes.push_back(MakeRoute("GET", "/api/v1/openapi.json", "getOpenApiDocument", "public",
                             [](const http::Request&, const http::PathParams&) {
                               http::Response r;
                               r.status = 200;
                               r.content_type = std::string(http::kApplicationJson);
                               r.body = std::string(OpenApiDocument());
                               return r;
                             }));
  for (const auto& r : routes) {
    if (r.scope == http::Scope::kPublic || r.scope == http::Scope::kAuthenticated) continue;
    SLUICE_RETURN_IF_ERROR(auth::RequiredRole(r.permission).status().WithContext(r.operation_id));
  }
  SLUICE_ASSIGN_OR_RETURN(http::Router router, http::Router::Create(std::move(routes)));
  if (context.auth) context.auth->Install(router);
  return router;
}

}  // namespace sluice::api
