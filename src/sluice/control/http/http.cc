#include "sluice/control/http/http.h"

#include <algorithm>
#include <array>
#include <random>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/control/http/internal/text.h"

namespace sluice::http {

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return EqualsIgnoreCase(f.first, name); });
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

Status Request::SetTarget(std::string_view t) {
  // Origin form only (RFC 9112 §3.2.1): the API has no proxy or CONNECT semantics.
  if (t.empty() || t[0] != '/') {
    return Status::InvalidArgument("the request target must be a path starting with '/'");
  }
  size_t q = t.find('?');
  std::string_view raw_path = t.substr(0, q);
  if (raw_path.find('#') != std::string_view::npos) {
    return Status::InvalidArgument("the request target must not contain a fragment");
  }
  QueryParams params;
  if (q != std::string_view::npos) {
    std::string_view rest = t.substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      auto name = internal::PercentDecode(pair.substr(0, eq), /*plus_is_space=*/true);
      auto value = internal::PercentDecode(
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
      if (!name || !value) {
        return Status::InvalidArgument("the query string has a malformed %-escape");
      }
      if (!IsValidUtf8(*name) || !IsValidUtf8(*value)) {
        return Status::InvalidArgument("the query string is not valid UTF-8 once decoded");
      }
      params.emplace_back(std::move(*name), std::move(*value));
    }
  }
  target = std::string(t);
  path = std::string(raw_path);
  query = std::move(params);
  return Status::OK();
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string Request::MediaType() const {
  auto ct = headers.Get("Content-Type");
  if (!ct) return "";
  std::string_view v = *ct;
  v = v.substr(0, v.find(';'));
  return internal::ToLower(Trim(v, kBlanks));
}

const std::vector<ProblemCodeInfo>& ProblemCodes() {
  static const std::vector<ProblemCodeInfo> kCodes = {
      {codes::kRouteNotFound, 404, "No such route"},
      {codes::kMethodNotAllowed, 405, "Method not allowed"},
      {codes::kMalformedRequest, 400, "Malformed request"},
      {codes::kMalformedJson, 400, "Malformed JSON"},
      {codes::kInvalidBody, 400, "Invalid request body"},
      {codes::kInvalidField, 400, "Invalid field"},
      {codes::kUnknownField, 400, "Unknown field"},
      {codes::kInvalidArgument, 400, "Invalid argument"},
      {codes::kDataError, 400, "Invalid data"},
      {codes::kBodyTooLarge, 413, "Request body too large"},
      {codes::kHeadersTooLarge, 431, "Request header fields too large"},
      {codes::kUnsupportedMediaType, 415, "Unsupported media type"},
      {codes::kRequestTimeout, 408, "Request timeout"},
      {codes::kNotFound, 404, "Not found"},
      {codes::kAlreadyExists, 409, "Already exists"},
      {codes::kFailedPrecondition, 409, "Failed precondition"},
      {codes::kConflict, 409, "Conflict"},
      {codes::kUnavailable, 503, "Service unavailable"},
      {codes::kInternal, 500, "Internal error"},
      {codes::kInvalidSpec, 400, "Invalid pipeline spec"},
      {codes::kRateLimited, 429, "Too many requests"},
      {codes::kUnauthenticated, 401, "Authentication required"},
      {codes::kForbidden, 403, "Forbidden"},
      {codes::kInvalidGrant, 400, "Invalid grant"},
      {codes::kEnvironmentNotGranted, 403, "Environment not granted"},
      {codes::kNamespaceNotReadable, 403, "Namespace not readable"},
  };
  return kCodes;
}

Problem& Problem::With(std::string key, nlohmann::json value) & {
  if (!extra.is_object()) extra = nlohmann::json::object();
  extra[std::move(key)] = std::move(value);
  return *this;
}

Problem&& Problem::With(std::string key, nlohmann::json value) && {
  With(std::move(key), std::move(value));
  return std::move(*this);
}

nlohmann::json Problem::ToJson(std::string_view instance, std::string_view request_id) const {
  nlohmann::json j = nlohmann::json::object();
  // Extra members first, so they can never overwrite the standard ones.
  if (extra.is_object()) {
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  }
  // A `urn:` type identifies the problem without pretending to be a page (RFC 9457 §3.1.1).
  j["type"] = "urn:sluice:problem:" + code;
  j["title"] = title;
  j["status"] = status;
  j["detail"] = detail;
  j["code"] = code;
  if (!instance.empty()) j["instance"] = std::string(instance);
  if (!request_id.empty()) j["request_id"] = std::string(request_id);
  return j;
}

Problem MakeProblem(std::string_view code, std::string detail) {
  for (const auto& info : ProblemCodes()) {
    if (info.code == code) {
      Problem p;
      p.status = info.status;
      p.code = std::string(info.code);
      p.title = std::string(info.title);
      p.detail = std::move(detail);
      return p;
    }
  }
  Problem p = MakeProblem(codes::kInternal, "internal error");
  p.internal_message = fmt::format("unknown problem code '{}': {}", code, detail);
  return p;
}

Problem FieldProblem(std::string_view code, std::string_view field, std::string message) {
  std::string detail = fmt::format("{}: {}", field.empty() ? "(body)" : field, message);
  Problem p = MakeProblem(code, detail);
  p.With("errors", nlohmann::json::array(
                       {{{"field", std::string(field)}, {"code", std::string(code)}, {"message", message}}}));
  return p;
}

Problem ProblemFromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument: return MakeProblem(codes::kInvalidArgument, status.message());
    case StatusCode::kDataError: return MakeProblem(codes::kDataError, status.message());
    case StatusCode::kNotFound: return MakeProblem(codes::kNotFound, status.message());
    case StatusCode::kAlreadyExists: return MakeProblem(codes::kAlreadyExists, status.message());
    case StatusCode::kFailedPrecondition:
      return MakeProblem(codes::kFailedPrecondition, status.message());
    case StatusCode::kAborted: return MakeProblem(codes::kConflict, status.message());
    case StatusCode::kUnavailable: {
      // Which dependency is down is an internal detail; the client only needs "retry later".
      Problem p = MakeProblem(codes::kUnavailable, "a dependency is unavailable; retry later");
      p.internal_message = status.ToString();
      return p;
    }
    case StatusCode::kOk:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      break;
  }
  Problem p = MakeProblem(codes::kInternal, "internal error");
  p.internal_message = status.ok() ? "OK status mapped to a problem" : status.ToString();
  return p;
}

Response::Response(Problem p)
    : status(p.status), content_type(kProblemJson), problem(std::move(p)), denied(problem->denied) {}

namespace {
template <typename JsonValue>
Response JsonResponse(int status, const JsonValue& value) {
  Response r;
  r.status = status;
  r.content_type = kApplicationJson;
  // Invalid UTF-8 in a string is replaced rather than thrown: a handler's output is ours to fix,
  // but it must not turn a good request into a 500.
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}
}  // namespace

Response Response::Json(int status, const nlohmann::json& value) { return JsonResponse(status, value); }

Response Response::OrderedJson(int status, const nlohmann::ordered_json& value) { return JsonResponse(status, value); }

Response Response::Text(int status, std::string text) {
  Response r;
  r.status = status;
  r.content_type = kTextPlain;
  r.body = std::move(text);
  return r;
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  return r;
}

void FinalizeResponse(Response& response, const Request& request) {
  if (response.problem) {
    Problem& p = *response.problem;
    response.status = p.status;
    response.denied = response.denied || p.denied;
    response.content_type = kProblemJson;
    response.body = p.ToJson(request.path, request.request_id)
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!p.internal_message.empty()) {
      SLUICE_LOG(Error, "http.internal_error", {"request_id", request.request_id},
                 {"method", request.method}, {"path", request.path}, {"status", p.status},
                 {"cause", p.internal_message});
    }
    response.problem.reset();
  }
  response.headers.Set("X-Request-Id", request.request_id);
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

}  // namespace sluice::http
