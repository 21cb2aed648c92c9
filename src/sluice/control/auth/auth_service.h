// AuthService: who may do what on the API (docs/security.md).
//
// Authentication — every request but the public routes carries `Authorization: Bearer <token>`:
//   - an access token: a JWT (HS256) that /api/v1/auth/token issues for a local user's password
//     or a refresh token; short-lived (15 minutes by default);
//   - an API token for machines ("slc_<id>_<secret>"), hashed at rest, expiring, revocable;
//   - with OIDC configured, an RS256/ES256 JWT of the identity provider, checked against its
//     JWKS; its groups become "group:<name>" subjects.
//   Every failure (missing, malformed, expired, bad signature, wrong issuer or audience, unknown
//   key, revoked, disabled user) is the same 401 body; the reason goes to the server log only.
// Authorization — the route table's permission and scope (http::Scope), then, for routes whose
//   resource names its namespace only in the body or the stored record, Check() in the handler.
//   No role in the namespace: 404 (its resources stay invisible); a role, but too low: 403.
// Audit — every mutating or denied request appends one row to the hash-chained audit log.
// Limits — a token bucket per principal and one per client address; failed authentications and
//   logins draw on a stricter bucket per client address.
//
// With insecure_dev, nobody authenticates: every request is subject "dev" with admin everywhere
// (and still audited).
// Thread-safety: all methods may be called from any server thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sluice/base/clock.h"
#include "sluice/control/auth/jwt.h"
#include "sluice/control/auth/oidc.h"
#include "sluice/control/auth/password.h"
#include "sluice/control/auth/rbac.h"
#include "sluice/control/http/rate_limiter.h"
#include "sluice/control/http/router.h"
#include "sluice/control/metadata/metadata_store.h"

namespace sluice::auth {

struct AuthOptions {
  bool insecure_dev = false;
  std::string issuer = "sluice";        // iss and aud of the access tokens we issue
  std::string audience = "sluice-api";
  int64_t access_ttl_seconds = 15 * 60;
  int64_t refresh_ttl_seconds = 7 * 24 * 3600;
  int64_t api_token_default_days = 90;
  int64_t api_token_max_days = 366;
  PasswordCost password_cost;
  std::optional<OidcOptions> oidc;
  // Requests a second per principal (burst twice that).
  double requests_per_second = 1000;
  // Failed authentications and login attempts a second per client address (burst 4x).
  double failures_per_second = 5;
  // All requests a second per client address, whoever sends them (burst twice that): one
  // machine cannot flood the API by spreading over many principals.
  double requests_per_address_per_second = 5000;
};

// Tokens for a client (the /auth/token answer).
struct IssuedTokens {
  std::string access_token;
  int64_t expires_in = 0;  // seconds
  std::string refresh_token;
  std::string subject;
};

struct NewApiToken {
  metadata::TokenRecord record;
  std::string token;  // shown once
};

class AuthService {
 public:
  // `signing_key`: the HS256 key of access tokens (32+ bytes; SecretBox::DeriveKey).
  AuthService(metadata::MetadataStore& store, std::string signing_key, const Clock& clock, AuthOptions options);
  ~AuthService();

  // Installs Guard and Audit on the router.
  void Install(http::Router& router);

  std::optional<http::Response> Guard(http::Request& request, const http::RouteInfo& route,
                                      const http::PathParams& params);
  void Audit(const http::Request& request, const http::RouteInfo* route, const http::Response& response);

  // What the caller holds (Everything with insecure_dev).
  Result<Grants> GrantsOf(const http::Caller& caller);
  // The namespaces where `subject`'s own bindings give at least the viewer role, or {"*"} when
  // its binding in "*" does (or with insecure_dev). A worker checks a run's reads of other
  // namespaces' tables against its author's (groups of an identity provider are not known
  // outside a request, so only the subject's own bindings count).
  Result<std::vector<std::string>> ReadableNamespaces(const std::string& subject);
  // For a handler: nullopt when the caller holds `permission` in `ns`; else a denied 404 (no role
  // there: "`what` does not exist") or 403.
  std::optional<http::Problem> Check(const http::Caller& caller, std::string_view permission, std::string_view ns,
                                     std::string_view what);

  // /auth/token. InvalidArgument (-> 400 invalid_grant) for a wrong user, password or refresh
  // token, all with the same message.
  Result<IssuedTokens> PasswordGrant(const std::string& user, const std::string& password);
  Result<IssuedTokens> RefreshGrant(const std::string& refresh_token);
  // Revokes a refresh token (logout); unknown tokens are ignored.
  Status RevokeRefreshToken(const std::string& refresh_token);

  // A new API token acting as `subject`.
  Result<NewApiToken> CreateApiToken(const std::string& subject, const std::string& name, int64_t days,
                                     const std::string& created_by);

  // Creates a local user (the password is checked and hashed).
  Status CreateUser(const std::string& name, const std::string& password, bool admin, const std::string& created_by);
  Status SetPassword(const std::string& name, const std::string& password);

  bool insecure_dev() const { return options_.insecure_dev; }
  const AuthOptions& options() const { return options_; }
  metadata::MetadataStore& store() { return store_; }

  // Authenticates a bearer token (tests and the guard). Unauthenticated reasons as InvalidArgument.
  Result<http::Caller> Authenticate(std::string_view token);

 private:
  Result<IssuedTokens> Issue(const std::string& subject, const std::string& via);
  Result<http::Caller> AuthenticateApiToken(std::string_view token);
  Result<http::Caller> AuthenticateJwt(std::string_view token);
  // `issued_at`: the token's iat (seconds), 0 when it has none.
  Status CheckLocalUser(const std::string& subject, int64_t issued_at = 0);
  http::Response Unauthenticated(const http::Request& request, const Status& why);
  int64_t NowSeconds() const { return clock_.NowMicros() / 1000000; }

  metadata::MetadataStore& store_;
  const Clock& clock_;
  AuthOptions options_;
  KeySet local_keys_;
  JwtKey signing_key_;
  std::unique_ptr<OidcVerifier> oidc_;
  http::RateLimiter per_principal_;
  http::RateLimiter per_address_;
  http::RateLimiter failures_per_address_;
};

// "slc_" + id + "_" + secret; "slr_" for refresh tokens.
inline constexpr std::string_view kApiTokenPrefix = "slc_";
inline constexpr std::string_view kRefreshTokenPrefix = "slr_";

}  // namespace sluice::auth
