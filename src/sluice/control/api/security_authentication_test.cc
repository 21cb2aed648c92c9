// Authentication: every bad credential gets the same 401, a refresh token used twice ends every
// session of its subject, and the rate limits give principals and failing addresses their own
// buckets.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <functional>
#include <optional>

#include "sluice/control/api/api.h"
#include "sluice/control/api/security_test_util.h"
#include "sluice/control/auth/jwt.h"

namespace sluice::api::testing {
namespace {

// The header and claims as given, signed with HS256 and `secret` (for headers SignJwt will not make).
std::string HmacJwt(const json& header, const json& claims, const std::string& secret) {
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

TEST_F(Security, EveryBadCredentialGetsTheSame401) {
  const int64_t now = kStartMicros / 1000000;
  auto claims = [&](const json& patch) {
    json c = {{"iss", "sluice"},  {"aud", "sluice-api"}, {"sub", "user:viewer-a"}, {"iat", now}, {"nbf", now},
              {"exp", now + 600}, {"jti", "j1"}};
    if (!patch.is_null()) c.merge_patch(patch);
    return c;
  };
  auto key = auth::JwtKeyFromSecret("sluice-hs256-1", signing_key_);
  ASSERT_TRUE(key.ok());
  auto other_key = auth::JwtKeyFromSecret("sluice-hs256-1", std::string(32, 'x'));
  ASSERT_TRUE(other_key.ok());
  auto sign = [&](const json& c, const auth::JwtKey& k) {
    auto t = auth::SignJwt(c, k);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : std::string();
  };
  const json header = {{"alg", "HS256"}, {"kid", "sluice-hs256-1"}, {"typ", "JWT"}};
  const Req list{"GET", "/api/v1/pipelines", ""};

  // Controls: our own signature over the right claims, a refresh's access token, an API token
  // and lower-case "bearer" are accepted; each forgery below differs from one of them in one thing.
  const std::string good = sign(claims({}), *key);
  EXPECT_EQ(Send(list, "Bearer " + good).status, 200);
  EXPECT_EQ(Send(list, "Bearer " + HmacJwt(header, claims({}), signing_key_)).status, 200);
  EXPECT_EQ(Send(list, "bearer " + good).status, 200);
  auto session = auth_->PasswordGrant("viewer-a", PasswordOf("viewer-a"));
  ASSERT_TRUE(session.ok());

  const Principal& viewer = Who("viewer-a");
  const http::Response made = As(viewer, {"POST", "/api/v1/tokens", R"({"name": "laptop"})"});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string revoked = Body(made)["token"], revoked_id = Body(made)["id"];
  EXPECT_EQ(Send(list, "Bearer " + revoked).status, 200);
  EXPECT_EQ(As(viewer, {"DELETE", "/api/v1/tokens/" + revoked_id, ""}).status, 204);

  const Principal temp = AddUser("temp", Role::kViewer, Role::kNone);
  auto temp_api = auth_->CreateApiToken("user:temp", "ci", 1, "test");
  ASSERT_TRUE(temp_api.ok());
  EXPECT_EQ(Send(list, "Bearer " + temp_api->token).status, 200);
  EXPECT_EQ(Send(list, Bearer(temp.token)).status, 200);
  EXPECT_EQ(As(Who("admin-all"), {"DELETE", "/api/v1/users/temp", ""}).status, 204);

  const Principal paused = AddUser("paused", Role::kViewer, Role::kNone);
  auto paused_api = auth_->CreateApiToken("user:paused", "ci", 1, "test");
  ASSERT_TRUE(paused_api.ok());
  EXPECT_EQ(Send(list, "Bearer " + paused_api->token).status, 200);
  ASSERT_TRUE(store_->identity().SetUserDisabled("paused", true).ok());

  // A user deleted and created again later: the old account's access token is not the new one's.
  const Principal earlier = AddUser("again", Role::kViewer, Role::kNone);
  EXPECT_EQ(As(Who("admin-all"), {"DELETE", "/api/v1/users/again", ""}).status, 204);
  clock_.Advance(2'000'000);
  const Principal recreated = AddUser("again", Role::kViewer, Role::kNone);
  EXPECT_EQ(Send(list, Bearer(recreated.token)).status, 200);

  std::string wrong_secret = paused_api->token;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  const std::string signed_part = good.substr(0, good.rfind('.'));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"no Authorization header", ""},
      {"alg none", "Bearer " +
                       Base64UrlEncode(json{{"alg", "none"}, {"kid", "sluice-hs256-1"}, {"typ", "JWT"}}.dump()) + "." +
                       Base64UrlEncode(claims({}).dump()) + "."},
      {"alg none with our signature", "Bearer " +
                                          Base64UrlEncode(json{{"alg", "none"}, {"kid", "sluice-hs256-1"}}.dump()) +
                                          "." + good.substr(good.find('.') + 1)},
      {"no signature", "Bearer " + signed_part + "."},
      {"another key", "Bearer " + sign(claims({}), *other_key)},
      {"another subject, signature of the original", "Bearer " + Base64UrlEncode(header.dump()) + "." +
                                                         Base64UrlEncode(claims({{"sub", "user:admin-all"}}).dump()) +
                                                         good.substr(good.rfind('.'))},
      {"wrong issuer", "Bearer " + sign(claims({{"iss", "someone-else"}}), *key)},
      {"wrong audience", "Bearer " + sign(claims({{"aud", "another-api"}}), *key)},
      {"no audience", "Bearer " + sign(claims({{"aud", nullptr}}), *key)},
      {"expired", "Bearer " + sign(claims({{"iat", now - 3600}, {"nbf", now - 3600}, {"exp", now - 60}}), *key)},
      {"not yet valid", "Bearer " + sign(claims({{"nbf", now + 600}}), *key)},
      {"no expiry", "Bearer " + sign(claims({{"exp", nullptr}}), *key)},
      {"kid ../x", "Bearer " + HmacJwt({{"alg", "HS256"}, {"kid", "../x"}, {"typ", "JWT"}}, claims({}), signing_key_)},
      {"no kid", "Bearer " + HmacJwt({{"alg", "HS256"}, {"typ", "JWT"}}, claims({}), signing_key_)},
      {"unknown kid", "Bearer " + HmacJwt({{"alg", "HS256"}, {"kid", "sluice-hs256-2"}}, claims({}), signing_key_)},
      {"a user that does not exist", "Bearer " + sign(claims({{"sub", "user:ghost"}}), *key)},
      {"a refresh token as bearer", "Bearer " + session->refresh_token},
      {"a revoked API token", "Bearer " + revoked},
      {"an API token of a deleted user", "Bearer " + temp_api->token},
      {"an access token of a deleted user", Bearer(temp.token)},
      {"an API token of a disabled user", "Bearer " + paused_api->token},
      {"an access token of a disabled user", Bearer(paused.token)},
      {"an access token of an earlier account of the same name", Bearer(earlier.token)},
      {"an API token with a wrong secret", "Bearer " + wrong_secret},
      {"an unknown API token", "Bearer slc_0123456789abcdef_abcdefghijklmnopqrstuvwxyz012345"},
      {"garbage", "Bearer garbage"},
      {"three dots of garbage", "Bearer a.b.c"},
      {"an oversized token", "Bearer " + std::string(20000, 'a')},
      {"another scheme", "Basic dXNlcjpwYXNzd29yZA=="},
      {"a scheme without a token", "Bearer"},
      {"a scheme and spaces", "Bearer    "},
  };
  // Same path for all, so the bodies must be byte-identical once the request id is blanked.
  std::string reference;
  std::string reference_www;
  int accepted = 0;
  const int64_t head = AuditHead();
  auto check = [&](const std::string& what, const std::string& authorization) {
    std::string id;
    const http::Response resp = Send(list, authorization, "10.0.0.1", &id);
    if (resp.status != 401) {
      ++accepted;
      ADD_FAILURE() << what << ": " << resp.status << " " << resp.body;
      return;
    }
    std::string body = resp.body;
    for (size_t at; (at = body.find(id)) != std::string::npos;) body.replace(at, id.size(), "<id>");
    if (reference.empty()) {
      reference = body;
      reference_www = std::string(resp.headers.Get("WWW-Authenticate").value_or(""));
      EXPECT_EQ(Code(resp), "unauthenticated");
    }
    EXPECT_EQ(body, reference) << what;
    EXPECT_EQ(resp.headers.Get("WWW-Authenticate").value_or(""), reference_www) << what;
  };
  for (const auto& [what, authorization] : bad) check(what, authorization);

  // An access token we issued, once its time is up (the manual clock moves past exp + leeway).
  auto fresh = auth_->PasswordGrant("viewer-a", PasswordOf("viewer-a"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(Send(list, Bearer(fresh->access_token)).status, 200);
  clock_.Advance((auth_->options().access_ttl_seconds + 6) * 1'000'000);
  check("an expired access token of ours", Bearer(fresh->access_token));
  EXPECT_EQ(accepted, 0);
  EXPECT_FALSE(reference_www.empty());

  // With another path only `instance` differs.
  std::string id;
  const http::Response elsewhere = Send({"POST", "/api/v1/pipelines/team-a/orders_a/pause", ""}, "Bearer garbage",
                                        "10.0.0.1", &id);
  ASSERT_EQ(elsewhere.status, 401);
  json a = Body(elsewhere), b = json::parse(reference);
  a.erase("instance"), a.erase("request_id"), b.erase("instance"), b.erase("request_id");
  EXPECT_EQ(a, b);
  // Each refusal is audited as denied, anonymously.
  auto rows = store_->audit().ListAudit({"anonymous", "denied"}, std::nullopt, 1000);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(static_cast<int64_t>(rows->size()), AuditHead() - head);
  EXPECT_EQ(rows->size(), bad.size() + 2);
}

TEST_F(Security, ARefreshTokenUsedTwiceEndsEverySessionOfItsSubject) {
  auto token_request = [&](const json& body) { return Send({"POST", "/api/v1/auth/token", body.dump()}, ""); };
  auto login = [&] {
    return token_request({{"grant_type", "password"}, {"username", "viewer-a"}, {"password", PasswordOf("viewer-a")}});
  };
  auto refresh = [&](const std::string& r) {
    return token_request({{"grant_type", "refresh_token"}, {"refresh_token", r}});
  };
  const http::Response first = login(), second = login();
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(first.headers.Get("Cache-Control"), std::optional<std::string_view>("no-store"));
  const std::string r1 = Body(first)["refresh_token"], r2 = Body(second)["refresh_token"];

  const http::Response renewed = refresh(r1);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  EXPECT_EQ(Body(renewed)["subject"], "user:viewer-a");
  const std::string r1b = Body(renewed)["refresh_token"];
  EXPECT_EQ(Send({"GET", "/api/v1/auth/whoami", ""}, Bearer(Body(renewed)["access_token"])).status, 200);

  const http::Response replayed = refresh(r1);
  EXPECT_EQ(replayed.status, 400) << replayed.body;
  EXPECT_EQ(Code(replayed), "invalid_grant");
  // Every other session of the subject ended with it.
  for (const auto& r : {r2, r1b}) {
    const http::Response resp = refresh(r);
    EXPECT_EQ(resp.status, 400) << resp.body;
    EXPECT_EQ(Code(resp), "invalid_grant");
  }
  auto viewer_sessions = store_->identity().ListTokens("refresh", "user:viewer-a");
  ASSERT_TRUE(viewer_sessions.ok());
  EXPECT_GE(viewer_sessions->size(), 4u);
  for (const auto& t : *viewer_sessions) EXPECT_NE(t.revoked_at, 0) << t.id;
  // Another subject's sessions live on.
  auto editor_sessions = store_->identity().ListTokens("refresh", "user:editor-a");
  ASSERT_TRUE(editor_sessions.ok());
  ASSERT_FALSE(editor_sessions->empty());
  for (const auto& t : *editor_sessions) EXPECT_EQ(t.revoked_at, 0) << t.id;
  // A new login starts a new session.
  const http::Response again = login();
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(refresh(Body(again)["refresh_token"]).status, 200);
}

class SecurityRateLimited : public Security {
 protected:
  auth::AuthOptions Options() override {
    auth::AuthOptions o = Security::Options();
    o.requests_per_second = 5;  // burst 10
    o.failures_per_second = 5;  // burst 20
    return o;
  }
};

TEST_F(SecurityRateLimited, PrincipalsAndFailingAddressesHaveTheirOwnBuckets) {
  const Req whoami{"GET", "/api/v1/auth/whoami", ""};
  const Principal& viewer = Who("viewer-a");
  // Until the first refusal; its count and the refusal.
  auto until_refused = [&](const std::function<http::Response()>& send, int expect_status) {
    int passed = 0;
    http::Response last;
    for (int i = 0; i < 100; ++i) {
      last = send();
      if (last.status != expect_status) break;
      ++passed;
    }
    return std::make_pair(passed, last);
  };

  auto [passed, refused] = until_refused([&] { return As(viewer, whoami); }, 200);
  EXPECT_EQ(passed, 10);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(Code(refused), "rate_limited");
  EXPECT_EQ(refused.headers.Get("Retry-After"), std::optional<std::string_view>("1"));
  // Another principal from the same address is not affected.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(As(Who("editor-a"), whoami).status, 200) << i;
  // A second refills five.
  clock_.Advance(1'000'000);
  auto [refilled, refused_again] = until_refused([&] { return As(viewer, whoami); }, 200);
  EXPECT_EQ(refilled, 5);
  EXPECT_EQ(refused_again.status, 429);

  // Failed authentications draw on their address's bucket.
  const Req list{"GET", "/api/v1/pipelines", ""};
  auto [failures, blocked] = until_refused([&] { return Send(list, "Bearer garbage", "10.9.9.9"); }, 401);
  EXPECT_EQ(failures, 20);
  EXPECT_EQ(blocked.status, 429);
  EXPECT_EQ(Code(blocked), "rate_limited");
  EXPECT_EQ(blocked.headers.Get("Retry-After"), std::optional<std::string_view>("1"));
  // So do logins: a correct password from that address waits too, from another it does not.
  const Req login{"POST", "/api/v1/auth/token",
                  json{{"grant_type", "password"}, {"username", "login"}, {"password", PasswordOf("login")}}.dump()};
  EXPECT_EQ(Send(login, "", "10.9.9.9").status, 429);
  EXPECT_EQ(Send(login, "", "10.9.9.11").status, 200);
  // Another address still gets its 401; a valid principal at the blocked address is served.
  EXPECT_EQ(Send(list, "Bearer garbage", "10.9.9.10").status, 401);
  EXPECT_EQ(Send(list, Bearer(Who("admin-all").token), "10.9.9.9").status, 200);
  // The address's bucket refills with time too.
  clock_.Advance(1'000'000);
  EXPECT_EQ(Send(list, "Bearer garbage", "10.9.9.9").status, 401);
}

class SecurityAddressLimited : public Security {
 protected:
  auth::AuthOptions Options() override {
    auth::AuthOptions o = Security::Options();
    o.requests_per_address_per_second = 5;  // burst 10
    return o;
  }
};

TEST_F(SecurityAddressLimited, PrincipalsShareTheirAddresssBucket) {
  const Req whoami{"GET", "/api/v1/auth/whoami", ""};
  // Two principals from one address draw on one bucket of 10.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Send(whoami, Bearer(Who(i % 2 ? "viewer-a" : "editor-a").token), "10.7.7.7").status, 200) << i;
  }
  const http::Response refused = Send(whoami, Bearer(Who("admin-all").token), "10.7.7.7");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(Code(refused), "rate_limited");
  EXPECT_EQ(refused.headers.Get("Retry-After"), std::optional<std::string_view>("1"));
  // Another address is served; the first refills with time.
  EXPECT_EQ(Send(whoami, Bearer(Who("viewer-a").token), "10.7.7.8").status, 200);
  clock_.Advance(1'000'000);
  EXPECT_EQ(Send(whoami, Bearer(Who("viewer-a").token), "10.7.7.7").status, 200);
}

}  // namespace
}  // namespace sluice::api::testing
