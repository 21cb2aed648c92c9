// Fuzzes bearer tokens and key sets: arbitrary text through PeekJwtKid and VerifyJwt against a
// key set with an HMAC key, and (after the first NUL) through KeySet::FromJwks. Must never crash;
// must never accept a token (the fuzzer cannot know the HMAC key, so an accepted token means the
// signature was not checked); every refusal is a user error with a message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sluice/control/auth/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::auth;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string token = input.substr(0, nul);
  static const KeySet keys = [] {
    KeySet k;
    if (!k.AddHmac("k1", std::string(32, 'k')).ok()) __builtin_trap();
    return k;
  }();
  (void)PeekJwtKid(token);
  JwtVerifyOptions options;
  options.issuer = "sluice";
  options.audience = "sluice-api";
  options.now_seconds = 1'800'000'000;
  auto claims = VerifyJwt(token, keys, options);
  if (claims.ok()) __builtin_trap();
  if (claims.status().message().empty() || !claims.status().IsUserError()) __builtin_trap();
  if (nul != std::string::npos) {
    auto jwks = KeySet::FromJwks(input.substr(nul + 1));
    if (jwks.ok()) {
      auto again = VerifyJwt(token, *jwks, options);
      if (again.ok()) __builtin_trap();  // a JWKS holds public keys only: nothing can sign with them here
    }
  }
  return 0;
}
