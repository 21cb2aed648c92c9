// Tests of OidcVerifier against an OIDC test issuer inside the test: our own HttpServer on
// 127.0.0.1 publishing a JWKS at /jwks, fetched with the default libcurl fetcher. The clock is
// manual, so cache ages and token times move only when the test says so.
#include "sluice/control/auth/oidc.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::auth {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr int64_t kStartSeconds = 1'700'000'000;
constexpr int64_t kMicros = 1'000'000;
constexpr char kOidcIssuer[] = "https://login.example";
constexpr char kOidcAudience[] = "sluice-api";

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// A signing key of the test issuer (private), made with OpenSSL.
JwtKey NewSigningKey(const std::string& kid, JwtAlg alg) {
  Pkey pkey(alg == JwtAlg::kRS256 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"), EVP_PKEY_free);
  SLUICE_CHECK(pkey) << "key generation failed";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  SLUICE_CHECK(PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  auto key = JwtKeyFromPrivatePem(kid, alg, std::string(data, static_cast<size_t>(len)));
  SLUICE_CHECK(key.ok()) << key.status().ToString();
  return *key;
}

// Made once: RSA key generation takes a while. k1 is RSA, k2 EC, k3 RSA.
struct IssuerKeys {
  JwtKey k1 = NewSigningKey("k1", JwtAlg::kRS256);
  JwtKey k2 = NewSigningKey("k2", JwtAlg::kES256);
  JwtKey k3 = NewSigningKey("k3", JwtAlg::kRS256);
};
const IssuerKeys& Keys() {
  static const IssuerKeys* keys = new IssuerKeys();
  return *keys;
}

Json Jwk(const JwtKey& key) {
  auto jwk = PublicJwk(key);
  SLUICE_CHECK(jwk.ok()) << jwk.status().ToString();
  return Json::parse(*jwk);
}

// The test issuer: serves GET /jwks (what Publish last set) and counts the requests.
class TestIssuer {
 public:
  TestIssuer() {
    http::Route jwks;
    jwks.method = "GET";
    jwks.pattern = "/jwks";
    jwks.operation_id = "getJwks";
    jwks.permission = "jwks.read";
    jwks.handler = [this](const http::Request&, const http::PathParams&) {
      requests_.fetch_add(1);
      std::lock_guard lock(mu_);
      http::Response response;
      response.status = status_;
      response.content_type = std::string(http::kApplicationJson);
      response.body = document_;
      return response;
    };
    auto router = http::Router::Create({jwks});
    SLUICE_CHECK(router.ok()) << router.status().ToString();
    http::HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<http::HttpServer>(options, std::move(router).value());
    const Status started = server_->Start();
    SLUICE_CHECK(started.ok()) << started.ToString();
    url_ = fmt::format("http://127.0.0.1:{}/jwks", server_->port());
  }

  // The server goes first: its handler uses the members below.
  ~TestIssuer() { server_.reset(); }

  void Publish(const std::vector<const JwtKey*>& keys) {
    Json entries = Json::array();
    for (const JwtKey* key : keys) entries.push_back(Jwk(*key));
    PublishRaw(Json{{"keys", entries}}.dump());
  }
  void PublishRaw(std::string document, int status = 200) {
    std::lock_guard lock(mu_);
    document_ = std::move(document);
    status_ = status;
  }
  // The issuer goes down: the server is stopped and destroyed, so its port refuses connections.
  void Stop() { server_.reset(); }

  const std::string& url() const { return url_; }
  int requests() const { return requests_.load(); }

 private:
  std::unique_ptr<http::HttpServer> server_;
  std::string url_;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string document_ = R"({"keys": []})";
  int status_ = 200;
};

class OidcTest : public ::testing::Test {
 protected:
  OidcOptions Options() const {
    OidcOptions options;
    options.issuer = kOidcIssuer;
    options.audience = kOidcAudience;
    options.jwks_url = issuer_.url();
    options.jwks_cache_seconds = 300;
    options.min_refetch_seconds = 30;
    return options;  // fetch left empty: the libcurl fetcher
  }

  int64_t Now() const { return clock_.NowMicros() / kMicros; }
  void AdvanceSeconds(int64_t seconds) { clock_.Advance(seconds * kMicros); }

  // A token of the issuer for `sub`, valid for 10 minutes from the clock's now.
  std::string Token(const JwtKey& key, const std::string& sub = "alice", Json extra = Json::object()) const {
    Json claims = {{"iss", kOidcIssuer}, {"aud", kOidcAudience}, {"sub", sub}, {"iat", Now()}, {"exp", Now() + 600}};
    claims.update(extra);
    auto token = SignJwt(claims, key);
    SLUICE_CHECK(token.ok()) << token.status().ToString();
    return *token;
  }

  TestIssuer issuer_;
  ManualClock clock_{kStartSeconds * kMicros};
};

TEST_F(OidcTest, VerifiesATokenAndMapsItToAnIdentity) {
  issuer_.Publish({&Keys().k1});
  OidcVerifier verifier(Options(), clock_);
  EXPECT_EQ(verifier.fetch_count(), 0) << "nothing is fetched before the first token";
  auto identity = verifier.Verify(Token(Keys().k1, "alice", {{"groups", {"eng", "ops"}}}));
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->principal, "oidc:alice");
  EXPECT_EQ(identity->subject, "alice");
  EXPECT_EQ(identity->groups, (std::vector<std::string>{"eng", "ops"}));
  EXPECT_EQ(identity->expires_at, Now() + 600);
  EXPECT_EQ(verifier.fetch_count(), 1);
  EXPECT_EQ(issuer_.requests(), 1) << "a real HTTP request";

  // Cached: more tokens, no more fetches.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(verifier.Verify(Token(Keys().k1, "bob")).ok());
  EXPECT_EQ(verifier.fetch_count(), 1);
  EXPECT_EQ(issuer_.requests(), 1);

  // The usual JWT refusals still apply.
  EXPECT_THAT(verifier.Verify(Token(Keys().k1, "alice", {{"aud", "another-api"}})).status().message(), HasSubstr("audience"));
  EXPECT_THAT(verifier.Verify(Token(Keys().k1, "alice", {{"iss", "https://evil.example"}})).status().message(), HasSubstr("issuer"));
  EXPECT_EQ(verifier.Verify("garbage").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verifier.fetch_count(), 1) << "malformed tokens and known kids cause no fetch";
}

TEST_F(OidcTest, GroupsClaimMayBeOneStringOrNamedOtherwise) {
  issuer_.Publish({&Keys().k1});
  OidcOptions options = Options();
  options.groups_claim = "roles";
  options.subject_prefix = "sso:";
  OidcVerifier verifier(options, clock_);
  auto one = verifier.Verify(Token(Keys().k1, "carol", {{"roles", "admin"}, {"groups", {"ignored"}}}));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->principal, "sso:carol");
  EXPECT_EQ(one->groups, (std::vector<std::string>{"admin"}));
  auto none = verifier.Verify(Token(Keys().k1, "carol"));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->groups.empty());
  EXPECT_THAT(verifier.Verify(Token(Keys().k1, "carol", {{"roles", {"a", 1}}})).status().message(), HasSubstr("not only strings"));
  EXPECT_FALSE(verifier.Verify(Token(Keys().k1, "carol", {{"roles", {{"a", 1}}}})).ok());
}

TEST_F(OidcTest, KeyRotationIsPickedUpByTheUnknownKid) {
  issuer_.Publish({&Keys().k1});
  OidcVerifier verifier(Options(), clock_);
  ASSERT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  ASSERT_EQ(verifier.fetch_count(), 1);

  // The issuer rotates: k2 (EC) joins k1 (RSA). A k2 token arrives before the cache expires.
  issuer_.Publish({&Keys().k1, &Keys().k2});
  AdvanceSeconds(31);
  auto rotated = verifier.Verify(Token(Keys().k2, "dave"));
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->principal, "oidc:dave");
  EXPECT_EQ(verifier.fetch_count(), 2) << "exactly one refetch for the new kid";
  ASSERT_TRUE(verifier.Verify(Token(Keys().k1)).ok()) << "both RS256 and ES256 keys are served";
  ASSERT_TRUE(verifier.Verify(Token(Keys().k2)).ok());
  EXPECT_EQ(verifier.fetch_count(), 2);

  // The issuer drops k1. Until the cache expires the verifier still has it ...
  issuer_.Publish({&Keys().k2});
  AdvanceSeconds(60);
  EXPECT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  EXPECT_EQ(verifier.fetch_count(), 2);
  // ... and once it has expired, k1 is gone: its tokens are refused.
  AdvanceSeconds(300);
  auto dropped = verifier.Verify(Token(Keys().k1));
  EXPECT_EQ(dropped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(dropped.status().message(), HasSubstr("unknown kid k1"));
  EXPECT_EQ(verifier.fetch_count(), 3) << "the expired cache was fetched again, once";
  EXPECT_TRUE(verifier.Verify(Token(Keys().k2)).ok());
  EXPECT_FALSE(verifier.Verify(Token(Keys().k1)).ok());
  EXPECT_EQ(verifier.fetch_count(), 3) << "a dropped kid refetches at most once per min_refetch_seconds";
}

TEST_F(OidcTest, AFloodOfUnknownKidsCostsTheIssuerOneRequest) {
  issuer_.Publish({&Keys().k1});
  OidcVerifier verifier(Options(), clock_);
  ASSERT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  AdvanceSeconds(31);  // the next unknown kid may refetch, once
  const int64_t fetches = verifier.fetch_count();
  const int requests = issuer_.requests();

  // 100 tokens with random kids, signed by a key the issuer never published, from 4 threads.
  std::vector<std::string> tokens;
  std::mt19937 rng(7);
  for (int i = 0; i < 100; ++i) {
    JwtKey forged = Keys().k3;
    forged.kid = fmt::format("kid-{:08x}", static_cast<uint32_t>(rng()));
    tokens.push_back(Token(forged));
  }
  std::atomic<int> accepted{0};
  std::latch start(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (size_t i = t; i < tokens.size(); i += 4) accepted += verifier.Verify(tokens[i]).ok();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 0);
  EXPECT_EQ(verifier.fetch_count() - fetches, 1);
  EXPECT_EQ(issuer_.requests() - requests, 1);

  // Still within min_refetch_seconds: more unknown kids fetch nothing; after it, one may again.
  AdvanceSeconds(29);
  EXPECT_FALSE(verifier.Verify(tokens[0]).ok());
  EXPECT_EQ(verifier.fetch_count() - fetches, 1);
  AdvanceSeconds(1);
  EXPECT_FALSE(verifier.Verify(tokens[1]).ok());
  EXPECT_FALSE(verifier.Verify(tokens[2]).ok());
  EXPECT_EQ(verifier.fetch_count() - fetches, 2);
}

TEST_F(OidcTest, ConcurrentFirstTokensShareOneFetch) {
  issuer_.Publish({&Keys().k1, &Keys().k2});
  OidcVerifier verifier(Options(), clock_);
  const std::string t1 = Token(Keys().k1), t2 = Token(Keys().k2);
  constexpr int kThreads = 8;
  std::atomic<int> accepted{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 20; ++i) accepted += verifier.Verify(t % 2 ? t1 : t2).ok();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), kThreads * 20);
  EXPECT_EQ(verifier.fetch_count(), 1);
  EXPECT_EQ(issuer_.requests(), 1);
}

TEST_F(OidcTest, WhenTheIssuerIsDownTheCachedKeysStillWork) {
  issuer_.Publish({&Keys().k1});
  OidcVerifier verifier(Options(), clock_);
  ASSERT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  issuer_.Stop();

  // The cache expires; the refetch fails; the old set is kept.
  AdvanceSeconds(301);
  auto still = verifier.Verify(Token(Keys().k1));
  EXPECT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(verifier.fetch_count(), 2);
  // A failed attempt also waits min_refetch_seconds before the next one.
  EXPECT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  EXPECT_EQ(verifier.fetch_count(), 2);
  // An unknown kid now names the failure in the refusal (for the log).
  AdvanceSeconds(31);
  auto unknown = verifier.Verify(Token(Keys().k2));
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown kid k2"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("the last JWKS fetch failed"));
  EXPECT_EQ(verifier.fetch_count(), 3);
}

TEST_F(OidcTest, ABadDocumentKeepsTheOldSet) {
  issuer_.Publish({&Keys().k1});
  OidcVerifier verifier(Options(), clock_);
  ASSERT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  issuer_.PublishRaw("<html>maintenance</html>");
  AdvanceSeconds(301);
  EXPECT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  issuer_.PublishRaw(R"({"keys": []})", 503);
  AdvanceSeconds(31);
  EXPECT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  EXPECT_EQ(verifier.fetch_count(), 3);
  // A valid JWKS replaces the set, even an empty one: the issuer revoked its keys.
  issuer_.PublishRaw(R"({"keys": []})");
  AdvanceSeconds(31);
  EXPECT_FALSE(verifier.Verify(Token(Keys().k1)).ok());
  EXPECT_EQ(verifier.fetch_count(), 4);
}

TEST_F(OidcTest, NoKeysYetIsUnavailable) {
  issuer_.Stop();
  OidcVerifier verifier(Options(), clock_);
  auto refused = verifier.Verify(Token(Keys().k1));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("no key set"));
  EXPECT_EQ(verifier.fetch_count(), 1);
  EXPECT_EQ(verifier.Verify(Token(Keys().k1)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(verifier.fetch_count(), 1) << "no second attempt within min_refetch_seconds";
}

TEST_F(OidcTest, AnEcKeyThatClaimsRs256IsSkipped) {
  Json ec = Jwk(Keys().k2);
  ec["alg"] = "RS256";
  issuer_.PublishRaw(Json{{"keys", {Jwk(Keys().k1), ec}}}.dump());
  OidcVerifier verifier(Options(), clock_);
  EXPECT_TRUE(verifier.Verify(Token(Keys().k1)).ok());
  auto skipped = verifier.Verify(Token(Keys().k2));
  EXPECT_EQ(skipped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(skipped.status().message(), HasSubstr("unknown kid k2"));
}

TEST_F(OidcTest, MissingOptionsRefuseEverything) {
  issuer_.Publish({&Keys().k1});
  OidcOptions options = Options();
  options.audience = "";
  OidcVerifier verifier(options, clock_);
  EXPECT_EQ(verifier.Verify(Token(Keys().k1)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(verifier.fetch_count(), 0);
}

TEST_F(OidcTest, TheFetcherIsStrictAboutWhatItGets) {
  issuer_.Publish({&Keys().k1});
  EXPECT_TRUE(FetchJwksOverHttp(issuer_.url()).ok());
  EXPECT_EQ(FetchJwksOverHttp("http://login.example/jwks").status().code(), StatusCode::kInvalidArgument)
      << "plain http only to loopback";
  EXPECT_EQ(FetchJwksOverHttp("http://127.evil.example/jwks").status().code(), StatusCode::kInvalidArgument)
      << "a name is not a loopback address";
  EXPECT_EQ(FetchJwksOverHttp("ftp://127.0.0.1/jwks").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FetchJwksOverHttp("not a url").status().code(), StatusCode::kInvalidArgument);
  issuer_.PublishRaw(std::string((1 << 20) + 1, ' '));
  auto big = FetchJwksOverHttp(issuer_.url());
  EXPECT_EQ(big.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(big.status().message(), HasSubstr("exceeds"));
  issuer_.PublishRaw("{}", 404);
  EXPECT_THAT(FetchJwksOverHttp(issuer_.url()).status().message(), HasSubstr("HTTP 404"));
  issuer_.Stop();
  EXPECT_EQ(FetchJwksOverHttp(issuer_.url()).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sluice::auth
