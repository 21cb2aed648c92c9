// ApiClient: the C++ client of the control plane's HTTP API (docs/api.md), used by the CLI verbs
// (`sluice apply -f`, `get`, `ls`, `logs`, ...) to talk to `sluice serve` over HTTP/1.1 + JSON,
// in the clear (http://) or over TLS (https://).
//
// What it does for a caller:
//   - keeps one keep-alive connection and reconnects when the server has closed it;
//   - for https, verifies the server's certificate against the system's trust store plus an
//     optional CA file (ca_file), and that it names the URL's host (with SNI for host names); a
//     certificate that does not verify is an error that says how to trust a private CA;
//   - sends `Authorization: Bearer <token>` when a token is configured;
//   - retries, with exponential backoff, only what is safe to repeat: connection failures and
//     timeouts of idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS), connect failures of any
//     method (nothing was sent), and a 503 carrying a Retry-After of at most max_retry_after_ms
//     (idempotent methods only). A POST or PATCH is retried only when the caller passes an
//     `Idempotency-Key` header;
//   - turns problem+json errors (RFC 9457) into a Status whose code follows the HTTP status and
//     whose message carries the problem's detail, each `errors[]` entry and the request id.
//
// Two levels: Request() returns any HTTP response as is (a Status only when no response came,
// e.g. connection refused or timeout), so a caller can print the raw problem; the helpers
// (Get, Post, Put, Delete, PostRaw, ListAll) also turn a non-2xx response into a Status with
// StatusFromResponse.
//
// Beast/Asio and OpenSSL stay in api_client.cc: this header has neither.
//
// Thread-safety: an ApiClient may be used from several threads; requests are serialized over
// its one connection (a CLI issues one request at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/base/status.h"

namespace sluice::client {

// Header fields as (name, value) pairs; names compare case-insensitively.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ApiClientOptions {
  // http[s]://host[:port][/prefix]; a missing scheme means http.
  std::string server = "http://127.0.0.1:8080";
  // https: a PEM file of CA certificates trusted besides the system's store (a private CA).
  std::string ca_file;
  std::string token;        // bearer token; empty sends no Authorization header
  int timeout_ms = 30000;   // per attempt: connect, send and receive the whole response
  int retries = 2;          // extra attempts after the first (see the file comment)
  int backoff_ms = 200;     // first backoff; doubles per attempt (with jitter), capped at 5 s
  int max_retry_after_ms = 10000;  // a 503's Retry-After longer than this is not waited for
  int64_t max_response_bytes = 256ll << 20;
  std::string user_agent = "sluice-cli";
};

struct ApiResponse {
  int status = 0;
  std::string content_type;  // as sent, e.g. "application/problem+json"
  std::string body;
  nlohmann::json json;       // the parsed body when the content type is JSON (+json); else null
  std::string request_id;    // X-Request-Id (or the problem's request_id)
  HeaderList headers;

  bool ok() const { return status >= 200 && status < 300; }
  // The first header of this name (case-insensitive).
  std::optional<std::string> Header(std::string_view name) const;
};

// The parts of a server URL.
struct ServerUrl {
  bool tls = false;    // https
  std::string host;    // without brackets for IPv6
  uint16_t port = 80;  // 443 by default for https
  std::string prefix;  // "" or "/some/prefix" (no trailing slash), put in front of every path
  // "http[s]://host:port/prefix".
  std::string ToString() const;
};
// InvalidArgument for a scheme other than http and https, user info, a query or fragment, an
// empty host or a bad port.
Result<ServerUrl> ParseServerUrl(std::string_view url);

// OK for a 2xx response. Otherwise a Status whose code follows the HTTP status:
//   400, 405, 413, 415, 422, 431 and other 4xx -> InvalidArgument
//   401 -> FailedPrecondition ("... run `sluice login` or set SLUICE_TOKEN")
//   403 -> FailedPrecondition (naming the missing permission when the problem has one)
//   404 -> NotFound    409 -> AlreadyExists / Aborted / FailedPrecondition by the problem `code`
//   (already_exists / conflict / anything else)    408, 429 (with its Retry-After), 502, 503,
//   504 -> Unavailable    other 5xx -> Internal
// The message is the problem's detail (or title), then "; field: message" for each errors[]
// entry, then " (request id X)". A body that is not a problem gives "HTTP <status>: <start of
// the body>".
Status StatusFromResponse(const ApiResponse& response);

// Percent-encodes everything but RFC 3986 unreserved characters (for query values: cursors).
std::string UrlEncode(std::string_view s);

class ApiClient {
 public:
  // InvalidArgument for a bad server URL or options, or a ca_file that cannot be read or holds
  // no PEM certificate (only checked for https).
  static Result<ApiClient> Create(ApiClientOptions options);

  ApiClient(ApiClient&&) noexcept;
  ApiClient& operator=(ApiClient&&) noexcept;
  ~ApiClient();

  // One request; `path` starts with '/' and may carry a query ("/api/v1/runs?limit=10"); the
  // server URL's prefix goes in front. A body is sent with `content_type`. Returns the response
  // whatever its status; a Status only when none came (Unavailable: unreachable, timed out,
  // connection lost, TLS handshake failed; FailedPrecondition: the server's certificate does not
  // verify; IoError: a malformed or oversized response).
  Result<ApiResponse> Request(std::string_view method, std::string_view path,
                              std::optional<std::string> body = std::nullopt,
                              std::string_view content_type = "application/json",
                              const HeaderList& extra_headers = {});

  // The same, and a non-2xx response becomes StatusFromResponse's Status. A 2xx response that
  // says it is JSON but does not parse is an IoError.
  Result<ApiResponse> Get(std::string_view path, const HeaderList& extra_headers = {});
  Result<ApiResponse> Post(std::string_view path, const nlohmann::json& body,
                           const HeaderList& extra_headers = {});
  Result<ApiResponse> Put(std::string_view path, const nlohmann::json& body,
                          const HeaderList& extra_headers = {});
  Result<ApiResponse> Delete(std::string_view path, const HeaderList& extra_headers = {});
  // A raw body, e.g. NDJSON for POST /api/v1/ingest/{stream}.
  Result<ApiResponse> PostRaw(std::string_view path, std::string body,
                              std::string_view content_type, const HeaderList& extra_headers = {});

  // Every item of a paginated list ({items, next_cursor}): follows next_cursor (URL-encoded)
  // until it is null, `limit` items per page. Fails on a malformed page, a cursor repeated
  // (a server loop) or more than kMaxListPages pages.
  static constexpr int kMaxListPages = 10000;
  Result<std::vector<nlohmann::json>> ListAll(std::string_view path, int limit = 100);

  const ServerUrl& server() const;
  // TCP connections opened so far (keep-alive makes this 1 for a healthy session).
  int64_t connections_opened() const;

 private:
  class Impl;
  explicit ApiClient(std::unique_ptr<Impl> impl);
  Result<ApiResponse> Checked(Result<ApiResponse> response);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::client
