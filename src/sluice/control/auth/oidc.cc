#include "sluice/control/auth/oidc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <climits>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"

namespace sluice::auth {

namespace {

constexpr size_t kMaxJwksBytes = 1 << 20;
constexpr long kFetchTimeoutMillis = 5000;

Status Unavailable(std::string message) { return Status(StatusCode::kUnavailable, std::move(message)); }

int64_t SecondsToMicros(int64_t seconds) {
  if (seconds <= 0) return 0;
  return seconds > INT64_MAX / 1'000'000 ? INT64_MAX : seconds * 1'000'000;
}

struct CurlFree { void operator()(CURL* p) const { curl_easy_cleanup(p); } };
struct CurlUrlFree { void operator()(CURLU* p) const { curl_url_cleanup(p); } };
struct CurlSlistFree { void operator()(curl_slist* p) const { curl_slist_free_all(p); } };

// A host part that names this machine: then plain http cannot be intercepted on the network.
// An address literal, not a name that merely starts with "127." (127.evil.example).
bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "[::1]") return true;
  in_addr addr{};
  return ::inet_pton(AF_INET, host.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

struct Body {
  std::string text;
  bool too_large = false;
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t n = size * count;
  if (body->text.size() + n > kMaxJwksBytes) {
    body->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  body->text.append(data, n);
  return n;
}

}  // namespace

Result<std::string> FetchJwksOverHttp(const std::string& url) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  std::unique_ptr<CURLU, CurlUrlFree> parsed(curl_url());
  char* scheme_raw = nullptr;
  char* host_raw = nullptr;
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme_raw, 0) != CURLUE_OK ||
      curl_url_get(parsed.get(), CURLUPART_HOST, &host_raw, 0) != CURLUE_OK) {
    curl_free(scheme_raw);
    curl_free(host_raw);
    return Status::InvalidArgument("jwks url {}: not a URL", RedactUrlPassword(url));
  }
  const std::string scheme = scheme_raw, host = host_raw;
  curl_free(scheme_raw);
  curl_free(host_raw);
  const bool loopback = IsLoopbackHost(host);
  if (scheme != "https" && !(scheme == "http" && loopback)) {
    return Status::InvalidArgument("jwks url {}: must be https (plain http only to a loopback host)", RedactUrlPassword(url));
  }

  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return Status::Internal("jwks: curl_easy_init failed");
  std::unique_ptr<curl_slist, CurlSlistFree> headers(curl_slist_append(nullptr, "Accept: application/json"));
  Body body;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, scheme == "https" ? "https" : "http");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: we are multi-threaded
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, kFetchTimeoutMillis);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, kFetchTimeoutMillis);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxJwksBytes));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  // A proxy from the environment must not sit between us and a loopback issuer.
  if (loopback) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");

  const CURLcode rc = curl_easy_perform(c);
  if (body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return Unavailable(fmt::format("jwks {}: the body exceeds {} bytes", RedactUrlPassword(url), kMaxJwksBytes));
  }
  if (rc != CURLE_OK) return Unavailable(fmt::format("jwks {}: {}", RedactUrlPassword(url), curl_easy_strerror(rc)));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return Unavailable(fmt::format("jwks {}: HTTP {}", RedactUrlPassword(url), status));
  return std::move(body.text);
}

OidcVerifier::OidcVerifier(OidcOptions options, const Clock& clock)
    : options_([&] {
        if (!options.fetch) options.fetch = FetchJwksOverHttp;
        return std::move(options);
      }()),
      clock_(clock) {}

Result<std::shared_ptr<const KeySet>> OidcVerifier::FetchKeySet() {
  fetch_count_.fetch_add(1);
  const std::string url = RedactUrlPassword(options_.jwks_url);
  Result<std::string> body = Status::Internal("jwks: the fetcher did not run");
  try {
    body = options_.fetch(options_.jwks_url);
  } catch (const std::exception& e) {
    body = Status::Internal("jwks: the fetcher threw: {}", e.what());
  }
  Result<KeySet> keys = body.ok() ? KeySet::FromJwks(*body) : Result<KeySet>(body.status());
  if (!keys.ok()) {
    SLUICE_LOG(Warn, "oidc.jwks_fetch_failed", {"url", url}, {"error", keys.status().ToString()});
    return keys.status();
  }
  SLUICE_LOG(Info, "oidc.jwks_fetched", {"url", url}, {"keys", Join(keys->kids(), ",")}, {"skipped", keys->skipped().size()});
  if (!keys->skipped().empty()) {
    SLUICE_LOG(Warn, "oidc.jwks_keys_skipped", {"url", url}, {"reasons", Join(keys->skipped(), "; ")});
  }
  return std::make_shared<const KeySet>(std::move(keys).value());
}

std::shared_ptr<const KeySet> OidcVerifier::KeysFor(const std::string& kid, Status* fetch_error) {
  const int64_t cache_micros = SecondsToMicros(options_.jwks_cache_seconds);
  const int64_t min_refetch_micros = SecondsToMicros(options_.min_refetch_seconds);
  std::unique_lock lock(mu_);
  bool waited = false;
  for (;;) {
    const int64_t now = clock_.MonotonicMicros();
    const bool knows_kid = keys_ && keys_->Find(kid) != nullptr;
    const bool fresh = keys_ && now - loaded_at_micros_ < cache_micros;
    if (knows_kid && (fresh || fetching_ || waited)) return keys_;
    if (fetching_) {
      // The running fetch may bring the key (or the first set): wait for it rather than start
      // another.
      fetch_done_.wait(lock, [&] { return !fetching_; });
      waited = true;
      continue;
    }
    const bool may_fetch = !attempted_at_micros_ || now - *attempted_at_micros_ >= min_refetch_micros;
    if (waited || !may_fetch) {
      if (!knows_kid) *fetch_error = last_fetch_error_;
      return keys_;
    }
    fetching_ = true;
    attempted_at_micros_ = now;
    lock.unlock();
    auto fetched = FetchKeySet();
    lock.lock();
    fetching_ = false;
    if (fetched.ok()) {
      keys_ = std::move(fetched).value();
      loaded_at_micros_ = now;
      last_fetch_error_ = Status::OK();
    } else {
      last_fetch_error_ = fetched.status();
    }
    fetch_done_.notify_all();
    if (!last_fetch_error_.ok()) *fetch_error = last_fetch_error_;
    return keys_;
  }
}

Result<OidcIdentity> OidcVerifier::Verify(std::string_view token) {
  if (options_.issuer.empty() || options_.audience.empty() || options_.jwks_url.empty()) {
    return Status::FailedPrecondition("oidc: issuer, audience and jwks_url must be configured");
  }
  JwtVerifyOptions verify;
  verify.issuer = options_.issuer;
  verify.audience = options_.audience;
  verify.now_seconds = clock_.NowMicros() / 1'000'000;
  verify.leeway_seconds = options_.leeway_seconds;

  // A token without a usable kid fails whatever the keys; it must not cause a fetch.
  const std::optional<std::string> kid = PeekJwtKid(token, verify.max_token_bytes);
  if (!kid) {
    auto refused = VerifyJwt(token, KeySet(), verify);
    return refused.ok() ? Status::Internal("oidc: a token without a kid passed") : refused.status();
  }
  Status fetch_error;
  std::shared_ptr<const KeySet> keys = KeysFor(*kid, &fetch_error);
  if (!keys) {
    return Unavailable(fmt::format("oidc: no key set from the issuer yet: {}", fetch_error.ok() ? "a fetch is not due" : fetch_error.message()));
  }
  auto claims = VerifyJwt(token, *keys, verify);
  if (!claims.ok()) {
    if (fetch_error.ok()) return claims.status();
    return Status(claims.status().code(), fmt::format("{} (the last JWKS fetch failed: {})", claims.status().message(), fetch_error.message()));
  }

  OidcIdentity identity;
  identity.subject = claims->subject;
  identity.principal = options_.subject_prefix + claims->subject;
  identity.expires_at = claims->expires_at;
  if (auto groups = claims->payload.find(options_.groups_claim); groups != claims->payload.end()) {
    if (groups->is_string()) {
      identity.groups.push_back(groups->get<std::string>());
    } else if (groups->is_array()) {
      for (const auto& group : *groups) {
        if (!group.is_string()) {
          return Status::InvalidArgument("oidc: the {} claim holds a {}, not only strings", options_.groups_claim, group.type_name());
        }
        identity.groups.push_back(group.get<std::string>());
      }
    } else {
      return Status::InvalidArgument("oidc: the {} claim is a {}, not a string or an array", options_.groups_claim, groups->type_name());
    }
  }
  return identity;
}

}  // namespace sluice::auth
