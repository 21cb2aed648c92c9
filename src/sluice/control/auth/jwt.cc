#include "sluice/control/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

#include "sluice/base/digest.h"

namespace sluice::auth {

namespace {

using Json = nlohmann::json;

constexpr size_t kMinHmacSecretBytes = 32;
constexpr int kMinRsaBits = 2048, kMaxRsaBits = 8192;
constexpr size_t kEs256CoordBytes = 32;
constexpr size_t kMaxJwksKeys = 100;
constexpr size_t kMaxSubjectBytes = 255;

// Owners for the OpenSSL objects used here.
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const { BN_free(p); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct ParamBldFree { void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
struct EcdsaSigFree { void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); } };
using Bio = std::unique_ptr<BIO, BioFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using Params = std::unique_ptr<OSSL_PARAM, ParamFree>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

std::shared_ptr<evp_pkey_st> OwnPkey(EVP_PKEY* pkey) {
  return std::shared_ptr<evp_pkey_st>(pkey, [](evp_pkey_st* p) { EVP_PKEY_free(p); });
}

// OpenSSL keeps failures on a per-thread queue; a refusal here must not leave them behind for
// unrelated code on this thread to trip over.
struct ClearOpenSslErrors {
  ~ClearOpenSslErrors() { ERR_clear_error(); }
};

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// A token's text in a log line: printable ASCII only, quoted, at most 64 characters.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 64) {
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out + "\"";
}

std::string TypeName(const Json& v) { return v.type_name(); }

// Parses a JSON object and refuses a member name repeated within one object (anywhere in the
// document): nlohmann would keep the last one silently, another parser the first.
std::optional<Json> ParseStrictObject(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  Json::parser_callback_t callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    Json value = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
    if (duplicate || !value.is_object()) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A NumericDate (RFC 7519 §2): an integer or a finite number, its fraction dropped.
std::optional<int64_t> NumericDate(const Json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if (!std::isfinite(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) return std::nullopt;
    return static_cast<int64_t>(std::floor(d));
  }
  return std::nullopt;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

// The three base64url parts of a compact JWS.
struct TokenParts {
  std::string_view header, payload, signature;
};

Result<TokenParts> SplitToken(std::string_view token, int64_t max_token_bytes) {
  if (token.empty()) return Status::InvalidArgument("jwt: empty token");
  if (static_cast<int64_t>(token.size()) > max_token_bytes) {
    return Status::InvalidArgument("jwt: token of {} bytes exceeds the limit of {}", token.size(), max_token_bytes);
  }
  const size_t parts = CountByte(token, '.') + 1;
  if (parts != 3) return Status::InvalidArgument("jwt: a token has 3 dot-separated parts, this one has {}", parts);
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  return TokenParts{token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
}

struct Header {
  std::string alg;
  std::string kid;
};

Result<Header> ParseHeader(std::string_view header_b64) {
  auto raw = Base64UrlDecode(header_b64);
  if (!raw) return Status::InvalidArgument("jwt: the header is not base64url");
  auto header = ParseStrictObject(*raw);
  if (!header) return Status::InvalidArgument("jwt: the header is not a JSON object (or repeats a member)");
  // A critical extension we do not implement must make the token fail (RFC 7515 §4.1.11); we
  // implement none.
  if (header->contains("crit")) return Status::InvalidArgument("jwt: the header has crit extensions, none are supported");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return Status::InvalidArgument("jwt: the header has no alg string");
  auto kid = header->find("kid");
  if (kid == header->end()) return Status::InvalidArgument("jwt: the header has no kid");
  if (!kid->is_string()) return Status::InvalidArgument("jwt: the header's kid is a {}, not a string", TypeName(*kid));
  const auto& kid_text = kid->get_ref<const std::string&>();
  if (!IsValidJwtKid(kid_text)) return Status::InvalidArgument("jwt: invalid kid {}", Quoted(kid_text));
  return Header{alg->get<std::string>(), kid_text};
}

// ---- signatures ---------------------------------------------------------------------------

bool DigestVerify(EVP_PKEY* pkey, bool rsa, std::string_view signature, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey) != 1) return false;
  if (rsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  return EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(data), data.size()) == 1;
}

// r||s (32 bytes each, big-endian) -> the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::string> JoseToDer(std::string_view raw) {
  if (raw.size() != 2 * kEs256CoordBytes) return std::nullopt;
  EcdsaSig sig(ECDSA_SIG_new());
  Bn r(BN_bin2bn(Bytes(raw), kEs256CoordBytes, nullptr));
  Bn s(BN_bin2bn(Bytes(raw) + kEs256CoordBytes, kEs256CoordBytes, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by sig now
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return std::nullopt;
  return der;
}

std::optional<std::string> DerToJose(std::string_view der) {
  const auto* p = Bytes(der);
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kEs256CoordBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kEs256CoordBytes) != static_cast<int>(kEs256CoordBytes) ||
      BN_bn2binpad(s, out + kEs256CoordBytes, kEs256CoordBytes) != static_cast<int>(kEs256CoordBytes)) {
    return std::nullopt;
  }
  return raw;
}

Status VerifySignature(const JwtKey& key, std::string_view signing_input, std::string_view signature) {
  ClearOpenSslErrors clear;
  switch (key.alg) {
    case JwtAlg::kHS256: {
      const std::string mac = HmacSha256(key.secret, signing_input);
      if (mac.empty()) return Status::Internal("jwt: HMAC-SHA256 failed");
      if (signature.size() != mac.size() || CRYPTO_memcmp(signature.data(), mac.data(), mac.size()) != 0) {
        return Status::InvalidArgument("jwt: bad HS256 signature (kid {})", key.kid);
      }
      return Status::OK();
    }
    case JwtAlg::kRS256: {
      if (!key.pkey || signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey.get()))) {
        return Status::InvalidArgument("jwt: an RS256 signature of {} bytes does not fit the key (kid {})", signature.size(), key.kid);
      }
      if (!DigestVerify(key.pkey.get(), /*rsa=*/true, signature, signing_input)) {
        return Status::InvalidArgument("jwt: bad RS256 signature (kid {})", key.kid);
      }
      return Status::OK();
    }
    case JwtAlg::kES256: {
      auto der = JoseToDer(signature);
      if (!der) {
        return Status::InvalidArgument("jwt: an ES256 signature is 64 bytes (r||s), this one has {} (kid {})", signature.size(), key.kid);
      }
      if (!key.pkey || !DigestVerify(key.pkey.get(), /*rsa=*/false, *der, signing_input)) {
        return Status::InvalidArgument("jwt: bad ES256 signature (kid {})", key.kid);
      }
      return Status::OK();
    }
  }
  return Status::Internal("jwt: unknown key algorithm");
}

Result<std::string> Sign(const JwtKey& key, std::string_view signing_input) {
  ClearOpenSslErrors clear;
  if (key.alg == JwtAlg::kHS256) {
    if (key.secret.size() < kMinHmacSecretBytes) return Status::FailedPrecondition("jwt: key {} has no usable HS256 secret", key.kid);
    std::string mac = HmacSha256(key.secret, signing_input);
    if (mac.empty()) return Status::Internal("jwt: HMAC-SHA256 failed");
    return mac;
  }
  if (!key.pkey || !key.has_private_key) return Status::FailedPrecondition("jwt: key {} has no private key to sign with", key.kid);
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.pkey.get()) != 1 ||
      (key.alg == JwtAlg::kRS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
      EVP_DigestSign(ctx.get(), nullptr, &len, Bytes(signing_input), signing_input.size()) != 1) {
    return Status::Internal("jwt: signing with key {} failed", key.kid);
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, Bytes(signing_input), signing_input.size()) != 1) {
    return Status::Internal("jwt: signing with key {} failed", key.kid);
  }
  sig.resize(len);
  if (key.alg == JwtAlg::kES256) {
    auto raw = DerToJose(sig);
    if (!raw) return Status::Internal("jwt: an ES256 signature did not convert to r||s");
    return *raw;
  }
  return sig;
}

// ---- keys ---------------------------------------------------------------------------------

// The key must be of the type `alg` is used with, and strong enough.
Status CheckKeyFitsAlg(EVP_PKEY* pkey, JwtAlg alg) {
  switch (alg) {
    case JwtAlg::kHS256:
      return Status::InvalidArgument("HS256 keys are shared secrets, not public or private keys");
    case JwtAlg::kRS256: {
      // EVP_PKEY_RSA only: an RSA-PSS key is another algorithm.
      if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) return Status::InvalidArgument("an RS256 key must be an RSA key");
      const int bits = EVP_PKEY_get_bits(pkey);
      if (bits < kMinRsaBits || bits > kMaxRsaBits) {
        return Status::InvalidArgument("an RSA key has {}..{} bits, this one {}", kMinRsaBits, kMaxRsaBits, bits);
      }
      return Status::OK();
    }
    case JwtAlg::kES256: {
      if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) return Status::InvalidArgument("an ES256 key must be an EC key");
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1 ||
          (std::string_view(group, len) != "prime256v1" && std::string_view(group, len) != "P-256")) {
        return Status::InvalidArgument("an ES256 key must be on the curve P-256");
      }
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown algorithm");
}

// Checks that the public point (EC) or the public numbers (RSA) are well-formed.
bool PublicKeyChecks(EVP_PKEY* pkey) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

Result<JwtKey> KeyFromPkey(std::string kid, JwtAlg alg, EVP_PKEY* raw, bool is_private) {
  auto pkey = OwnPkey(raw);
  if (!IsValidJwtKid(kid)) return Status::InvalidArgument("invalid kid {}", Quoted(kid));
  SLUICE_RETURN_IF_ERROR(CheckKeyFitsAlg(pkey.get(), alg).WithContext(fmt::format("key {}", kid)));
  JwtKey key;
  key.kid = std::move(kid);
  key.alg = alg;
  key.pkey = std::move(pkey);
  key.has_private_key = is_private;
  return key;
}

Result<JwtKey> KeyFromPem(std::string kid, JwtAlg alg, std::string_view pem, bool is_private) {
  ClearOpenSslErrors clear;
  if (alg == JwtAlg::kHS256) return Status::InvalidArgument("key {}: HS256 keys are shared secrets, not PEM", kid);
  if (pem.empty() || pem.size() > (1u << 20)) return Status::InvalidArgument("key {}: not a PEM key", kid);
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("key {}: out of memory", kid);
  // No pass phrase: an encrypted PEM fails instead of prompting on a terminal.
  pem_password_cb* no_pass = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* raw = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, no_pass, nullptr);
  if (raw == nullptr) {
    return Status::InvalidArgument("key {}: not a PEM {} key", kid, is_private ? "private" : "public");
  }
  return KeyFromPkey(std::move(kid), alg, raw, is_private);
}

std::optional<Bn> BnFromBase64Url(const Json& object, const char* member) {
  auto it = object.find(member);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  auto raw = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!raw || raw->empty() || raw->size() > static_cast<size_t>(kMaxRsaBits / 8)) return std::nullopt;
  Bn bn(BN_bin2bn(Bytes(*raw), static_cast<int>(raw->size()), nullptr));
  if (!bn) return std::nullopt;
  return bn;
}

Result<EVP_PKEY*> PkeyFromData(const char* type, OSSL_PARAM_BLD* bld) {
  Params params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || pkey == nullptr) {
    return Status::InvalidArgument("the key material is not a valid {} public key", type);
  }
  return pkey;
}

Result<JwtKey> RsaKeyFromJwk(std::string kid, const Json& jwk) {
  auto n = BnFromBase64Url(jwk, "n");
  auto e = BnFromBase64Url(jwk, "e");
  if (!n || !e) return Status::InvalidArgument("n and e must be base64url numbers");
  if (!BN_is_odd(n->get())) return Status::InvalidArgument("n is even");
  // e: odd, at least 3 and at most 32 bits (65537 in practice); a huge e only makes verifying slow.
  if (!BN_is_odd(e->get()) || BN_num_bits(e->get()) < 2 || BN_num_bits(e->get()) > 32) {
    return Status::InvalidArgument("e must be an odd number from 3 to 2^32");
  }
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n->get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e->get()) != 1) {
    return Status::Internal("out of memory");
  }
  SLUICE_ASSIGN_OR_RETURN(EVP_PKEY * pkey, PkeyFromData("RSA", bld.get()));
  return KeyFromPkey(std::move(kid), JwtAlg::kRS256, pkey, /*is_private=*/false);
}

Result<JwtKey> EcKeyFromJwk(std::string kid, const Json& jwk) {
  std::string point = "\x04";  // uncompressed: 04 || x || y
  for (const char* member : {"x", "y"}) {
    auto it = jwk.find(member);
    std::optional<std::string> raw;
    if (it != jwk.end() && it->is_string()) raw = Base64UrlDecode(it->get_ref<const std::string&>());
    if (!raw || raw->size() != kEs256CoordBytes) return Status::InvalidArgument("{} must be 32 bytes of base64url", member);
    point += *raw;
  }
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return Status::Internal("out of memory");
  }
  SLUICE_ASSIGN_OR_RETURN(EVP_PKEY * pkey, PkeyFromData("EC", bld.get()));
  if (!PublicKeyChecks(pkey)) {
    EVP_PKEY_free(pkey);
    return Status::InvalidArgument("the point is not a valid P-256 public key");
  }
  return KeyFromPkey(std::move(kid), JwtAlg::kES256, pkey, /*is_private=*/false);
}

// One JWKS entry as a key, or why it is not used.
Result<JwtKey> KeyFromJwk(const Json& jwk) {
  if (!jwk.is_object()) return Status::InvalidArgument("not a JSON object");
  auto kid = jwk.find("kid");
  if (kid == jwk.end() || !kid->is_string()) return Status::InvalidArgument("no kid");
  const auto& kid_text = kid->get_ref<const std::string&>();
  if (!IsValidJwtKid(kid_text)) return Status::InvalidArgument("invalid kid {}", Quoted(kid_text));
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return Status::InvalidArgument("no kty");
  const auto& kty_text = kty->get_ref<const std::string&>();
  JwtAlg alg;
  if (kty_text == "RSA") {
    alg = JwtAlg::kRS256;
  } else if (kty_text == "EC") {
    auto crv = jwk.find("crv");
    if (crv == jwk.end() || !crv->is_string() || *crv != "P-256") return Status::InvalidArgument("EC key not on P-256");
    alg = JwtAlg::kES256;
  } else {
    return Status::InvalidArgument("unsupported kty {}", Quoted(kty_text));
  }
  if (auto declared = jwk.find("alg"); declared != jwk.end()) {
    if (!declared->is_string() || *declared != JwtAlgName(alg)) {
      return Status::InvalidArgument("alg {} does not fit kty {}", declared->is_string() ? Quoted(declared->get<std::string>()) : TypeName(*declared), kty_text);
    }
  }
  if (auto use = jwk.find("use"); use != jwk.end() && (!use->is_string() || *use != "sig")) {
    return Status::InvalidArgument("use is not \"sig\"");
  }
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    bool verify = false;
    if (ops->is_array()) {
      for (const auto& op : *ops) verify = verify || (op.is_string() && op == "verify");
    }
    if (!verify) return Status::InvalidArgument("key_ops lacks \"verify\"");
  }
  return alg == JwtAlg::kRS256 ? RsaKeyFromJwk(kid_text, jwk) : EcKeyFromJwk(kid_text, jwk);
}

std::string BnToBase64Url(const BIGNUM* bn, int pad_to = 0) {
  std::string bytes(static_cast<size_t>(std::max(BN_num_bytes(bn), pad_to)), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) < 0) return "";
  return Base64UrlEncode(bytes);
}

}  // namespace

std::string_view JwtAlgName(JwtAlg alg) {
  switch (alg) {
    case JwtAlg::kHS256: return "HS256";
    case JwtAlg::kRS256: return "RS256";
    case JwtAlg::kES256: return "ES256";
  }
  return "?";
}

std::optional<JwtAlg> JwtAlgFromName(std::string_view name) {
  for (JwtAlg alg : {JwtAlg::kHS256, JwtAlg::kRS256, JwtAlg::kES256}) {
    if (JwtAlgName(alg) == name) return alg;
  }
  return std::nullopt;
}

bool IsValidJwtKid(std::string_view kid) {
  if (kid.empty() || kid.size() > 128 || kid.find("..") != std::string_view::npos) return false;
  for (char c : kid) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<JwtKey> JwtKeyFromSecret(std::string kid, std::string secret) {
  if (!IsValidJwtKid(kid)) return Status::InvalidArgument("invalid kid {}", Quoted(kid));
  if (secret.size() < kMinHmacSecretBytes) {
    return Status::InvalidArgument("key {}: an HS256 secret has at least {} bytes, this one {}", kid, kMinHmacSecretBytes, secret.size());
  }
  JwtKey key;
  key.kid = std::move(kid);
  key.alg = JwtAlg::kHS256;
  key.secret = std::move(secret);
  return key;
}

Result<JwtKey> JwtKeyFromPublicPem(std::string kid, JwtAlg alg, std::string_view pem) {
  return KeyFromPem(std::move(kid), alg, pem, /*is_private=*/false);
}

Result<JwtKey> JwtKeyFromPrivatePem(std::string kid, JwtAlg alg, std::string_view pem) {
  return KeyFromPem(std::move(kid), alg, pem, /*is_private=*/true);
}

Result<std::string> PublicJwk(const JwtKey& key) {
  ClearOpenSslErrors clear;
  if (key.alg == JwtAlg::kHS256 || !key.pkey) return Status::InvalidArgument("key {}: an HS256 secret has no public JWK", key.kid);
  Json jwk = {{"kid", key.kid}, {"use", "sig"}, {"alg", JwtAlgName(key.alg)}};
  BIGNUM* a = nullptr;
  BIGNUM* b = nullptr;
  const bool rsa = key.alg == JwtAlg::kRS256;
  const bool ok = EVP_PKEY_get_bn_param(key.pkey.get(), rsa ? OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_EC_PUB_X, &a) == 1 &&
                  EVP_PKEY_get_bn_param(key.pkey.get(), rsa ? OSSL_PKEY_PARAM_RSA_E : OSSL_PKEY_PARAM_EC_PUB_Y, &b) == 1;
  Bn first(a), second(b);
  if (!ok) return Status::Internal("key {}: cannot read its public numbers", key.kid);
  if (rsa) {
    jwk["kty"] = "RSA";
    jwk["n"] = BnToBase64Url(first.get());
    jwk["e"] = BnToBase64Url(second.get());
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = BnToBase64Url(first.get(), kEs256CoordBytes);
    jwk["y"] = BnToBase64Url(second.get(), kEs256CoordBytes);
  }
  return jwk.dump();
}

// ---- KeySet -------------------------------------------------------------------------------

Result<KeySet> KeySet::FromJwks(std::string_view jwks_json) {
  ClearOpenSslErrors clear;
  auto doc = ParseStrictObject(jwks_json);
  if (!doc) return Status::InvalidArgument("jwks: not a JSON object (or a member is repeated)");
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return Status::InvalidArgument("jwks: no \"keys\" array");
  KeySet set;
  std::vector<JwtKey> usable;
  std::map<std::string, int, std::less<>> kid_count;
  for (size_t i = 0; i < keys->size(); ++i) {
    if (i == kMaxJwksKeys) {
      set.skipped_.push_back(fmt::format("keys {}..{}: only the first {} keys are read", i, keys->size() - 1, kMaxJwksKeys));
      break;
    }
    auto key = KeyFromJwk((*keys)[i]);
    if (!key.ok()) {
      set.skipped_.push_back(fmt::format("key {}: {}", i, key.status().message()));
      continue;
    }
    ++kid_count[key->kid];
    usable.push_back(std::move(key).value());
  }
  for (auto& key : usable) {
    if (kid_count[key.kid] > 1) {
      set.skipped_.push_back(fmt::format("kid {}: names {} keys", key.kid, kid_count[key.kid]));
      kid_count[key.kid] = -1;  // report once
      continue;
    }
    if (kid_count[key.kid] < 0) continue;
    std::string kid = key.kid;
    set.keys_.emplace(std::move(kid), std::move(key));
  }
  return set;
}

Status KeySet::AddHmac(std::string kid, std::string secret) {
  SLUICE_ASSIGN_OR_RETURN(JwtKey key, JwtKeyFromSecret(std::move(kid), std::move(secret)));
  return Add(std::move(key));
}

Status KeySet::Add(JwtKey key) {
  if (!IsValidJwtKid(key.kid)) return Status::InvalidArgument("invalid kid {}", Quoted(key.kid));
  if (key.alg == JwtAlg::kHS256 ? key.secret.size() < kMinHmacSecretBytes : !key.pkey) {
    return Status::InvalidArgument("key {}: no key material for {}", key.kid, JwtAlgName(key.alg));
  }
  if (keys_.contains(key.kid)) return Status::AlreadyExists("key {}: the kid is taken", key.kid);
  std::string kid = key.kid;
  keys_.emplace(std::move(kid), std::move(key));
  return Status::OK();
}

const JwtKey* KeySet::Find(std::string_view kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<std::string> KeySet::kids() const {
  std::vector<std::string> out;
  for (const auto& [kid, key] : keys_) out.push_back(kid);
  return out;
}

// ---- tokens -------------------------------------------------------------------------------

std::optional<std::string> PeekJwtKid(std::string_view token, int64_t max_token_bytes) {
  auto parts = SplitToken(token, max_token_bytes);
  if (!parts.ok()) return std::nullopt;
  auto header = ParseHeader(parts->header);
  if (!header.ok()) return std::nullopt;
  return header->kid;
}

Result<JwtClaims> VerifyJwt(std::string_view token, const KeySet& keys, const JwtVerifyOptions& options) {
  if (options.issuer.empty() || options.audience.empty()) {
    return Status::InvalidArgument("jwt: the verifier has no issuer or audience configured");
  }
  SLUICE_ASSIGN_OR_RETURN(TokenParts parts, SplitToken(token, options.max_token_bytes));
  SLUICE_ASSIGN_OR_RETURN(Header header, ParseHeader(parts.header));
  const JwtKey* key = keys.Find(header.kid);
  if (key == nullptr) return Status::InvalidArgument("jwt: unknown kid {}", header.kid);
  if (header.alg != JwtAlgName(key->alg)) {
    return Status::InvalidArgument("jwt: alg {} but key {} is {}", Quoted(header.alg), key->kid, JwtAlgName(key->alg));
  }
  auto raw_payload = Base64UrlDecode(parts.payload);
  if (!raw_payload) return Status::InvalidArgument("jwt: the payload is not base64url");
  auto signature = Base64UrlDecode(parts.signature);
  if (!signature) return Status::InvalidArgument("jwt: the signature is not base64url");
  // The signed bytes are the token's own text up to the second dot.
  const std::string_view signing_input = token.substr(0, parts.header.size() + 1 + parts.payload.size());
  SLUICE_RETURN_IF_ERROR(VerifySignature(*key, signing_input, *signature));

  // Only a payload the key signed is parsed.
  auto payload = ParseStrictObject(*raw_payload);
  if (!payload) return Status::InvalidArgument("jwt: the payload is not a JSON object (or repeats a member)");

  JwtClaims claims;
  claims.kid = key->kid;
  const int64_t now = options.now_seconds;
  const int64_t leeway = std::max<int64_t>(options.leeway_seconds, 0);

  auto date = [&](const char* name, bool required, int64_t* out) -> Status {
    auto it = payload->find(name);
    if (it == payload->end()) {
      return required ? Status::InvalidArgument("jwt: no {} claim", name) : Status::OK();
    }
    auto value = NumericDate(*it);
    if (!value) return Status::InvalidArgument("jwt: the {} claim is not a NumericDate", name);
    *out = *value;
    return Status::OK();
  };
  SLUICE_RETURN_IF_ERROR(date("exp", true, &claims.expires_at));
  SLUICE_RETURN_IF_ERROR(date("nbf", false, &claims.not_before));
  SLUICE_RETURN_IF_ERROR(date("iat", false, &claims.issued_at));
  if (now > SaturatingAdd(claims.expires_at, leeway)) {
    return Status::InvalidArgument("jwt: expired at {} (now {}, leeway {} s)", claims.expires_at, now, leeway);
  }
  if (payload->contains("nbf") && SaturatingAdd(now, leeway) < claims.not_before) {
    return Status::InvalidArgument("jwt: not valid before {} (now {}, leeway {} s)", claims.not_before, now, leeway);
  }

  auto iss = payload->find("iss");
  if (iss == payload->end() || !iss->is_string()) return Status::InvalidArgument("jwt: no iss string");
  if (*iss != options.issuer) return Status::InvalidArgument("jwt: issuer {} is not {}", Quoted(iss->get<std::string>()), Quoted(options.issuer));
  claims.issuer = iss->get<std::string>();

  auto aud = payload->find("aud");
  if (aud == payload->end()) return Status::InvalidArgument("jwt: no aud claim");
  if (aud->is_string()) {
    claims.audience.push_back(aud->get<std::string>());
  } else if (aud->is_array()) {
    for (const auto& a : *aud) {
      if (!a.is_string()) return Status::InvalidArgument("jwt: aud holds a {}, not only strings", TypeName(a));
      claims.audience.push_back(a.get<std::string>());
    }
  } else {
    return Status::InvalidArgument("jwt: aud is a {}, not a string or an array", TypeName(*aud));
  }
  if (std::find(claims.audience.begin(), claims.audience.end(), options.audience) == claims.audience.end()) {
    return Status::InvalidArgument("jwt: the audience does not include {}", Quoted(options.audience));
  }

  auto sub = payload->find("sub");
  if (sub == payload->end() || !sub->is_string()) return Status::InvalidArgument("jwt: no sub string");
  const auto& subject = sub->get_ref<const std::string&>();
  if (subject.empty() || subject.size() > kMaxSubjectBytes) {
    return Status::InvalidArgument("jwt: sub has {} bytes, not 1..{}", subject.size(), kMaxSubjectBytes);
  }
  for (unsigned char c : subject) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("jwt: sub contains a control character");
  }
  claims.subject = subject;
  claims.payload = std::move(*payload);
  return claims;
}

Result<std::string> SignJwt(const nlohmann::json& claims, const JwtKey& key) {
  if (!claims.is_object()) return Status::InvalidArgument("jwt: claims must be a JSON object");
  if (!IsValidJwtKid(key.kid)) return Status::InvalidArgument("jwt: invalid kid {}", Quoted(key.kid));
  std::string payload;
  try {
    payload = claims.dump();
  } catch (const std::exception&) {
    return Status::InvalidArgument("jwt: the claims hold a string that is not UTF-8");
  }
  const Json header = {{"alg", JwtAlgName(key.alg)}, {"kid", key.kid}, {"typ", "JWT"}};
  std::string token = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload);
  SLUICE_ASSIGN_OR_RETURN(std::string signature, Sign(key, token));
  return token + "." + Base64UrlEncode(signature);
}

}  // namespace sluice::auth
