// JSON Web Tokens (RFC 7519) in their compact JWS form (RFC 7515): verification against a set of
// keys we trust, JWKS parsing (RFC 7517) and signing (HS256 for our own access tokens; RS256 and
// ES256 when a private key is at hand, as a test issuer needs).
//
// The rules that keep verification safe against the known JWT attacks:
//   - The algorithm belongs to the key, never to the token. Each JwtKey has exactly one JwtAlg
//     (an HMAC secret is HS256 only, an RSA key RS256 only, an EC P-256 key ES256 only), and the
//     token's header `alg` must name that algorithm exactly. So `alg: none`, HS256 "signed" with
//     an RSA public key as the HMAC secret, and RS256 against an HMAC key all fail.
//   - The key is chosen by the header's `kid` only; a token without one is refused even when the
//     set holds a single key. A kid is 1..128 of [A-Za-z0-9._-] and never contains "..", so it is
//     safe to log and to use as a name.
//   - Headers we do not understand (`crit`) are refused; `jku`, `jwk`, `x5u` and `x5c` are
//     ignored: keys never come from the token.
//   - Base64url is strict (no padding, one spelling per value) and JSON objects with a repeated
//     member name are refused, so two parsers cannot read one token two ways.
//   - ES256 signatures are the 64-byte JOSE form r||s; DER is refused. RSA keys have 2048..8192
//     bits; EC keys are on P-256 (checked when loaded).
// Every refusal is InvalidArgument with a reason meant for the server log; the HTTP layer answers
// all of them with the same 401. No input makes these functions crash or throw.
//
// Thread-safety: JwtKey and KeySet are values, immutable once built; share a const KeySet (e.g.
// via shared_ptr<const KeySet>) between threads freely. The functions are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/base/status.h"
#include "sluice/base/strings.h"

// OpenSSL's EVP_PKEY, kept out of this header.
struct evp_pkey_st;

namespace sluice::auth {

// Strict RFC 4648 §5 base64url without padding (the one in base; JWTs use exactly this form).
using ::sluice::Base64UrlDecode;
using ::sluice::Base64UrlEncode;

enum class JwtAlg { kHS256, kRS256, kES256 };

// "HS256", "RS256", "ES256".
std::string_view JwtAlgName(JwtAlg alg);
// The algorithm with exactly this name (case-sensitive); nullopt for any other.
std::optional<JwtAlg> JwtAlgFromName(std::string_view name);

// True for a usable key id: 1..128 characters of [A-Za-z0-9._-], without "..".
bool IsValidJwtKid(std::string_view kid);

// One key and the one algorithm it is used with. Build it with the functions below.
struct JwtKey {
  std::string kid;
  JwtAlg alg = JwtAlg::kHS256;
  // HS256: the shared secret (at least 32 bytes).
  std::string secret;
  // RS256/ES256: the key (an EVP_PKEY); public only, or private when has_private_key.
  std::shared_ptr<evp_pkey_st> pkey;
  bool has_private_key = false;
};

// An HS256 key. InvalidArgument for an invalid kid or a secret shorter than 32 bytes.
Result<JwtKey> JwtKeyFromSecret(std::string kid, std::string secret);
// An RS256 or ES256 key from a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or a private key PEM
// (PKCS#8 or traditional). InvalidArgument when the PEM does not parse, the key's type does not
// fit `alg` (RSA for RS256, EC P-256 for ES256; HS256 never comes from a PEM), an RSA key has
// fewer than 2048 or more than 8192 bits, or the kid is invalid.
Result<JwtKey> JwtKeyFromPublicPem(std::string kid, JwtAlg alg, std::string_view pem);
Result<JwtKey> JwtKeyFromPrivatePem(std::string kid, JwtAlg alg, std::string_view pem);

// The public half of an RS256/ES256 key as a JWK object (kty, kid, use "sig", alg, n/e or
// crv/x/y), serialized. InvalidArgument for an HS256 key (a secret is never published).
Result<std::string> PublicJwk(const JwtKey& key);

// The keys a verifier trusts, by kid.
class KeySet {
 public:
  KeySet() = default;

  // The usable signing keys of a JWKS document ({"keys": [...]}): kty RSA (n, e) -> RS256 and
  // kty EC with crv P-256 (x, y) -> ES256. A key is skipped (see skipped()) when its kid is
  // missing or invalid, its kty/crv is another, its own "alg" is not the one its type gets, its
  // "use" is not "sig", its "key_ops" lacks "verify", its material is malformed or too weak, or
  // its kid is shared with another key (ambiguous). At most 100 keys are read. InvalidArgument
  // when the document is not a JWKS at all (not a JSON object with a "keys" array).
  static Result<KeySet> FromJwks(std::string_view jwks_json);

  // Adds an HS256 key (see JwtKeyFromSecret). InvalidArgument for a bad kid or secret,
  // AlreadyExists when the kid is taken.
  Status AddHmac(std::string kid, std::string secret);
  // Adds any key built above. AlreadyExists when the kid is taken.
  Status Add(JwtKey key);

  // The key with this kid, or nullptr.
  const JwtKey* Find(std::string_view kid) const;
  size_t size() const { return keys_.size(); }
  std::vector<std::string> kids() const;
  // Why FromJwks left keys out, one line each ("key 2 (kid k9): alg RS256 does not fit kty EC").
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::map<std::string, JwtKey, std::less<>> keys_;
  std::vector<std::string> skipped_;
};

struct JwtVerifyOptions {
  std::string issuer;    // required: `iss` must equal it (an empty issuer refuses every token)
  std::string audience;  // required: `aud` must contain it (likewise)
  int64_t now_seconds = 0;  // the current time, seconds since the Unix epoch
  int64_t leeway_seconds = 30;  // clock skew allowed on exp and nbf
  int64_t max_token_bytes = 16384;
};

struct JwtClaims {
  std::string subject, issuer;
  std::vector<std::string> audience;
  int64_t expires_at = 0, not_before = 0, issued_at = 0;  // 0 when absent (exp never is)
  nlohmann::json payload;  // the whole claims object
  std::string kid;         // the key that verified it
};

// Verifies a compact JWS token (header.payload.signature) against `keys`, then its claims:
//   - exp required and numeric; refused when now > exp + leeway
//   - nbf optional, numeric; refused when now + leeway < nbf;  iat optional, numeric
//   - iss equal to options.issuer; aud (a string or an array of strings) contains options.audience
//   - sub a non-empty string of at most 255 bytes without control characters
// Numeric dates may have a fraction (dropped). InvalidArgument with the reason otherwise.
Result<JwtClaims> VerifyJwt(std::string_view token, const KeySet& keys,
                            const JwtVerifyOptions& options);

// The kid of a token's header when the token is shaped like a JWT and the kid is valid, without
// verifying anything (a verifier uses it to notice a key it has not seen yet).
std::optional<std::string> PeekJwtKid(std::string_view token, int64_t max_token_bytes = 16384);

// Signs `claims` (a JSON object) with `key`: header {"alg", "kid", "typ": "JWT"}. HS256 needs the
// secret, RS256/ES256 a private key (FailedPrecondition with a public-only key). InvalidArgument
// when claims is not an object.
Result<std::string> SignJwt(const nlohmann::json& claims, const JwtKey& key);

}  // namespace sluice::auth
