// The HTTP vocabulary of the control plane's REST API (/api/v1, docs/api.md): Request, Response,
// and errors as RFC 9457 problem details with a stable `code`. Handlers, the Router and the
// HttpServer all speak these types; none of them exposes Boost (Beast stays in the .cc files).
//
// Errors. A handler reports a failure by returning a Problem (it converts to a Response) or by
// mapping a Status with ProblemFromStatus. The Router finalizes every problem response: it adds
// `instance` (the request path) and `request_id`, and logs the hidden cause of 5xx problems
// (a 5xx never shows internals to the client; the log line carries the same request id).
// User errors (the Status user-error family, bad requests) always map to 4xx, never to 5xx.
//
// Thread-safety: plain values; a const object may be read from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/base/status.h"

namespace sluice::http {

// Header fields in arrival order. Lookup ignores the case of the name (RFC 9110 §5.1).
class Headers {
 public:
  // Appends a field; an existing field of the same name is kept (Get returns the first).
  void Add(std::string name, std::string value);
  // Replaces every field of this name with one.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// One decoded query parameter; repeated names keep every occurrence, in order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Who sent a request, once the security layer has authenticated it (empty subject: nobody yet).
// Subjects are typed names: "user:alice", "svc:ci", "oidc:<sub>"; groups are "group:<name>".
struct Caller {
  std::string subject;
  std::vector<std::string> groups;
  std::string via;  // how it was authenticated: password | refresh | api-token | oidc | insecure-dev
  bool authenticated() const { return !subject.empty(); }
};

struct Request {
  std::string method;  // as sent, e.g. "GET" (methods are case-sensitive)
  std::string target;  // the request-target as sent: "/api/v1/runs?limit=10"
  std::string path;    // the target's path, still percent-encoded: the Router decodes per segment
  QueryParams query;   // decoded ('+' is a space, %XX decoded, valid UTF-8)
  Headers headers;
  std::string body;
  std::string remote_address;  // the peer's IP address
  std::string request_id;      // echoed as X-Request-Id and in problem bodies and logs
  Caller caller;               // set by the Router's guard before the handler runs

  // Sets target, path and query from a request-target in origin form ("/p?q"). InvalidArgument
  // for another form, a bad %-escape or a query that is not UTF-8 once decoded.
  Status SetTarget(std::string_view target);
  // The first value of a query parameter.
  std::optional<std::string_view> Query(std::string_view name) const;
  // The media type of Content-Type, lower-cased and without parameters ("application/json").
  std::string MediaType() const;
};

// Stable problem codes (the `code` member), documented in docs/api.md. Never rename one.
namespace codes {
inline constexpr std::string_view kRouteNotFound = "route_not_found";
inline constexpr std::string_view kMethodNotAllowed = "method_not_allowed";
inline constexpr std::string_view kMalformedRequest = "malformed_request";
inline constexpr std::string_view kMalformedJson = "malformed_json";
inline constexpr std::string_view kInvalidBody = "invalid_body";
inline constexpr std::string_view kInvalidField = "invalid_field";
inline constexpr std::string_view kUnknownField = "unknown_field";
inline constexpr std::string_view kInvalidArgument = "invalid_argument";
inline constexpr std::string_view kDataError = "data_error";
inline constexpr std::string_view kBodyTooLarge = "body_too_large";
inline constexpr std::string_view kHeadersTooLarge = "headers_too_large";
inline constexpr std::string_view kUnsupportedMediaType = "unsupported_media_type";
inline constexpr std::string_view kRequestTimeout = "request_timeout";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kAlreadyExists = "already_exists";
inline constexpr std::string_view kFailedPrecondition = "failed_precondition";
inline constexpr std::string_view kConflict = "conflict";
inline constexpr std::string_view kUnavailable = "unavailable";
inline constexpr std::string_view kInternal = "internal";
inline constexpr std::string_view kInvalidSpec = "invalid_spec";
inline constexpr std::string_view kRateLimited = "rate_limited";
inline constexpr std::string_view kUnauthenticated = "unauthenticated";
inline constexpr std::string_view kForbidden = "forbidden";
inline constexpr std::string_view kInvalidGrant = "invalid_grant";
inline constexpr std::string_view kEnvironmentNotGranted = "environment_not_granted";
inline constexpr std::string_view kNamespaceNotReadable = "namespace_not_readable";
}  // namespace codes

struct ProblemCodeInfo {
  std::string_view code;
  int status;
  std::string_view title;  // the `title` member: the same for every problem with this code
};
// Every stable code with its HTTP status and title (docs/api.md lists the same table).
const std::vector<ProblemCodeInfo>& ProblemCodes();

// An RFC 9457 problem. Build with MakeProblem (title and status come from the code's table
// entry) and add members with With; the Router adds `instance` and `request_id`.
struct Problem {
  int status = 500;
  std::string code;
  std::string title;
  std::string detail;            // for the client: what went wrong and how to fix it
  nlohmann::json extra;          // more members, e.g. {"errors": [{field, code, message}]}
  std::string internal_message;  // never sent; logged with the request id (5xx causes)
  // An access-control refusal (401, 403, or a 404 that hides a namespace): the audit log records
  // every one.
  bool denied = false;

  Problem& With(std::string key, nlohmann::json value) &;
  Problem&& With(std::string key, nlohmann::json value) &&;
  // The problem body: {type, title, status, detail, code, [instance], [request_id], extra...}.
  nlohmann::json ToJson(std::string_view instance, std::string_view request_id) const;
};

// A problem with this code's status and title. An unknown code is our bug: 500 `internal`.
Problem MakeProblem(std::string_view code, std::string detail);
// A 400 `invalid_field` or `unknown_field` naming the field in detail and in `errors`.
Problem FieldProblem(std::string_view code, std::string_view field, std::string message);

// Maps a Status from lower layers (user errors are 4xx, never 5xx):
//   InvalidArgument -> 400 invalid_argument   DataError -> 400 data_error (malformed input is a
//   NotFound -> 404 not_found                   400 at our edge, not 422; docs/api.md)
//   AlreadyExists -> 409 already_exists       FailedPrecondition -> 409 failed_precondition
//   Aborted -> 409 conflict (retry may help)  Unavailable -> 503 unavailable
//   IoError, Internal (and OK, a caller bug) -> 500 internal, detail without the message.
Problem ProblemFromStatus(const Status& status);

// "application/problem+json", "application/json", "text/plain; charset=utf-8".
inline constexpr std::string_view kProblemJson = "application/problem+json";
inline constexpr std::string_view kApplicationJson = "application/json";
inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

struct Response {
  int status = 200;
  Headers headers;  // Content-Type comes from content_type; Content-Length is computed
  std::string content_type;
  std::string body;
  // Set for error responses; the Router renders it into body when the request is known.
  std::optional<Problem> problem;
  // Copied from the problem's `denied` (it outlives the problem, which FinalizeResponse renders).
  bool denied = false;
  // Who the request turned out to be, when only the handler learned it (a login): the audit
  // log's principal. Never sent.
  std::string audit_subject;

  Response() = default;
  Response(Problem p);  // NOLINT: implicit so a handler can `return MakeProblem(...)`
  static Response Json(int status, const nlohmann::json& value);
  // Its members in the order they were added (e.g. a run summary's components in plan order).
  static Response OrderedJson(int status, const nlohmann::ordered_json& value);
  static Response Text(int status, std::string text);
  static Response Empty(int status);  // e.g. 204
};

// Renders a problem response for `request` (instance, request_id), sets X-Request-Id, and logs
// the hidden cause of a 5xx problem. The Router calls it; so does the server for the errors it
// answers itself (431, 413, 408, ...). Idempotent.
void FinalizeResponse(Response& response, const Request& request);

// A request id for a request that did not bring a usable one: 32 random hex digits.
std::string NewRequestId();

// ProblemOr<T>: a T or the Problem that explains why there is none; what the request helpers
// (JSON body, fields, pagination) return.
template <typename T>
class [[nodiscard]] ProblemOr {
 public:
  ProblemOr(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  ProblemOr(Problem problem) : problem_(std::move(problem)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const Problem& problem() const { return *problem_; }
  T& value() & { return checked(), *value_; }
  const T& value() const& { return checked(), *value_; }
  T&& value() && { return checked(), std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void checked() const { SLUICE_CHECK(ok()) << "ProblemOr::value() on a problem: " << problem_->code; }
  std::optional<T> value_;
  std::optional<Problem> problem_;
};

// The Problem behind a failed ProblemOr, Result or Status (for the macros below).
template <typename T>
Problem AsProblem(const ProblemOr<T>& r) { return r.problem(); }
template <typename T>
Problem AsProblem(const Result<T>& r) { return ProblemFromStatus(r.status()); }
inline Problem AsProblem(const Status& s) { return ProblemFromStatus(s); }

}  // namespace sluice::http

// In a handler: `SLUICE_HTTP_ASSIGN_OR_RETURN(auto body, ParseJsonObject(request));` declares
// body from a ProblemOr<T> or Result<T>, or returns the problem (a Status is mapped).
#define SLUICE_HTTP_ASSIGN_OR_RETURN(lhs, rexpr) \
  SLUICE_HTTP_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_sluice_http_r_, __LINE__), lhs, rexpr)
#define SLUICE_HTTP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr)       \
  auto tmp = (rexpr);                                            \
  if (!tmp.ok()) return ::sluice::http::AsProblem(tmp);          \
  lhs = std::move(tmp).value()
// Returns the mapped problem if a Status is not OK.
#define SLUICE_HTTP_RETURN_IF_ERROR(expr)                                  \
  do {                                                                     \
    ::sluice::Status _sluice_http_st = (expr);                             \
    if (!_sluice_http_st.ok()) return ::sluice::http::AsProblem(_sluice_http_st); \
  } while (0)
