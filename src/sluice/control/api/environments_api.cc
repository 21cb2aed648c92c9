// Environments (config with inheritance, base -> staging -> prod) and their write-only secrets.

#include <algorithm>

#include "sluice/control/api/api.h"
#include "sluice/control/auth/rbac.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/types/temporal.h"

namespace sluice::api {

namespace {

bool ValidEnvironmentName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

bool ValidSecretName(std::string_view s) {
  if (s.empty() || s.size() > 128 || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

Response BadName(std::string_view field, std::string_view what) {
  return http::FieldProblem(http::codes::kInvalidField, field, std::string(what));
}

Result<json> EnvironmentJson(ApiContext& ctx, const metadata::EnvironmentRecord& e) {
  SLUICE_ASSIGN_OR_RETURN(json effective, metadata::EffectiveConfig(ctx.store.environments(), e.name));
  SLUICE_ASSIGN_OR_RETURN(auto secrets, ctx.store.environments().ListSecrets(e.name));
  json names = json::array();
  for (const auto& [name, at] : secrets) names.push_back({{"name", name}, {"updated_at", FormatTimestamp(at)}});
  return json{{"name", e.name},
              {"parent", e.parent.empty() ? json(nullptr) : json(e.parent)},
              {"config", json::parse(e.config, nullptr, false)},
              {"effective_config", std::move(effective)},
              {"secrets", std::move(names)},
              {"created_at", FormatTimestamp(e.created_at)},
              {"updated_at", FormatTimestamp(e.updated_at)}};
}

Response List(ApiContext& ctx) {
  auto envs = ctx.store.environments().ListEnvironments();
  if (!envs.ok()) return http::ProblemFromStatus(envs.status());
  json items = json::array();
  for (const auto& e : *envs) {
    items.push_back({{"name", e.name}, {"parent", e.parent.empty() ? json(nullptr) : json(e.parent)},
                     {"updated_at", FormatTimestamp(e.updated_at)}});
  }
  return http::PageResponse(std::move(items), std::nullopt);
}

Response Put(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string name(p.Get("name"));
  if (!ValidEnvironmentName(name)) return BadName("name", "an environment name is [a-z][a-z0-9_-]{0,62}");
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string parent = fields.OptionalString("parent").value_or("");
  const json* config = fields.OptionalObject("config");
  if (auto problem = fields.Finish()) return *problem;
  if (!parent.empty() && !ValidEnvironmentName(parent)) return BadName("parent", "an environment name is [a-z][a-z0-9_-]{0,62}");
  auto created = ctx.store.environments().PutEnvironment({name, parent, config ? config->dump() : "{}"});
  if (!created.ok()) return http::ProblemFromStatus(created.status());
  auto env = ctx.store.environments().GetEnvironment(name);
  if (!env.ok()) return http::ProblemFromStatus(env.status());
  auto out = EnvironmentJson(ctx, *env);
  if (!out.ok()) return http::ProblemFromStatus(out.status());
  return Response::Json(*created ? 201 : 200, *out);
}

Response Get(ApiContext& ctx, const PathParams& p) {
  auto env = ctx.store.environments().GetEnvironment(std::string(p.Get("name")));
  if (!env.ok()) return http::ProblemFromStatus(env.status());
  auto out = EnvironmentJson(ctx, *env);
  if (!out.ok()) return http::ProblemFromStatus(out.status());
  return Response::Json(200, *out);
}

Response Delete(ApiContext& ctx, const PathParams& p) {
  Status st = ctx.store.environments().DeleteEnvironment(std::string(p.Get("name")));
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);
}

Response PutSecret(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string env(p.Get("name")), name(p.Get("secret"));
  if (!ValidSecretName(name)) return BadName("secret", "a secret name is [A-Za-z_][A-Za-z0-9_.-]{0,127}");
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string value = fields.RequiredString("value");
  if (auto problem = fields.Finish()) return *problem;
  if (!ctx.secrets) return http::MakeProblem(http::codes::kFailedPrecondition, "this server has no secret key");
  auto sealed = ctx.secrets->Seal(value, env + "/" + name);
  if (!sealed.ok()) return http::ProblemFromStatus(sealed.status());
  Status st = ctx.store.environments().PutSecret(env, name, *sealed);
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);  // write-only: the value never comes back
}

Response DeleteSecret(ApiContext& ctx, const PathParams& p) {
  Status st = ctx.store.environments().DeleteSecret(std::string(p.Get("name")), std::string(p.Get("secret")));
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);
}

Response ListSecrets(ApiContext& ctx, const PathParams& p) {
  auto secrets = ctx.store.environments().ListSecrets(std::string(p.Get("name")));
  if (!secrets.ok()) return http::ProblemFromStatus(secrets.status());
  json items = json::array();
  for (const auto& [name, at] : *secrets) items.push_back({{"name", name}, {"updated_at", FormatTimestamp(at)}});
  return http::PageResponse(std::move(items), std::nullopt);
}

// Connections: named settings of an environment (a Kafka cluster, a database, a bucket) kept in
// its config under "connections", so they inherit like the rest and specs use them as
// ${config.connections.NAME.FIELD}.
const std::vector<std::string>& ConnectionKinds() {
  static const std::vector<std::string> kKinds = {"kafka", "postgres",  "s3",   "http",
                                                  "redis", "warehouse", "lake", "files"};
  return kKinds;
}

Response ListConnections(ApiContext& ctx, const PathParams& p) {
  auto effective = metadata::EffectiveConfig(ctx.store.environments(), std::string(p.Get("name")));
  if (!effective.ok()) return http::ProblemFromStatus(effective.status());
  json items = json::array();
  if (effective->contains("connections") && (*effective)["connections"].is_object()) {
    for (const auto& [name, c] : (*effective)["connections"].items()) items.push_back({{"name", name}, {"connection", c}});
  }
  return http::PageResponse(std::move(items), std::nullopt);
}

Response PutConnection(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string env_name(p.Get("name")), name(p.Get("connection"));
  if (!ValidSecretName(name)) return BadName("connection", "a connection name is [A-Za-z_][A-Za-z0-9_.-]{0,127}");
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string kind = fields.RequiredString("kind");
  const json* settings = fields.OptionalObject("settings");
  if (std::find(ConnectionKinds().begin(), ConnectionKinds().end(), kind) == ConnectionKinds().end() && !kind.empty()) {
    fields.AddError("kind", "one of kafka, postgres, s3, http, redis, warehouse, lake, files");
  }
  // A files connection grants the namespaces that use the environment one more folder.
  if (kind == "files") {
    const json* root = settings && settings->contains("root") ? &(*settings)["root"] : nullptr;
    if (!root || !root->is_string() || root->get<std::string>().empty() || root->get<std::string>()[0] != '/') {
      fields.AddError("settings.root",
                      "an absolute folder: the root this connection grants (e.g. /srv/shared/landing)");
    }
  }
  if (settings) {
    for (const auto& [k, v] : settings->items()) {
      if (!v.is_string() && !v.is_number() && !v.is_boolean()) fields.AddError("settings." + k, "a string, number or boolean");
      if (v.is_string() && v.get<std::string>().find("${secret.") != std::string::npos) {
        fields.AddError("settings." + k, "keep secrets out of connections: reference ${secret.NAME} in the spec itself");
      }
    }
  }
  if (auto problem = fields.Finish()) return *problem;
  auto env = ctx.store.environments().GetEnvironment(env_name);
  if (!env.ok()) return http::ProblemFromStatus(env.status());
  json config = json::parse(env->config, nullptr, false);
  if (!config.is_object()) config = json::object();
  const bool created = !(config.contains("connections") && config["connections"].contains(name));
  json connection = settings ? *settings : json::object();
  connection["kind"] = kind;
  config["connections"][name] = std::move(connection);
  auto put = ctx.store.environments().PutEnvironment({env->name, env->parent, config.dump()});
  if (!put.ok()) return http::ProblemFromStatus(put.status());
  return Response::Json(created ? 201 : 200, {{"environment", env_name}, {"name", name}, {"connection", config["connections"][name]}});
}

Response DeleteConnection(ApiContext& ctx, const PathParams& p) {
  const std::string env_name(p.Get("name")), name(p.Get("connection"));
  auto env = ctx.store.environments().GetEnvironment(env_name);
  if (!env.ok()) return http::ProblemFromStatus(env.status());
  json config = json::parse(env->config, nullptr, false);
  if (!config.is_object() || !config.contains("connections") || !config["connections"].contains(name)) {
    return http::MakeProblem(http::codes::kNotFound, "environment '" + env_name + "' has no connection '" + name +
                                                         "' of its own (an inherited one is deleted in its environment)");
  }
  config["connections"].erase(name);
  auto put = ctx.store.environments().PutEnvironment({env->name, env->parent, config.dump()});
  if (!put.ok()) return http::ProblemFromStatus(put.status());
  return Response::Empty(204);
}

// Grants: which namespaces' pipelines may use the environment (metadata::CheckEnvironmentGrant).
json GrantJson(const metadata::EnvironmentGrantRecord& g) {
  return {{"environment", g.environment},
          {"namespace", g.ns},
          {"created_by", g.created_by},
          {"created_at", FormatTimestamp(g.created_at)}};
}

Response ListGrants(ApiContext& ctx, const PathParams& p) {
  auto grants = ctx.store.environments().ListEnvironmentGrants(std::string(p.Get("name")));
  if (!grants.ok()) return http::ProblemFromStatus(grants.status());
  json items = json::array();
  for (const auto& g : *grants) items.push_back(GrantJson(g));
  return http::PageResponse(std::move(items), std::nullopt);
}

Response PutGrant(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string env(p.Get("name")), ns(p.Get("namespace"));
  if (!auth::IsNamespaceName(ns)) {
    return BadName("namespace", "a namespace is [a-z][a-z0-9_-]{0,62}, or * for every namespace");
  }
  metadata::EnvironmentGrantRecord grant{env, ns, req.caller.authenticated() ? req.caller.subject : "anonymous", 0};
  auto created = ctx.store.environments().PutEnvironmentGrant(grant);
  if (!created.ok()) return http::ProblemFromStatus(created.status());
  auto grants = ctx.store.environments().ListEnvironmentGrants(env);
  if (!grants.ok()) return http::ProblemFromStatus(grants.status());
  for (const auto& g : *grants) {
    if (g.ns == ns) return Response::Json(*created ? 201 : 200, GrantJson(g));
  }
  return http::MakeProblem(http::codes::kConflict, "the grant was revoked while it was made; grant it again");
}

Response DeleteGrant(ApiContext& ctx, const PathParams& p) {
  Status st = ctx.store.environments().DeleteEnvironmentGrant(std::string(p.Get("name")),
                                                              std::string(p.Get("namespace")));
  if (!st.ok()) return http::ProblemFromStatus(st);
  return Response::Empty(204);
}

}  // namespace

void AddEnvironmentRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  const std::string one = "/api/v1/environments/{name}";
  routes.push_back(MakeRoute("GET", "/api/v1/environments", "listEnvironments", "environments.read",
                             [c](const Request&, const PathParams&) { return List(*c); }));
  routes.push_back(MakeRoute("PUT", one, "putEnvironment", "environments.write",
                             [c](const Request& r, const PathParams& p) { return Put(*c, r, p); }));
  routes.back().json_body = true;
  routes.push_back(MakeRoute("GET", one, "getEnvironment", "environments.read",
                             [c](const Request&, const PathParams& p) { return Get(*c, p); }));
  routes.push_back(MakeRoute("DELETE", one, "deleteEnvironment", "environments.write",
                             [c](const Request&, const PathParams& p) { return Delete(*c, p); }));
  routes.push_back(MakeRoute("GET", one + "/secrets", "listSecrets", "environments.read",
                             [c](const Request&, const PathParams& p) { return ListSecrets(*c, p); }));
  routes.push_back(MakeRoute("PUT", one + "/secrets/{secret}", "putSecret", "secrets.write",
                             [c](const Request& r, const PathParams& p) { return PutSecret(*c, r, p); }));
  routes.back().json_body = true;
  routes.push_back(MakeRoute("DELETE", one + "/secrets/{secret}", "deleteSecret", "secrets.write",
                             [c](const Request&, const PathParams& p) { return DeleteSecret(*c, p); }));
  routes.push_back(MakeRoute("GET", one + "/connections", "listConnections", "environments.read",
                             [c](const Request&, const PathParams& p) { return ListConnections(*c, p); }));
  routes.push_back(MakeRoute("PUT", one + "/connections/{connection}", "putConnection", "environments.write",
                             [c](const Request& r, const PathParams& p) { return PutConnection(*c, r, p); }));
  routes.back().json_body = true;
  routes.push_back(MakeRoute("DELETE", one + "/connections/{connection}", "deleteConnection", "environments.write",
                             [c](const Request&, const PathParams& p) { return DeleteConnection(*c, p); }));
  // {namespace} here is the grantee, not where the caller's role is looked up.
  routes.push_back(MakeRoute("GET", one + "/grants", "listEnvironmentGrants", "environments.grant",
                             [c](const Request&, const PathParams& p) { return ListGrants(*c, p); }));
  routes.push_back(MakeRoute("PUT", one + "/grants/{namespace}", "putEnvironmentGrant", "environments.grant",
                             [c](const Request& r, const PathParams& p) { return PutGrant(*c, r, p); }));
  routes.push_back(MakeRoute("DELETE", one + "/grants/{namespace}", "deleteEnvironmentGrant", "environments.grant",
                             [c](const Request&, const PathParams& p) { return DeleteGrant(*c, p); }));
  // Environments, their secrets and connections serve every namespace: changing them, or which
  // namespaces may use them, takes a role bound to all of them.
  for (auto& r : routes) {
    if (r.permission == "environments.write" || r.permission == "secrets.write" ||
        r.permission == "environments.grant") {
      r.scope = http::Scope::kCluster;
    }
  }
}

}  // namespace sluice::api
