// Tests of JWT verification with real keys made by OpenSSL here: the three algorithms, JWKS
// parsing, and the attacks a verifier must refuse (one named case each, none may pass).
#include "sluice/control/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr int64_t kNow = 1'700'000'000;
constexpr char kIssuer[] = "https://issuer.example";
constexpr char kAudience[] = "sluice";
const std::string kHmacSecret(32, 's');

// ---- keys made with OpenSSL ---------------------------------------------------------------

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Pkey NewRsa(unsigned bits) { return Pkey(EVP_RSA_gen(bits), EVP_PKEY_free); }
Pkey NewEcP256() { return Pkey(EVP_EC_gen("P-256"), EVP_PKEY_free); }

std::string Pem(EVP_PKEY* pkey, bool is_private) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  const int ok = is_private ? PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr)
                            : PEM_write_bio_PUBKEY(bio.get(), pkey);
  if (ok != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

JwtKey PrivateKey(const std::string& kid, JwtAlg alg, EVP_PKEY* pkey) {
  auto key = JwtKeyFromPrivatePem(kid, alg, Pem(pkey, true));
  SLUICE_CHECK(key.ok()) << key.status().ToString();
  return *key;
}
JwtKey PublicKey(const std::string& kid, JwtAlg alg, EVP_PKEY* pkey) {
  auto key = JwtKeyFromPublicPem(kid, alg, Pem(pkey, false));
  SLUICE_CHECK(key.ok()) << key.status().ToString();
  return *key;
}

// Made once: RSA key generation takes a while.
struct Keys {
  Pkey rsa = NewRsa(2048);
  Pkey rsa_other = NewRsa(2048);
  Pkey ec = NewEcP256();
  std::string rsa_public_pem = Pem(rsa.get(), false);
  JwtKey hs_signer = *JwtKeyFromSecret("hs-1", kHmacSecret);
  JwtKey rsa_signer = PrivateKey("rsa-1", JwtAlg::kRS256, rsa.get());
  JwtKey ec_signer = PrivateKey("ec-1", JwtAlg::kES256, ec.get());
  // The verifier's set: public halves and the secret.
  KeySet verifier;

  Keys() {
    SLUICE_CHECK(verifier.AddHmac("hs-1", kHmacSecret).ok());
    SLUICE_CHECK(verifier.Add(PublicKey("rsa-1", JwtAlg::kRS256, rsa.get())).ok());
    SLUICE_CHECK(verifier.Add(PublicKey("ec-1", JwtAlg::kES256, ec.get())).ok());
  }
};

const Keys& TestKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

JwtVerifyOptions Options(int64_t now = kNow, int64_t leeway = 30) {
  JwtVerifyOptions options;
  options.issuer = kIssuer;
  options.audience = kAudience;
  options.now_seconds = now;
  options.leeway_seconds = leeway;
  return options;
}

Json GoodClaims() {
  return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", "alice"}, {"exp", kNow + 600},
          {"iat", kNow - 5}, {"nbf", kNow - 5}};
}

std::string Sign(const Json& claims, const JwtKey& key) {
  auto token = SignJwt(claims, key);
  SLUICE_CHECK(token.ok()) << token.status().ToString();
  return *token;
}

// ---- hand-made tokens (any header, any bytes) ---------------------------------------------

std::string HmacSha256(const std::string& secret, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// A DER signature, as OpenSSL makes it (not the JOSE form).
std::string DerSign(EVP_PKEY* pkey, const std::string& data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  SLUICE_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1);
  SLUICE_CHECK(EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1);
  std::string sig(len, '\0');
  SLUICE_CHECK(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                              reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1);
  sig.resize(len);
  return sig;
}

std::string SigningInput(const std::string& header_text, const std::string& payload_text) {
  return Base64UrlEncode(header_text) + "." + Base64UrlEncode(payload_text);
}

// A token with exactly these header and payload texts and a valid HMAC over them with the
// verifier's secret: only what the texts say can make it fail.
std::string HsToken(const std::string& header_text, const std::string& payload_text) {
  const std::string input = SigningInput(header_text, payload_text);
  return input + "." + Base64UrlEncode(HmacSha256(kHmacSecret, input));
}
std::string HsToken(const Json& header, const Json& payload) { return HsToken(header.dump(), payload.dump()); }

Json HsHeader() { return {{"alg", "HS256"}, {"kid", "hs-1"}, {"typ", "JWT"}}; }

Json Without(Json object, const std::string& member) {
  object.erase(member);
  return object;
}
Json With(Json object, const std::string& member, Json value) {
  object[member] = std::move(value);
  return object;
}

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) parts.push_back(token.substr(start, dot - start));
  parts.push_back(token.substr(start));
  return parts;
}

// ---- positive cases -----------------------------------------------------------------------

TEST(Jwt, AlgorithmNamesAreExact) {
  EXPECT_EQ(JwtAlgName(JwtAlg::kHS256), "HS256");
  EXPECT_EQ(JwtAlgName(JwtAlg::kRS256), "RS256");
  EXPECT_EQ(JwtAlgName(JwtAlg::kES256), "ES256");
  EXPECT_EQ(JwtAlgFromName("ES256"), JwtAlg::kES256);
  EXPECT_EQ(JwtAlgFromName("es256"), std::nullopt);
  EXPECT_EQ(JwtAlgFromName("none"), std::nullopt);
}

TEST(Jwt, Base64UrlIsStrict) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_EQ(Base64UrlDecode("-_8="), std::nullopt) << "padding";
  EXPECT_EQ(Base64UrlDecode("+/8"), std::nullopt) << "the standard alphabet";
  EXPECT_EQ(Base64UrlDecode("ab c"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("abcde"), std::nullopt) << "a length no bytes encode to";
  EXPECT_EQ(Base64UrlDecode("-_9"), std::nullopt) << "non-zero trailing bits: a second spelling";
}

TEST(Jwt, KidsAreNamesNotPaths) {
  EXPECT_TRUE(IsValidJwtKid("k1"));
  EXPECT_TRUE(IsValidJwtKid("2024-06.rsa_A"));
  EXPECT_TRUE(IsValidJwtKid(std::string(128, 'a')));
  EXPECT_FALSE(IsValidJwtKid(std::string(129, 'a')));
  EXPECT_FALSE(IsValidJwtKid(""));
  EXPECT_FALSE(IsValidJwtKid(".."));
  EXPECT_FALSE(IsValidJwtKid("a..b"));
  EXPECT_FALSE(IsValidJwtKid("../../etc/passwd"));
  EXPECT_FALSE(IsValidJwtKid("a/b"));
  EXPECT_FALSE(IsValidJwtKid("k 1"));
  EXPECT_FALSE(IsValidJwtKid(std::string("k\0", 2)));
}

TEST(Jwt, VerifiesHs256Rs256AndEs256) {
  const Keys& keys = TestKeys();
  Json claims = GoodClaims();
  claims["aud"] = Json::array({"other", kAudience});
  claims["groups"] = Json::array({"eng"});
  for (const JwtKey* signer : {&keys.hs_signer, &keys.rsa_signer, &keys.ec_signer}) {
    SCOPED_TRACE(std::string(JwtAlgName(signer->alg)));
    const std::string token = Sign(claims, *signer);
    auto header = Json::parse(*Base64UrlDecode(Split(token)[0]));
    EXPECT_EQ(header["alg"], JwtAlgName(signer->alg));
    EXPECT_EQ(header["kid"], signer->kid);
    auto verified = VerifyJwt(token, keys.verifier, Options());
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    EXPECT_EQ(verified->subject, "alice");
    EXPECT_EQ(verified->issuer, kIssuer);
    EXPECT_EQ(verified->audience, (std::vector<std::string>{"other", kAudience}));
    EXPECT_EQ(verified->expires_at, kNow + 600);
    EXPECT_EQ(verified->not_before, kNow - 5);
    EXPECT_EQ(verified->issued_at, kNow - 5);
    EXPECT_EQ(verified->kid, signer->kid);
    EXPECT_EQ(verified->payload["groups"], Json::array({"eng"}));
  }
  const std::string es = Sign(GoodClaims(), keys.ec_signer);
  EXPECT_EQ(Base64UrlDecode(Split(es)[2])->size(), 64u) << "ES256 signatures are r||s";
}

TEST(Jwt, NumericDatesMayHaveAFraction) {
  auto verified = VerifyJwt(HsToken(HsHeader(), With(GoodClaims(), "exp", kNow + 0.75)), TestKeys().verifier, Options());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->expires_at, kNow);
}

TEST(Jwt, LeewayCoversClockSkewAndNoMore) {
  const Keys& keys = TestKeys();
  const std::string token = Sign(With(Without(GoodClaims(), "nbf"), "exp", kNow - 10), keys.rsa_signer);
  EXPECT_TRUE(VerifyJwt(token, keys.verifier, Options(kNow, 30)).ok()) << "10 s after exp, leeway 30";
  auto strict = VerifyJwt(token, keys.verifier, Options(kNow, 0));
  EXPECT_EQ(strict.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(strict.status().message(), HasSubstr("expired"));
  EXPECT_TRUE(VerifyJwt(token, keys.verifier, Options(kNow - 10, 0)).ok()) << "exactly at exp";
  EXPECT_TRUE(VerifyJwt(token, keys.verifier, Options(kNow + 20, 30)).ok()) << "the last second of leeway";
  EXPECT_FALSE(VerifyJwt(token, keys.verifier, Options(kNow + 21, 30)).ok()) << "leeway used up";

  const std::string early = Sign(With(GoodClaims(), "nbf", kNow + 10), keys.rsa_signer);
  EXPECT_TRUE(VerifyJwt(early, keys.verifier, Options(kNow, 30)).ok());
  EXPECT_TRUE(VerifyJwt(early, keys.verifier, Options(kNow + 10, 0)).ok()) << "exactly at nbf";
  EXPECT_THAT(VerifyJwt(early, keys.verifier, Options(kNow, 0)).status().message(), HasSubstr("not valid before"));
}

TEST(Jwt, AVerifierWithoutIssuerOrAudienceRefusesEverything) {
  const std::string token = Sign(GoodClaims(), TestKeys().hs_signer);
  JwtVerifyOptions options = Options();
  options.issuer = "";
  EXPECT_FALSE(VerifyJwt(token, TestKeys().verifier, options).ok());
  options = Options();
  options.audience = "";
  EXPECT_FALSE(VerifyJwt(token, TestKeys().verifier, options).ok());
}

// ---- the negative suite -------------------------------------------------------------------

struct NegativeCase {
  std::string name;
  std::string token;
  std::string reason;  // a part of the refusal's message: it fails for the reason it is about
};

std::vector<NegativeCase> NegativeCases() {
  const Keys& keys = TestKeys();
  const Json claims = GoodClaims();
  std::vector<NegativeCase> cases;
  auto add = [&](std::string name, std::string token, std::string reason) {
    cases.push_back({std::move(name), std::move(token), std::move(reason)});
  };

  // alg: none, with no signature and with one.
  const Json none_header = {{"alg", "none"}, {"kid", "hs-1"}, {"typ", "JWT"}};
  add("alg_none_empty_signature", SigningInput(none_header.dump(), claims.dump()) + ".", "alg \"none\"");
  add("alg_none_with_signature", HsToken(none_header, claims), "alg \"none\"");
  add("alg_none_naming_the_rsa_key",
      SigningInput(With(none_header, "kid", "rsa-1").dump(), claims.dump()) + ".", "alg \"none\"");
  // The RSA public key's PEM (public knowledge) used as an HMAC secret, kid naming the RSA key.
  add("hs256_with_the_rsa_public_pem_as_secret", Sign(claims, *JwtKeyFromSecret("rsa-1", keys.rsa_public_pem)),
      "alg \"HS256\" but key rsa-1 is RS256");
  add("rs256_against_the_hmac_key", Sign(claims, PrivateKey("hs-1", JwtAlg::kRS256, keys.rsa.get())),
      "alg \"RS256\" but key hs-1 is HS256");
  add("es256_against_the_rsa_key", Sign(claims, PrivateKey("rsa-1", JwtAlg::kES256, keys.ec.get())),
      "alg \"ES256\" but key rsa-1 is RS256");
  add("alg_in_lower_case", HsToken(With(HsHeader(), "alg", "hs256"), claims), "alg \"hs256\"");
  // Signatures.
  for (const JwtKey* signer : {&keys.hs_signer, &keys.rsa_signer, &keys.ec_signer}) {
    auto parts = Split(Sign(claims, *signer));
    std::string sig = *Base64UrlDecode(parts[2]);
    sig[sig.size() / 2] ^= 0x01;
    add(fmt::format("one_signature_byte_flipped_{}", JwtAlgName(signer->alg)),
        parts[0] + "." + parts[1] + "." + Base64UrlEncode(sig), "bad");
  }
  add("signed_by_another_rsa_key_with_the_same_kid", Sign(claims, PrivateKey("rsa-1", JwtAlg::kRS256, keys.rsa_other.get())),
      "bad RS256 signature");
  add("signed_by_another_hmac_secret_with_the_same_kid", Sign(claims, *JwtKeyFromSecret("hs-1", std::string(32, 't'))),
      "bad HS256 signature");
  add("claims_swapped_under_a_valid_signature", [&] {
    auto parts = Split(Sign(claims, keys.rsa_signer));
    return parts[0] + "." + Base64UrlEncode(With(claims, "sub", "admin").dump()) + "." + parts[2];
  }(), "bad RS256 signature");
  add("es256_signature_in_der_form", [&] {
    const std::string input = SigningInput(Json{{"alg", "ES256"}, {"kid", "ec-1"}}.dump(), claims.dump());
    return input + "." + Base64UrlEncode(DerSign(keys.ec.get(), input));
  }(), "64 bytes");
  add("es256_signature_truncated", [&] {
    auto parts = Split(Sign(claims, keys.ec_signer));
    return parts[0] + "." + parts[1] + "." + Base64UrlEncode(Base64UrlDecode(parts[2])->substr(0, 63));
  }(), "64 bytes");
  add("es256_signature_of_zeros", [&] {
    auto parts = Split(Sign(claims, keys.ec_signer));
    return parts[0] + "." + parts[1] + "." + Base64UrlEncode(std::string(64, '\0'));
  }(), "bad ES256 signature");
  add("rs256_signature_empty", [&] {
    auto parts = Split(Sign(claims, keys.rsa_signer));
    return parts[0] + "." + parts[1] + ".";
  }(), "does not fit the key");
  // Claims (validly signed, so only the claims can fail them).
  add("expired", HsToken(HsHeader(), With(claims, "exp", kNow - 31)), "expired");
  add("nbf_in_the_future", HsToken(HsHeader(), With(claims, "nbf", kNow + 31)), "not valid before");
  add("wrong_iss", HsToken(HsHeader(), With(claims, "iss", "https://evil.example")), "issuer");
  add("missing_iss", HsToken(HsHeader(), Without(claims, "iss")), "no iss");
  add("wrong_aud", HsToken(HsHeader(), With(claims, "aud", "another-service")), "audience");
  add("wrong_aud_in_an_array", HsToken(HsHeader(), With(claims, "aud", Json::array({"a", "b"}))), "audience");
  add("aud_an_object", HsToken(HsHeader(), With(claims, "aud", Json{{"sluice", true}})), "aud is a object");
  add("missing_aud", HsToken(HsHeader(), Without(claims, "aud")), "no aud");
  add("missing_exp", HsToken(HsHeader(), Without(claims, "exp")), "no exp");
  add("exp_a_string", HsToken(HsHeader(), With(claims, "exp", std::to_string(kNow + 600))), "exp claim is not a NumericDate");
  add("exp_beyond_int64", HsToken(HsHeader(), With(claims, "exp", 1e300)), "exp claim is not a NumericDate");
  add("nbf_a_bool", HsToken(HsHeader(), With(claims, "nbf", true)), "nbf claim is not a NumericDate");
  add("missing_sub", HsToken(HsHeader(), Without(claims, "sub")), "no sub");
  add("empty_sub", HsToken(HsHeader(), With(claims, "sub", "")), "sub has 0 bytes");
  add("sub_a_number", HsToken(HsHeader(), With(claims, "sub", 42)), "no sub");
  add("sub_with_a_newline", HsToken(HsHeader(), With(claims, "sub", "alice\nadmin")), "control character");
  add("payload_repeats_sub", HsToken(HsHeader().dump(), R"({"iss":"https://issuer.example","aud":"sluice","exp":1700000600,"sub":"alice","sub":"admin"})"),
      "repeats a member");
  add("payload_an_array", HsToken(HsHeader().dump(), "[1]"), "payload is not a JSON object");
  // Header: kid and crit.
  add("kid_path_traversal", HsToken(With(HsHeader(), "kid", "../../etc/passwd"), claims), "invalid kid");
  add("kid_dot_dot", HsToken(With(HsHeader(), "kid", ".."), claims), "invalid kid");
  add("kid_too_long", HsToken(With(HsHeader(), "kid", std::string(129, 'k')), claims), "invalid kid");
  add("kid_a_number", HsToken(With(HsHeader(), "kid", 1), claims), "not a string");
  add("no_kid", HsToken(Without(HsHeader(), "kid"), claims), "no kid");
  add("unknown_kid", Sign(claims, *JwtKeyFromSecret("hs-2", kHmacSecret)), "unknown kid hs-2");
  add("crit_header", HsToken(With(HsHeader(), "crit", Json::array({"exp"})), claims), "crit");
  add("header_repeats_alg", HsToken(R"({"alg":"none","alg":"HS256","kid":"hs-1"})", claims.dump()), "repeats a member");
  add("no_alg", HsToken(Without(HsHeader(), "alg"), claims), "no alg");
  // Shape and encoding.
  add("header_not_json", HsToken("not json", claims.dump()), "header is not a JSON object");
  add("header_a_json_string", HsToken("\"HS256\"", claims.dump()), "header is not a JSON object");
  add("two_parts", SigningInput(HsHeader().dump(), claims.dump()), "has 2");
  add("four_parts", HsToken(HsHeader(), claims) + ".e30", "has 4");
  add("one_part", "eyJhbGciOiJIUzI1NiJ9", "has 1");
  add("empty_token", "", "empty");
  add("padded_base64", [&] {
    auto parts = Split(HsToken(HsHeader(), claims));
    return parts[0] + "=." + parts[1] + "." + parts[2];
  }(), "not base64url");
  add("standard_base64_alphabet_in_signature", [&] {
    auto parts = Split(HsToken(HsHeader(), claims));
    std::string sig = parts[2];
    for (char& c : sig) c = c == '-' ? '+' : c == '_' ? '/' : c;
    return parts[0] + "." + parts[1] + "." + sig + "+";
  }(), "signature is not base64url");
  add("whitespace_in_payload", [&] {
    auto parts = Split(HsToken(HsHeader(), claims));
    return parts[0] + "." + parts[1].substr(0, 4) + " " + parts[1].substr(4) + "." + parts[2];
  }(), "payload is not base64url");
  add("oversized_token", HsToken(HsHeader(), With(claims, "filler", std::string(20000, 'x'))), "exceeds the limit");
  return cases;
}

TEST(Jwt, TheNegativeSuiteAcceptsNothing) {
  const auto cases = NegativeCases();
  EXPECT_GE(cases.size(), 50u);
  int accepted = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto verified = VerifyJwt(c.token, TestKeys().verifier, Options());
    if (verified.ok()) {
      ++accepted;
      ADD_FAILURE() << c.name << ": accepted";
      continue;
    }
    EXPECT_EQ(verified.status().code(), StatusCode::kInvalidArgument) << c.name << ": " << verified.status().ToString();
    EXPECT_THAT(verified.status().message(), HasSubstr(c.reason)) << c.name;
  }
  EXPECT_EQ(accepted, 0);
}

// The suite's tokens are refused for what they are about: each starts from a valid token.
TEST(Jwt, TheNegativeSuiteStartsFromValidTokens) {
  const Keys& keys = TestKeys();
  EXPECT_TRUE(VerifyJwt(HsToken(HsHeader(), GoodClaims()), keys.verifier, Options()).ok());
  EXPECT_TRUE(VerifyJwt(Sign(GoodClaims(), keys.rsa_signer), keys.verifier, Options()).ok());
  EXPECT_TRUE(VerifyJwt(Sign(GoodClaims(), keys.ec_signer), keys.verifier, Options()).ok());
  // A token just under the size limit passes; the oversized case is refused for its size only.
  const std::string big = HsToken(HsHeader(), With(GoodClaims(), "filler", std::string(12000, 'x')));
  ASSERT_LT(big.size(), 16384u);
  EXPECT_TRUE(VerifyJwt(big, keys.verifier, Options()).ok());
}

TEST(Jwt, ASingleKeySetIsNoFallbackForAMissingKid) {
  KeySet one;
  ASSERT_TRUE(one.AddHmac("only", kHmacSecret).ok());
  const std::string with_kid = Sign(GoodClaims(), *JwtKeyFromSecret("only", kHmacSecret));
  EXPECT_TRUE(VerifyJwt(with_kid, one, Options()).ok());
  auto without = VerifyJwt(HsToken(Without(HsHeader(), "kid"), GoodClaims()), one, Options());
  EXPECT_THAT(without.status().message(), HasSubstr("no kid"));
}

TEST(Jwt, RandomMutationsOfValidTokensAreRefused) {
  const Keys& keys = TestKeys();
  const std::vector<std::string> originals = {Sign(GoodClaims(), keys.hs_signer), Sign(GoodClaims(), keys.rsa_signer),
                                              Sign(GoodClaims(), keys.ec_signer)};
  std::mt19937 rng(20240601);
  int unmodified = 0, accepted_unmodified = 0, accepted_modified = 0, mutants = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string& original = originals[i % originals.size()];
    std::string token = original;
    std::uniform_int_distribution<size_t> pos(0, token.size() - 1);
    switch (rng() % 4) {
      case 0: token[pos(rng)] ^= static_cast<char>(1u << (rng() % 8)); break;  // a bit flip
      case 1: token[pos(rng)] = static_cast<char>(rng() % 256); break;          // a byte
      case 2: token.resize(pos(rng)); break;                                    // truncated
      case 3: token.erase(pos(rng), 1 + rng() % 3); break;                      // bytes cut out
    }
    const bool ok = VerifyJwt(token, keys.verifier, Options()).ok();
    if (token == original) {
      ++unmodified;
      accepted_unmodified += ok;
    } else {
      ++mutants;
      if (ok) ADD_FAILURE() << "a mutant passed: " << token;
      accepted_modified += ok;
    }
  }
  EXPECT_GT(mutants, 1900);
  EXPECT_EQ(accepted_modified, 0);
  EXPECT_EQ(accepted_unmodified, unmodified) << "a byte replaced by itself leaves a valid token";
  for (const auto& original : originals) EXPECT_TRUE(VerifyJwt(original, keys.verifier, Options()).ok());
}

// ---- keys and JWKS ------------------------------------------------------------------------

TEST(Jwt, KeysFitTheirAlgorithm) {
  const Keys& keys = TestKeys();
  const std::string rsa_pem = Pem(keys.rsa.get(), false);
  const std::string ec_pem = Pem(keys.ec.get(), false);
  EXPECT_TRUE(JwtKeyFromPublicPem("k", JwtAlg::kRS256, rsa_pem).ok());
  EXPECT_TRUE(JwtKeyFromPublicPem("k", JwtAlg::kES256, ec_pem).ok());
  EXPECT_FALSE(JwtKeyFromPublicPem("k", JwtAlg::kES256, rsa_pem).ok());
  EXPECT_FALSE(JwtKeyFromPublicPem("k", JwtAlg::kRS256, ec_pem).ok());
  EXPECT_FALSE(JwtKeyFromPublicPem("k", JwtAlg::kHS256, rsa_pem).ok()) << "a PEM is never an HMAC secret";
  EXPECT_FALSE(JwtKeyFromPublicPem("../k", JwtAlg::kRS256, rsa_pem).ok());
  EXPECT_FALSE(JwtKeyFromPublicPem("k", JwtAlg::kRS256, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  EXPECT_FALSE(JwtKeyFromPrivatePem("k", JwtAlg::kRS256, rsa_pem).ok()) << "a public PEM has no private key";
  Pkey small = NewRsa(1024);
  auto weak = JwtKeyFromPublicPem("k", JwtAlg::kRS256, Pem(small.get(), false));
  EXPECT_THAT(weak.status().message(), HasSubstr("1024"));
  Pkey p384(EVP_EC_gen("P-384"), EVP_PKEY_free);
  EXPECT_THAT(JwtKeyFromPublicPem("k", JwtAlg::kES256, Pem(p384.get(), false)).status().message(), HasSubstr("P-256"));
  EXPECT_FALSE(JwtKeyFromSecret("k", "short").ok());
  KeySet set;
  EXPECT_TRUE(set.AddHmac("a", kHmacSecret).ok());
  EXPECT_EQ(set.AddHmac("a", kHmacSecret).code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(set.AddHmac("a b", kHmacSecret).ok());
  // Signing needs the private half.
  EXPECT_EQ(SignJwt(GoodClaims(), PublicKey("k", JwtAlg::kRS256, keys.rsa.get())).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(SignJwt(Json::array(), keys.hs_signer).ok());
  EXPECT_FALSE(PublicJwk(keys.hs_signer).ok()) << "a secret is never published";
}

std::string Jwks(const std::vector<Json>& keys) { return Json{{"keys", keys}}.dump(); }

TEST(Jwt, PublishedJwksVerifiesTheSignersTokens) {
  const Keys& keys = TestKeys();
  auto rsa_jwk = Json::parse(*PublicJwk(keys.rsa_signer));
  auto ec_jwk = Json::parse(*PublicJwk(keys.ec_signer));
  EXPECT_EQ(rsa_jwk["kty"], "RSA");
  EXPECT_EQ(rsa_jwk["alg"], "RS256");
  EXPECT_EQ(rsa_jwk["e"], "AQAB");
  EXPECT_FALSE(rsa_jwk.contains("d")) << "no private parts";
  EXPECT_EQ(ec_jwk["crv"], "P-256");
  EXPECT_EQ(Base64UrlDecode(ec_jwk["x"].get<std::string>())->size(), 32u);
  auto set = KeySet::FromJwks(Jwks({rsa_jwk, ec_jwk}));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->kids(), (std::vector<std::string>{"ec-1", "rsa-1"}));
  EXPECT_TRUE(set->skipped().empty());
  EXPECT_EQ(set->Find("rsa-1")->alg, JwtAlg::kRS256);
  EXPECT_EQ(set->Find("ec-1")->alg, JwtAlg::kES256);
  EXPECT_TRUE(VerifyJwt(Sign(GoodClaims(), keys.rsa_signer), *set, Options()).ok());
  EXPECT_TRUE(VerifyJwt(Sign(GoodClaims(), keys.ec_signer), *set, Options()).ok());
  EXPECT_FALSE(VerifyJwt(Sign(GoodClaims(), keys.hs_signer), *set, Options()).ok());
}

TEST(Jwt, JwksKeysThatDoNotFitAreSkipped) {
  const Keys& keys = TestKeys();
  const Json rsa = Json::parse(*PublicJwk(keys.rsa_signer));
  const Json ec = Json::parse(*PublicJwk(keys.ec_signer));
  Pkey small = NewRsa(1024);
  Json weak = Json::parse(*PublicJwk(PrivateKey("weak", JwtAlg::kRS256, keys.rsa.get())));
  {
    // n of a 1024-bit key under another kid.
    auto raw = JwtKeyFromPrivatePem("x", JwtAlg::kRS256, Pem(small.get(), true));
    EXPECT_FALSE(raw.ok()) << "too small to load";
    BIGNUM* n = nullptr;
    ASSERT_EQ(EVP_PKEY_get_bn_param(small.get(), "n", &n), 1);
    std::string bytes(BN_num_bytes(n), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(n);
    weak["n"] = Base64UrlEncode(bytes);
  }
  Json off_curve = With(With(ec, "kid", "off-curve"), "y", ec["x"]);
  const std::vector<Json> entries = {
      rsa,
      With(ec, "alg", "RS256"),                                  // EC claiming RS256
      With(With(rsa, "kid", "rsa-ps"), "alg", "PS256"),          // an algorithm we do not use
      With(With(rsa, "kid", "rsa-enc"), "use", "enc"),           // not for signatures
      With(With(rsa, "kid", "rsa-ops"), "key_ops", Json::array({"encrypt"})),
      Without(With(rsa, "kid", "x"), "kid"),                     // no kid
      With(rsa, "kid", "../../etc/passwd"),                      // bad kid
      With(With(rsa, "kid", "oct-1"), "kty", "oct"),             // symmetric: never from a JWKS
      With(With(ec, "kid", "p384"), "crv", "P-384"),
      weak,                                                      // 1024 bits
      With(With(rsa, "kid", "bad-e"), "e", "AQA="),              // padded base64url
      With(With(rsa, "kid", "even-e"), "e", Base64UrlEncode("\x01\x00")),
      off_curve,                                                 // not a point on P-256
      With(With(ec, "kid", "short-x"), "x", Base64UrlEncode(std::string(31, 'a'))),
      With(ec, "kid", "twice"), With(rsa, "kid", "twice"),      // an ambiguous kid
      "not an object",
  };
  auto set = KeySet::FromJwks(Jwks(entries));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->kids(), (std::vector<std::string>{"rsa-1"}));
  EXPECT_EQ(set->skipped().size(), entries.size() - 2) << Join(set->skipped(), "\n");  // "twice" is one line
  EXPECT_THAT(Join(set->skipped(), "\n"), HasSubstr("alg \"RS256\" does not fit kty EC"));
  // A token of the skipped EC key is refused; the RSA key still works.
  EXPECT_THAT(VerifyJwt(Sign(GoodClaims(), keys.ec_signer), *set, Options()).status().message(), HasSubstr("unknown kid"));
  EXPECT_TRUE(VerifyJwt(Sign(GoodClaims(), keys.rsa_signer), *set, Options()).ok());
}

TEST(Jwt, ADocumentThatIsNoJwksIsRefused) {
  for (std::string doc : {"", "[]", "{}", "{\"keys\": {}}", "{\"keys\": [], \"keys\": []}", "not json", "{\"keys\": [}"}) {
    SCOPED_TRACE(doc);
    EXPECT_EQ(KeySet::FromJwks(doc).status().code(), StatusCode::kInvalidArgument);
  }
  auto empty = KeySet::FromJwks(R"({"keys": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST(Jwt, PeekJwtKidReadsOnlyAValidKid) {
  EXPECT_EQ(PeekJwtKid(Sign(GoodClaims(), TestKeys().rsa_signer)), "rsa-1");
  EXPECT_EQ(PeekJwtKid(HsToken(With(HsHeader(), "kid", ".."), GoodClaims())), std::nullopt);
  EXPECT_EQ(PeekJwtKid(HsToken(Without(HsHeader(), "kid"), GoodClaims())), std::nullopt);
  EXPECT_EQ(PeekJwtKid("a.b"), std::nullopt);
  EXPECT_EQ(PeekJwtKid(""), std::nullopt);
}

}  // namespace
}  // namespace sluice::auth
