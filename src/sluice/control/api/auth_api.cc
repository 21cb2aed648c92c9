// Identity and access: /api/v1/auth (tokens for a password or a refresh token, logout, who am I),
// /api/v1/users, /api/v1/namespaces/{namespace}/rolebindings, /api/v1/tokens (API tokens for
// machines) and /api/v1/audit (the hash-chained audit log). See auth_service.h for the rules.
#include <charconv>

#include "sluice/control/api/api.h"
#include "sluice/control/auth/auth_service.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/types/temporal.h"

namespace sluice::api {

namespace {

using auth::Role;

Response AuthOff() {
  return http::MakeProblem(http::codes::kFailedPrecondition, "this server runs without its security layer");
}

Response TokensJson(const auth::IssuedTokens& t) {
  return Response::Json(200, {{"access_token", t.access_token},
                              {"token_type", "Bearer"},
                              {"expires_in", t.expires_in},
                              {"refresh_token", t.refresh_token},
                              {"subject", t.subject}});
}

Response IssueToken(ApiContext& ctx, const Request& req) {
  if (!ctx.auth) return AuthOff();
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string grant = fields.RequiredString("grant_type");
  std::optional<std::string> user, password, refresh;
  if (grant == "password") {
    user = fields.RequiredString("username");
    password = fields.RequiredString("password");
  } else if (grant == "refresh_token") {
    refresh = fields.RequiredString("refresh_token");
  } else if (!grant.empty()) {
    fields.AddError("grant_type", "must be 'password' or 'refresh_token', not '" + grant + "'");
  }
  if (auto problem = fields.Finish()) return *problem;
  auto issued = user ? ctx.auth->PasswordGrant(*user, *password) : ctx.auth->RefreshGrant(*refresh);
  Response r;
  if (issued.ok()) {
    r = TokensJson(*issued);
    r.audit_subject = issued->subject;
  } else if (issued.status().code() == StatusCode::kInvalidArgument) {
    http::Problem p = http::MakeProblem(http::codes::kInvalidGrant, issued.status().message());
    p.denied = true;
    r = std::move(p);
    if (user) r.audit_subject = "user:" + *user;
  } else {
    r = http::ProblemFromStatus(issued.status());
  }
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

Response RevokeToken(ApiContext& ctx, const Request& req) {
  if (!ctx.auth) return AuthOff();
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string token = fields.RequiredString("refresh_token");
  if (auto problem = fields.Finish()) return *problem;
  SLUICE_HTTP_RETURN_IF_ERROR(ctx.auth->RevokeRefreshToken(token));
  return Response::Empty(204);
}

Response WhoAmI(ApiContext& ctx, const Request& req) {
  json roles = json::array();
  if (ctx.auth) {
    SLUICE_HTTP_ASSIGN_OR_RETURN(auth::Grants grants, ctx.auth->GrantsOf(req.caller));
    if (grants.Cluster() != Role::kNone) roles.push_back({{"namespace", "*"}, {"role", auth::RoleName(grants.Cluster())}});
    for (const auto& [ns, role] : grants.namespaces()) roles.push_back({{"namespace", ns}, {"role", auth::RoleName(role)}});
  }
  return Response::Json(200, {{"subject", req.caller.subject}, {"groups", req.caller.groups}, {"via", req.caller.via},
                              {"roles", roles}});
}

// ----- users

json UserJson(const metadata::UserRecord& u) {
  return {{"name", u.name}, {"subject", "user:" + u.name}, {"disabled", u.disabled},
          {"created_at", FormatTimestamp(u.created_at)}, {"updated_at", FormatTimestamp(u.updated_at)}};
}

Response ListUsers(ApiContext& ctx) {
  auto users = ctx.store.identity().ListUsers();
  if (!users.ok()) return http::ProblemFromStatus(users.status());
  json items = json::array();
  for (const auto& u : *users) items.push_back(UserJson(u));
  return http::PageResponse(std::move(items), std::nullopt);
}

Response CreateUser(ApiContext& ctx, const Request& req) {
  if (!ctx.auth) return AuthOff();
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string name = fields.RequiredString("name");
  const std::string password = fields.RequiredString("password");
  if (auto problem = fields.Finish()) return *problem;
  SLUICE_HTTP_RETURN_IF_ERROR(ctx.auth->CreateUser(name, password, false, req.caller.subject));
  SLUICE_HTTP_ASSIGN_OR_RETURN(auto user, ctx.store.identity().GetUser(name));
  Response r = Response::Json(201, UserJson(user));
  r.headers.Set("Location", "/api/v1/users/" + name);
  return r;
}

Response DeleteUser(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string name(p.Get("user"));
  if (req.caller.subject == "user:" + name) {
    return http::MakeProblem(http::codes::kFailedPrecondition, "you cannot delete yourself; ask another admin");
  }
  SLUICE_HTTP_RETURN_IF_ERROR(ctx.store.identity().DeleteUser(name));
  return Response::Empty(204);
}

Response SetPassword(ApiContext& ctx, const Request& req, const PathParams& p) {
  if (!ctx.auth) return AuthOff();
  const std::string name(p.Get("user"));
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string password = fields.RequiredString("password");
  const std::optional<std::string> current = fields.OptionalString("current_password");
  if (auto problem = fields.Finish()) return *problem;
  const bool self = req.caller.subject == "user:" + name;
  SLUICE_HTTP_ASSIGN_OR_RETURN(auth::Grants grants, ctx.auth->GrantsOf(req.caller));
  if (!self && grants.Cluster() < Role::kAdmin) {
    http::Problem denied = http::MakeProblem(http::codes::kForbidden,
                                             "only the user or an admin of every namespace may set a password");
    denied.denied = true;
    return denied;
  }
  auto user = ctx.store.identity().GetUser(name);
  if (!user.ok()) return http::ProblemFromStatus(user.status());
  if (self && grants.Cluster() < Role::kAdmin && !auth::VerifyPassword(current.value_or(""), user->password_hash)) {
    http::Problem denied = http::MakeProblem(http::codes::kForbidden, "current_password is missing or wrong");
    denied.denied = true;
    return denied;
  }
  SLUICE_HTTP_RETURN_IF_ERROR(ctx.auth->SetPassword(name, password));
  return Response::Empty(204);
}

// ----- role bindings

json BindingJson(const metadata::RoleBindingRecord& b) {
  return {{"subject", b.subject}, {"namespace", b.ns}, {"role", b.role}, {"created_by", b.created_by},
          {"created_at", FormatTimestamp(b.created_at)}};
}

Response ListBindings(ApiContext& ctx, const PathParams& p) {
  const std::string ns(p.Get("namespace"));
  auto all = ctx.store.identity().ListRoleBindings();
  if (!all.ok()) return http::ProblemFromStatus(all.status());
  json items = json::array();
  for (const auto& b : *all) {
    if (b.ns == ns || b.ns == "*") items.push_back(BindingJson(b));
  }
  return http::PageResponse(std::move(items), std::nullopt);
}

// Nobody grants, or takes away, more than they hold in the namespace.
std::optional<http::Problem> Escalation(ApiContext& ctx, const Request& req, const std::string& ns, Role role,
                                        std::string_view verb) {
  if (!ctx.auth) return std::nullopt;
  auto grants = ctx.auth->GrantsOf(req.caller);
  if (!grants.ok()) return http::ProblemFromStatus(grants.status());
  const Role held = grants->In(ns);
  if (role <= held) return std::nullopt;
  http::Problem p = http::MakeProblem(
      http::codes::kForbidden, fmt::format("you cannot {} the role {} in namespace '{}': you hold {} there", verb,
                                           auth::RoleName(role), ns, auth::RoleName(held)));
  p.denied = true;
  return p;
}

Response PutBinding(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string ns(p.Get("namespace")), subject(p.Get("subject"));
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string role_name = fields.RequiredString("role");
  if (auto problem = fields.Finish()) return *problem;
  if (!auth::IsNamespaceName(ns)) {
    return http::FieldProblem(http::codes::kInvalidField, "namespace",
                              "a namespace is '*' or [a-z][a-z0-9_-]{0,62}, not '" + ns + "'");
  }
  if (!auth::IsSubjectName(subject)) {
    return http::FieldProblem(http::codes::kInvalidField, "subject",
                              "a subject is user:NAME, group:NAME, svc:NAME or oidc:SUB, not '" + subject + "'");
  }
  auto role = auth::ParseRole(role_name);
  if (!role.ok()) return http::FieldProblem(http::codes::kInvalidField, "role", role.status().message());
  // Replacing a higher role is taking it away: that needs it too.
  Role replaced = Role::kNone;
  if (auto existing = ctx.store.identity().ListRoleBindings({subject}); existing.ok()) {
    for (const auto& b : *existing) {
      if (auto r = auth::ParseRole(b.role); r.ok() && b.ns == ns) replaced = *r;
    }
  }
  if (auto refused = Escalation(ctx, req, ns, std::max(*role, replaced), "grant")) return *refused;
  SLUICE_HTTP_RETURN_IF_ERROR(
      ctx.store.identity().PutRoleBinding({subject, ns, std::string(auth::RoleName(*role)), req.caller.subject, 0}));
  return Response::Json(200, {{"subject", subject}, {"namespace", ns}, {"role", auth::RoleName(*role)}});
}

Response DeleteBinding(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string ns(p.Get("namespace")), subject(p.Get("subject"));
  Role existing = Role::kNone;
  if (auto bindings = ctx.store.identity().ListRoleBindings({subject}); bindings.ok()) {
    for (const auto& b : *bindings) {
      if (auto r = auth::ParseRole(b.role); r.ok() && b.ns == ns) existing = *r;
    }
  }
  if (auto refused = Escalation(ctx, req, ns, existing, "take away")) return *refused;
  SLUICE_HTTP_RETURN_IF_ERROR(ctx.store.identity().DeleteRoleBinding(subject, ns));
  return Response::Empty(204);
}

// ----- API tokens

json TokenJson(const metadata::TokenRecord& t) {
  json j = {{"id", t.id}, {"name", t.name}, {"subject", t.subject}, {"created_by", t.created_by},
            {"created_at", FormatTimestamp(t.created_at)}, {"expires_at", FormatTimestamp(t.expires_at)},
            {"revoked", t.revoked_at != 0}};
  if (t.revoked_at) j["revoked_at"] = FormatTimestamp(t.revoked_at);
  return j;
}

bool IsClusterAdmin(ApiContext& ctx, const Request& req) {
  if (!ctx.auth) return true;
  auto grants = ctx.auth->GrantsOf(req.caller);
  return grants.ok() && grants->Cluster() >= Role::kAdmin;
}

Response ListTokens(ApiContext& ctx, const Request& req) {
  std::optional<std::string> subject = req.caller.subject;
  if (IsClusterAdmin(ctx, req)) {
    subject = req.Query("subject") ? std::optional<std::string>(std::string(*req.Query("subject"))) : std::nullopt;
  }
  auto tokens = ctx.store.identity().ListTokens("api", subject);
  if (!tokens.ok()) return http::ProblemFromStatus(tokens.status());
  json items = json::array();
  for (const auto& t : *tokens) items.push_back(TokenJson(t));
  return http::PageResponse(std::move(items), std::nullopt);
}

Response CreateApiToken(ApiContext& ctx, const Request& req) {
  if (!ctx.auth) return AuthOff();
  SLUICE_HTTP_ASSIGN_OR_RETURN(json body, http::ParseJsonObject(req.body));
  http::JsonFieldReader fields(body);
  const std::string name = fields.RequiredString("name");
  const int64_t days = fields.OptionalInt("expires_in_days").value_or(0);
  const std::string subject = fields.OptionalString("subject").value_or(req.caller.subject);
  if (auto problem = fields.Finish()) return *problem;
  // A token for someone else acts as them: only an admin of every namespace may make one.
  if (subject != req.caller.subject && !IsClusterAdmin(ctx, req)) {
    http::Problem p = http::MakeProblem(http::codes::kForbidden,
                                        "only an admin of every namespace may create a token for another subject");
    p.denied = true;
    return p;
  }
  auto made = ctx.auth->CreateApiToken(subject, name, days, req.caller.subject);
  if (!made.ok()) return http::ProblemFromStatus(made.status());
  json out = TokenJson(made->record);
  out["token"] = made->token;
  Response r = Response::Json(201, out);
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

Response DeleteApiToken(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string id(p.Get("id"));
  auto token = ctx.store.identity().GetToken(id);
  if (!token.ok() || token->kind != "api" || (token->subject != req.caller.subject && !IsClusterAdmin(ctx, req))) {
    http::Problem missing = http::MakeProblem(http::codes::kNotFound, fmt::format("token '{}' does not exist", id));
    missing.denied = token.ok() && token->kind == "api";
    return missing;
  }
  SLUICE_HTTP_RETURN_IF_ERROR(ctx.store.identity().RevokeToken(id).status());
  return Response::Empty(204);
}

// ----- audit

json AuditJson(const metadata::AuditRecord& a) {
  return {{"seq", a.seq},           {"at", FormatTimestamp(a.at)},   {"principal", a.principal},
          {"action", a.action},     {"resource", a.resource},        {"outcome", a.outcome},
          {"status", a.status},     {"request_id", a.request_id},    {"remote_address", a.remote_address},
          {"hash", a.hash}};
}

Response ListAudit(ApiContext& ctx, const Request& req) {
  SLUICE_HTTP_ASSIGN_OR_RETURN(http::PageRequest page, http::ParsePageRequest(req));
  metadata::AuditFilter filter;
  if (auto v = req.Query("principal")) filter.principal = std::string(*v);
  if (auto v = req.Query("outcome")) filter.outcome = std::string(*v);
  std::optional<int64_t> before;
  if (page.after) {
    int64_t seq = 0;
    auto [end, ec] = std::from_chars(page.after->data(), page.after->data() + page.after->size(), seq);
    if (ec != std::errc() || end != page.after->data() + page.after->size()) {
      return http::FieldProblem(http::codes::kInvalidField, "cursor", "not a cursor of this list");
    }
    before = seq;
  }
  auto rows = ctx.store.audit().ListAudit(filter, before, static_cast<int>(page.limit));
  if (!rows.ok()) return http::ProblemFromStatus(rows.status());
  json items = json::array();
  for (const auto& a : *rows) items.push_back(AuditJson(a));
  std::optional<std::string> next;
  if (static_cast<int64_t>(rows->size()) == page.limit) next = std::to_string(rows->back().seq);
  return http::PageResponse(std::move(items), next);
}

Response VerifyAudit(ApiContext& ctx) {
  auto v = ctx.store.audit().VerifyAudit();
  if (!v.ok()) return http::ProblemFromStatus(v.status());
  json out = {{"ok", !v->broken_at.has_value()}, {"rows", v->rows}, {"head_hash", v->head_hash}};
  if (v->broken_at) {
    out["broken_at"] = *v->broken_at;
    out["problem"] = v->problem;
  }
  return Response::Json(200, out);
}

}  // namespace

void AddAuthRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  auto add = [&](std::string method, std::string pattern, std::string op, std::string permission, http::Handler h,
                 bool json_body = false) -> http::Route& {
    routes.push_back(MakeRoute(std::move(method), std::move(pattern), std::move(op), std::move(permission), std::move(h)));
    routes.back().json_body = json_body;
    return routes.back();
  };
  add("POST", "/api/v1/auth/token", "issueToken", "public", [c](const Request& r, const PathParams&) { return IssueToken(*c, r); },
      true);
  add("POST", "/api/v1/auth/revoke", "revokeRefreshToken", "public",
      [c](const Request& r, const PathParams&) { return RevokeToken(*c, r); }, true);
  add("GET", "/api/v1/auth/whoami", "whoAmI", "", [c](const Request& r, const PathParams&) { return WhoAmI(*c, r); })
      .scope = http::Scope::kAuthenticated;

  add("GET", "/api/v1/users", "listUsers", "users.read", [c](const Request&, const PathParams&) { return ListUsers(*c); })
      .scope = http::Scope::kCluster;
  add("POST", "/api/v1/users", "createUser", "users.write",
      [c](const Request& r, const PathParams&) { return CreateUser(*c, r); }, true)
      .scope = http::Scope::kCluster;
  add("DELETE", "/api/v1/users/{user}", "deleteUser", "users.write",
      [c](const Request& r, const PathParams& p) { return DeleteUser(*c, r, p); })
      .scope = http::Scope::kCluster;
  add("PUT", "/api/v1/users/{user}/password", "setUserPassword", "",
      [c](const Request& r, const PathParams& p) { return SetPassword(*c, r, p); }, true)
      .scope = http::Scope::kAuthenticated;

  const std::string bindings = "/api/v1/namespaces/{namespace}/rolebindings";
  add("GET", bindings, "listRoleBindings", "roles.read", [c](const Request&, const PathParams& p) { return ListBindings(*c, p); });
  add("PUT", bindings + "/{subject}", "putRoleBinding", "roles.write",
      [c](const Request& r, const PathParams& p) { return PutBinding(*c, r, p); }, true);
  add("DELETE", bindings + "/{subject}", "deleteRoleBinding", "roles.write",
      [c](const Request& r, const PathParams& p) { return DeleteBinding(*c, r, p); });

  add("GET", "/api/v1/tokens", "listApiTokens", "", [c](const Request& r, const PathParams&) { return ListTokens(*c, r); })
      .scope = http::Scope::kAuthenticated;
  add("POST", "/api/v1/tokens", "createApiToken", "",
      [c](const Request& r, const PathParams&) { return CreateApiToken(*c, r); }, true)
      .scope = http::Scope::kAuthenticated;
  add("DELETE", "/api/v1/tokens/{id}", "revokeApiToken", "",
      [c](const Request& r, const PathParams& p) { return DeleteApiToken(*c, r, p); })
      .scope = http::Scope::kAuthenticated;

  add("GET", "/api/v1/audit", "listAudit", "audit.read", [c](const Request& r, const PathParams&) { return ListAudit(*c, r); })
      .scope = http::Scope::kCluster;
  add("GET", "/api/v1/audit/verify", "verifyAudit", "audit.read",
      [c](const Request&, const PathParams&) { return VerifyAudit(*c); })
      .scope = http::Scope::kCluster;
}

}  // namespace sluice::api
