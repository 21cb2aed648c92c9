// OidcVerifier: accepts ID/access tokens issued by an external OpenID Connect provider. It trusts
// the keys the issuer publishes as a JWKS at jwks_url and checks each token with VerifyJwt
// (signature by kid, the key's own algorithm, exp/nbf with leeway, iss, aud, sub), then maps it
// to an identity: principal = subject_prefix + sub (so "oidc:alice" never collides with a local
// user "alice"), and the groups from groups_claim.
//
// The key set is fetched on first use and cached:
//   - after jwks_cache_seconds it is fetched again (on the next Verify);
//   - a token whose kid is not in the cached set (the issuer rotated its keys) triggers a fetch
//     at once, unless the last fetch attempt is younger than min_refetch_seconds: then the token
//     is refused. A flood of tokens with made-up kids therefore costs the issuer at most one
//     request per min_refetch_seconds (failed attempts count too, so a down issuer is not
//     hammered either);
//   - a failed fetch (network, HTTP status, not a JWKS) keeps the previous set, is logged
//     (oidc.jwks_fetch_failed) and is named in the Status of a token it made fail. A JWKS that
//     parses replaces the set even when the issuer dropped keys from it (that is revocation).
// Only one fetch runs at a time and no lock is held while it runs: a thread that needs the new
// set (an unknown kid, or no set yet) waits for it; one that can use the stale set does not.
//
// Failures: InvalidArgument for a token that is refused (the reason is for the server log; the
// HTTP layer answers every refusal with the same 401), Unavailable when no key set could be
// fetched yet, FailedPrecondition when the options lack issuer, audience or jwks_url.
//
// Thread-safety: Verify and fetch_count may be called from many threads at once. Verify may block
// for a fetch (at most the fetcher's timeout, 5 s with the default one).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/base/status.h"
#include "sluice/control/auth/jwt.h"

namespace sluice::auth {

struct OidcOptions {
  std::string issuer;    // expected iss
  std::string audience;  // expected aud
  std::string jwks_url;  // http(s) URL of the issuer's JWKS
  std::string groups_claim = "groups";   // array of strings (or a single string)
  std::string subject_prefix = "oidc:";  // principal name = prefix + sub (keeps them apart from local users)
  int64_t jwks_cache_seconds = 300;      // refetch after this
  int64_t min_refetch_seconds = 30;      // an unknown kid refetches at most this often
  int64_t leeway_seconds = 30;
  // How the JWKS is fetched; when empty, FetchJwksOverHttp.
  std::function<Result<std::string>(const std::string& url)> fetch;
};

struct OidcIdentity {
  std::string principal;  // subject_prefix + subject
  std::string subject;
  std::vector<std::string> groups;
  int64_t expires_at = 0;  // the token's exp, seconds since the Unix epoch
};

// The default fetcher: GET with libcurl, 5 s timeout, no redirects, TLS peer and host verified,
// 200 only, body at most 1 MiB. https only, except plain http to a loopback host (127.0.0.0/8,
// localhost, [::1]) — a JWKS over plain http elsewhere would let the network choose our keys.
// Unavailable on any failure, InvalidArgument for a URL it refuses.
Result<std::string> FetchJwksOverHttp(const std::string& url);

class OidcVerifier {
 public:
  // `clock` must outlive the verifier; its wall time checks exp/nbf, its monotonic time ages the
  // cached key set.
  OidcVerifier(OidcOptions options, const Clock& clock);
  OidcVerifier(const OidcVerifier&) = delete;
  OidcVerifier& operator=(const OidcVerifier&) = delete;

  Result<OidcIdentity> Verify(std::string_view token);

  // How many JWKS fetches were attempted (successful or not), for tests and metrics.
  int64_t fetch_count() const { return fetch_count_.load(); }

 private:
  // The set to verify a token with `kid` against, fetching first when the rules above say so;
  // *fetch_error is set to the failure of a fetch this call attempted or waited for.
  std::shared_ptr<const KeySet> KeysFor(const std::string& kid, Status* fetch_error);
  // One fetch and parse, without the lock.
  Result<std::shared_ptr<const KeySet>> FetchKeySet();

  const OidcOptions options_;
  const Clock& clock_;
  std::atomic<int64_t> fetch_count_{0};

  std::mutex mu_;
  std::condition_variable fetch_done_;
  std::shared_ptr<const KeySet> keys_;        // GUARDED_BY(mu_); null until a fetch succeeds
  int64_t loaded_at_micros_ = 0;              // GUARDED_BY(mu_); monotonic, of keys_
  std::optional<int64_t> attempted_at_micros_;  // GUARDED_BY(mu_); monotonic, of the last attempt
  bool fetching_ = false;                     // GUARDED_BY(mu_)
  Status last_fetch_error_;                   // GUARDED_BY(mu_); of the last attempt
};

}  // namespace sluice::auth
