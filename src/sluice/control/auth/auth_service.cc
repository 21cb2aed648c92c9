#include "sluice/control/auth/auth_service.h"

#include <openssl/crypto.h>
#include <cctype>
#include <openssl/rand.h>

#include "sluice/base/digest.h"
#include "sluice/base/logging.h"
#include "sluice/base/strings.h"

namespace sluice::auth {

namespace {

constexpr std::string_view kLocalKid = "sluice-hs256-1";

std::string RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  SLUICE_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) == 1);
  return Base64UrlEncode(raw);
}

std::string RandomId() {
  unsigned char raw[8];
  SLUICE_CHECK(RAND_bytes(raw, sizeof raw) == 1);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

std::string Sha256Hex(std::string_view text) { return HexDigest(text); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "<prefix><id>_<secret>" -> (id, secret).
std::optional<std::pair<std::string, std::string>> SplitToken(std::string_view token, std::string_view prefix) {
  if (!token.starts_with(prefix)) return std::nullopt;
  token.remove_prefix(prefix.size());
  const size_t sep = token.find('_');
  if (sep != 16 || token.size() < sep + 20 || token.size() > 200) return std::nullopt;
  std::string id(token.substr(0, sep));
  if (id.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  return std::make_pair(std::move(id), std::string(token.substr(sep + 1)));
}

http::Response RateLimited(std::string detail, int64_t wait_micros) {
  http::Response r = http::MakeProblem(http::codes::kRateLimited, std::move(detail));
  r.headers.Set("Retry-After", std::to_string((wait_micros + 999999) / 1000000));
  return r;
}

// The token of "Bearer <token>" (the scheme is case-insensitive, RFC 9110 §11.1).
std::optional<std::string_view> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || !EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  header = Trim(header.substr(kScheme.size()), " ");
  if (header.empty()) return std::nullopt;
  return header;
}

bool IsMutating(std::string_view method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

const Status& InvalidGrant() {
  static const Status kStatus =
      Status::InvalidArgument("the user name or password is wrong, or the refresh token is unknown, expired or used");
  return kStatus;
}

}  // namespace

AuthService::AuthService(metadata::MetadataStore& store, std::string signing_key, const Clock& clock,
                         AuthOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      per_principal_(options_.requests_per_second, options_.requests_per_second * 2, clock),
      per_address_(options_.requests_per_address_per_second, options_.requests_per_address_per_second * 2, clock),
      failures_per_address_(options_.failures_per_second, options_.failures_per_second * 4, clock) {
  auto key = JwtKeyFromSecret(std::string(kLocalKid), std::move(signing_key));
  SLUICE_CHECK(key.ok()) << key.status().ToString();
  signing_key_ = *key;
  SLUICE_CHECK(local_keys_.Add(*key).ok());
  if (options_.oidc) oidc_ = std::make_unique<OidcVerifier>(*options_.oidc, clock);
}

AuthService::~AuthService() = default;

void AuthService::Install(http::Router& router) {
  router.SetGuard([this](http::Request& r, const http::RouteInfo& route, const http::PathParams& p) {
    return Guard(r, route, p);
  });
  router.SetObserver([this](const http::Request& r, const http::RouteInfo* route, const http::Response& response) {
    Audit(r, route, response);
  });
}

// ----- authentication

Result<http::Caller> AuthService::Authenticate(std::string_view token) {
  if (token.starts_with(kApiTokenPrefix)) return AuthenticateApiToken(token);
  if (token.starts_with(kRefreshTokenPrefix)) {
    return Status::InvalidArgument("a refresh token is not an access token (exchange it at /api/v1/auth/token)");
  }
  return AuthenticateJwt(token);
}

Status AuthService::CheckLocalUser(const std::string& subject, int64_t issued_at) {
  if (!subject.starts_with("user:")) return Status::OK();
  auto user = store_.identity().GetUser(subject.substr(5));
  if (!user.ok()) return Status::InvalidArgument("{}: {}", subject, user.status().message());
  if (user->disabled) return Status::InvalidArgument("{} is disabled", subject);
  // A token issued before the account was created is one of an earlier, deleted account of the
  // same name: it must not act as the new one.
  if (issued_at != 0 && issued_at < user->created_at / 1000000) {
    return Status::InvalidArgument("{}: the token is older than the account", subject);
  }
  return Status::OK();
}

Result<http::Caller> AuthService::AuthenticateApiToken(std::string_view token) {
  auto parts = SplitToken(token, kApiTokenPrefix);
  if (!parts) return Status::InvalidArgument("malformed API token");
  auto record = store_.identity().GetToken(parts->first);
  if (!record.ok() || record->kind != "api") return Status::InvalidArgument("unknown API token {}", parts->first);
  if (!ConstantTimeEquals(Sha256Hex(parts->second), record->secret_hash)) {
    return Status::InvalidArgument("API token {}: wrong secret", parts->first);
  }
  if (record->revoked_at != 0) return Status::InvalidArgument("API token {} is revoked", parts->first);
  if (record->expires_at <= clock_.NowMicros()) return Status::InvalidArgument("API token {} has expired", parts->first);
  SLUICE_RETURN_IF_ERROR(CheckLocalUser(record->subject));
  return http::Caller{record->subject, {}, "api-token"};
}

Result<http::Caller> AuthService::AuthenticateJwt(std::string_view token) {
  auto kid = PeekJwtKid(token);
  if (kid && *kid == kLocalKid) {
    JwtVerifyOptions vo;
    vo.issuer = options_.issuer;
    vo.audience = options_.audience;
    vo.now_seconds = NowSeconds();
    vo.leeway_seconds = 5;  // we issued it on this clock
    SLUICE_ASSIGN_OR_RETURN(JwtClaims claims, VerifyJwt(token, local_keys_, vo));
    SLUICE_RETURN_IF_ERROR(CheckLocalUser(claims.subject, claims.issued_at));
    std::string via = claims.payload.value("via", "password");
    return http::Caller{claims.subject, {}, via};
  }
  if (!oidc_) return Status::InvalidArgument("not a token of this server (kid '{}') and no OIDC issuer is configured",
                                             kid.value_or("?"));
  SLUICE_ASSIGN_OR_RETURN(OidcIdentity id, oidc_->Verify(token));
  http::Caller caller{id.principal, {}, "oidc"};
  for (const auto& g : id.groups) caller.groups.push_back("group:" + g);
  return caller;
}

http::Response AuthService::Unauthenticated(const http::Request& request, const Status& why) {
  SLUICE_LOG(Info, "auth.unauthenticated", {"request_id", request.request_id}, {"remote", request.remote_address},
             {"reason", why.message()});
  http::Problem p = http::MakeProblem(
      http::codes::kUnauthenticated,
      "missing or invalid credentials: send 'Authorization: Bearer <token>' with a token from 'sluice login' "
      "(POST /api/v1/auth/token), an API token, or your identity provider");
  p.denied = true;
  http::Response r(std::move(p));
  r.headers.Set("WWW-Authenticate", "Bearer realm=\"sluice\"");
  return r;
}

// ----- authorization

Result<Grants> AuthService::GrantsOf(const http::Caller& caller) {
  if (options_.insecure_dev) return Grants::Everything();
  std::vector<std::string> subjects = caller.groups;
  subjects.push_back(caller.subject);
  SLUICE_ASSIGN_OR_RETURN(auto bindings, store_.identity().ListRoleBindings(subjects));
  return Grants::From(bindings);
}

Result<std::vector<std::string>> AuthService::ReadableNamespaces(const std::string& subject) {
  if (options_.insecure_dev) return std::vector<std::string>{"*"};
  SLUICE_ASSIGN_OR_RETURN(auto bindings, store_.identity().ListRoleBindings({subject}));
  const Grants grants = Grants::From(bindings);
  if (grants.Cluster() >= Role::kViewer) return std::vector<std::string>{"*"};
  std::vector<std::string> out;
  for (const auto& [ns, role] : grants.namespaces()) {
    if (role >= Role::kViewer) out.push_back(ns);
  }
  return out;
}

std::optional<http::Problem> AuthService::Check(const http::Caller& caller, std::string_view permission,
                                                std::string_view ns, std::string_view what) {
  auto required = RequiredRole(permission);
  if (!required.ok()) return http::ProblemFromStatus(required.status());
  auto grants = GrantsOf(caller);
  if (!grants.ok()) return http::ProblemFromStatus(grants.status());
  const Role held = grants->In(ns);
  if (held >= *required) return std::nullopt;
  // "*" (every namespace) always exists: there is nothing to hide, so too low a role is a 403.
  http::Problem p =
      held == Role::kNone && ns != "*"
          ? http::MakeProblem(http::codes::kNotFound, fmt::format("{} does not exist", what))
          : http::MakeProblem(http::codes::kForbidden,
                              fmt::format("{} needs the role {} in namespace '{}'; you are {} there (ask an admin of "
                                          "the namespace)",
                                          permission, RoleName(*required), ns, RoleName(held)));
  p.denied = true;
  return p;
}

std::optional<http::Response> AuthService::Guard(http::Request& request, const http::RouteInfo& route,
                                                 const http::PathParams& params) {
  if (int64_t wait = per_address_.Allow(request.remote_address); wait > 0) {
    return RateLimited("too many requests from this address; retry after the Retry-After seconds", wait);
  }
  if (route.scope == http::Scope::kPublic) {
    // Logins draw on the address's failure budget: a password cannot be guessed quickly.
    if (IsMutating(request.method)) {
      if (int64_t wait = failures_per_address_.Allow(request.remote_address); wait > 0) {
        return RateLimited("too many login attempts from this address; retry after the Retry-After seconds", wait);
      }
    }
    return std::nullopt;
  }
  if (options_.insecure_dev) {
    request.caller = http::Caller{"dev", {}, "insecure-dev"};
  } else {
    std::string_view header = request.headers.Get("Authorization").value_or("");
    Result<http::Caller> caller = Status::InvalidArgument("no Authorization header");
    if (!header.empty()) {
      auto token = BearerToken(header);
      caller = token ? Authenticate(*token) : Status::InvalidArgument("the Authorization header is not 'Bearer <token>'");
    }
    if (!caller.ok()) {
      if (int64_t wait = failures_per_address_.Allow(request.remote_address); wait > 0) {
        return RateLimited("too many failed authentications from this address; retry after the Retry-After seconds",
                           wait);
      }
      return Unauthenticated(request, caller.status());
    }
    request.caller = std::move(*caller);
  }
  if (int64_t wait = per_principal_.Allow(request.caller.subject); wait > 0) {
    return RateLimited(fmt::format("too many requests from {}; retry after the Retry-After seconds",
                                   request.caller.subject),
                       wait);
  }
  if (route.scope == http::Scope::kAuthenticated) return std::nullopt;

  auto required = RequiredRole(route.permission);
  if (!required.ok()) return http::Response(http::ProblemFromStatus(required.status()));
  if (route.scope == http::Scope::kNamespace) {
    std::string_view ns = params.Get("namespace");
    if (auto refused = Check(request.caller, route.permission, ns, fmt::format("namespace '{}' or its resource", ns))) {
      return http::Response(std::move(*refused));
    }
    return std::nullopt;
  }
  auto grants = GrantsOf(request.caller);
  if (!grants.ok()) return http::Response(http::ProblemFromStatus(grants.status()));
  const bool ok = route.scope == http::Scope::kCluster ? grants->Cluster() >= *required : grants->AnyAtLeast(*required);
  if (ok) return std::nullopt;
  http::Problem p = http::MakeProblem(
      http::codes::kForbidden,
      route.scope == http::Scope::kCluster
          ? fmt::format("{} needs the role {} in every namespace (a binding to '*'); ask an admin", route.permission,
                        RoleName(*required))
          : fmt::format("{} needs the role {} in some namespace; you have none that high", route.permission,
                        RoleName(*required)));
  p.denied = true;
  return http::Response(std::move(p));
}

// ----- audit

void AuthService::Audit(const http::Request& request, const http::RouteInfo* route, const http::Response& response) {
  if (!IsMutating(request.method) && !response.denied) return;
  metadata::AuditRecord row;
  row.principal = !response.audit_subject.empty() ? response.audit_subject
                  : request.caller.authenticated() ? request.caller.subject
                                                   : "anonymous";
  row.action = route ? route->operation_id : request.method + " " + request.path;
  row.resource = request.path;
  row.outcome = response.denied ? "denied" : response.status < 400 ? "ok" : "failed";
  row.status = response.status;
  row.request_id = request.request_id;
  row.remote_address = request.remote_address;
  auto appended = store_.audit().AppendAudit(std::move(row));
  if (!appended.ok()) {
    SLUICE_LOG(Error, "audit.append_failed", {"request_id", request.request_id},
               {"error", appended.status().ToString()});
  }
}

// ----- tokens

Result<IssuedTokens> AuthService::Issue(const std::string& subject, const std::string& via) {
  const int64_t now = NowSeconds();
  nlohmann::json claims = {{"iss", options_.issuer}, {"aud", options_.audience}, {"sub", subject},
                           {"iat", now},             {"nbf", now},               {"exp", now + options_.access_ttl_seconds},
                           {"jti", RandomId()},      {"via", via}};
  IssuedTokens out;
  SLUICE_ASSIGN_OR_RETURN(out.access_token, SignJwt(claims, signing_key_));
  out.expires_in = options_.access_ttl_seconds;
  out.subject = subject;
  metadata::TokenRecord refresh;
  refresh.id = RandomId();
  refresh.kind = "refresh";
  refresh.name = "login";
  refresh.subject = subject;
  const std::string secret = RandomToken(32);
  refresh.secret_hash = Sha256Hex(secret);
  refresh.created_by = subject;
  refresh.expires_at = clock_.NowMicros() + options_.refresh_ttl_seconds * 1000000;
  SLUICE_RETURN_IF_ERROR(store_.identity().CreateToken(refresh));
  out.refresh_token = std::string(kRefreshTokenPrefix) + refresh.id + "_" + secret;
  return out;
}

Result<IssuedTokens> AuthService::PasswordGrant(const std::string& user, const std::string& password) {
  auto record = store_.identity().GetUser(user);
  if (!record.ok()) {
    if (record.status().code() != StatusCode::kNotFound) return record.status();
    VerifyPasswordDecoy(password);
    return InvalidGrant();
  }
  if (!VerifyPassword(password, record->password_hash) || record->disabled) return InvalidGrant();
  return Issue("user:" + user, "password");
}

Result<IssuedTokens> AuthService::RefreshGrant(const std::string& refresh_token) {
  auto parts = SplitToken(refresh_token, kRefreshTokenPrefix);
  if (!parts) return InvalidGrant();
  auto record = store_.identity().GetToken(parts->first);
  if (!record.ok() || record->kind != "refresh" || !ConstantTimeEquals(Sha256Hex(parts->second), record->secret_hash)) {
    return InvalidGrant();
  }
  if (record->expires_at <= clock_.NowMicros()) return InvalidGrant();
  SLUICE_ASSIGN_OR_RETURN(bool was_live, store_.identity().RevokeToken(record->id));
  if (!was_live) {
    // A refresh token used twice was stolen (or replayed): end every session of the subject.
    auto n = store_.identity().RevokeTokensOf(record->subject, "refresh");
    SLUICE_LOG(Warn, "auth.refresh_reused", {"subject", record->subject}, {"revoked", n.ok() ? *n : -1});
    return InvalidGrant();
  }
  if (!CheckLocalUser(record->subject).ok()) return InvalidGrant();
  return Issue(record->subject, "refresh");
}

Status AuthService::RevokeRefreshToken(const std::string& refresh_token) {
  auto parts = SplitToken(refresh_token, kRefreshTokenPrefix);
  if (!parts) return Status::OK();
  auto record = store_.identity().GetToken(parts->first);
  if (!record.ok() || record->kind != "refresh" || !ConstantTimeEquals(Sha256Hex(parts->second), record->secret_hash)) {
    return Status::OK();
  }
  return store_.identity().RevokeToken(record->id).status();
}

Result<NewApiToken> AuthService::CreateApiToken(const std::string& subject, const std::string& name, int64_t days,
                                                const std::string& created_by) {
  if (days == 0) days = options_.api_token_default_days;
  if (days < 1 || days > options_.api_token_max_days) {
    return Status::InvalidArgument("expires_in_days must be between 1 and {}", options_.api_token_max_days);
  }
  if (name.empty() || name.size() > 100) return Status::InvalidArgument("a token needs a name of 1 to 100 characters");
  if (!IsSubjectName(subject) || subject.starts_with("group:")) {
    return Status::InvalidArgument("'{}' cannot hold a token: use user:NAME, svc:NAME or oidc:SUB", subject);
  }
  NewApiToken out;
  out.record.id = RandomId();
  out.record.kind = "api";
  out.record.name = name;
  out.record.subject = subject;
  const std::string secret = RandomToken(32);
  out.record.secret_hash = Sha256Hex(secret);
  out.record.created_by = created_by;
  out.record.created_at = clock_.NowMicros();
  out.record.expires_at = out.record.created_at + days * 24 * 3600 * 1000000;
  SLUICE_RETURN_IF_ERROR(store_.identity().CreateToken(out.record));
  out.token = std::string(kApiTokenPrefix) + out.record.id + "_" + secret;
  return out;
}

// ----- users

Status AuthService::CreateUser(const std::string& name, const std::string& password, bool admin,
                               const std::string& created_by) {
  if (!IsSubjectName("user:" + name) || name.find(':') != std::string::npos || name.size() > 64) {
    return Status::InvalidArgument("user name '{}' must be 1 to 64 printable characters without spaces or ':'", name);
  }
  SLUICE_RETURN_IF_ERROR(CheckNewPassword(password));
  SLUICE_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.password_cost));
  SLUICE_RETURN_IF_ERROR(store_.identity().CreateUser({name, hash, false, 0, 0}));
  if (admin) SLUICE_RETURN_IF_ERROR(store_.identity().PutRoleBinding({"user:" + name, "*", "admin", created_by, 0}));
  return Status::OK();
}

Status AuthService::SetPassword(const std::string& name, const std::string& password) {
  SLUICE_RETURN_IF_ERROR(CheckNewPassword(password));
  SLUICE_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.password_cost));
  SLUICE_RETURN_IF_ERROR(store_.identity().SetUserPassword(name, hash));
  // A new password ends the sessions of the old one.
  return store_.identity().RevokeTokensOf("user:" + name, "refresh").status();
}

}  // namespace sluice::auth
