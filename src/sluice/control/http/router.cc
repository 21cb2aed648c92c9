#include "sluice/control/http/router.h"

#include <algorithm>
#include <exception>
#include <set>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/control/http/internal/text.h"

namespace sluice::http {
namespace {

bool IsMethodToken(std::string_view m) {
  if (m.empty()) return false;
  return std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool IsParamName(std::string_view n) {
  if (n.empty() || !((n[0] >= 'a' && n[0] <= 'z') || n[0] == '_')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "/a/b" -> {"a", "b"}; "/" -> {}; "/a/" -> {"a", ""}.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (path == "/") return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Runs `step` (the guard, a route's hook or handler); an exception becomes a 500 `internal`
// (logged with the request id when the response is finalized).
template <typename Step>
Response Run(const std::string& operation_id, Step&& step) {
  try {
    return step();
  } catch (const std::exception& e) {
    Problem p = MakeProblem(codes::kInternal, "internal error");
    p.internal_message = fmt::format("handler {} threw: {}", operation_id, e.what());
    return p;
  } catch (...) {
    Problem p = MakeProblem(codes::kInternal, "internal error");
    p.internal_message = fmt::format("handler {} threw a non-std exception", operation_id);
    return p;
  }
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kPublic: return "public";
    case Scope::kAuthenticated: return "authenticated";
    case Scope::kNamespace: return "namespace";
    case Scope::kAny: return "any";
    case Scope::kCluster: return "cluster";
  }
  return "?";
}

std::string_view PathParams::Get(std::string_view name) const {
  return Find(name).value_or(std::string_view());
}

std::optional<std::string_view> PathParams::Find(std::string_view name) const {
  for (const auto& [k, v] : values_) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

Result<Router> Router::Create(std::vector<Route> routes) {
  Router router;
  std::set<std::string> operation_ids;
  std::set<std::pair<std::string, std::string>> shapes;  // (method, pattern with {} for params)
  for (auto& route : routes) {
    std::string where = fmt::format("route {} {}", route.method, route.pattern);
    SLUICE_USER_CHECK(IsMethodToken(route.method), "{}: the method must be an upper-case token",
                      where);
    SLUICE_USER_CHECK(!route.pattern.empty() && route.pattern[0] == '/',
                      "{}: the pattern must start with '/'", where);
    SLUICE_USER_CHECK(!route.operation_id.empty(), "{}: the operation id is empty", where);
    SLUICE_USER_CHECK(operation_ids.insert(route.operation_id).second,
                      "{}: operation id '{}' is used twice", where, route.operation_id);
    SLUICE_USER_CHECK(static_cast<bool>(route.handler), "{}: no handler", where);
    SLUICE_USER_CHECK(route.max_body_bytes >= 0, "{}: max_body_bytes is negative", where);
    CompiledRoute compiled;
    std::set<std::string> names;
    std::string shape;
    for (std::string_view seg : SplitPath(route.pattern)) {
      SLUICE_USER_CHECK(!seg.empty(), "{}: the pattern has an empty segment", where);
      Segment s;
      if (seg.front() == '{') {
        SLUICE_USER_CHECK(seg.size() > 2 && seg.back() == '}' && IsParamName(seg.substr(1, seg.size() - 2)),
                          "{}: a parameter segment is '{{name}}' with a snake_case name, not '{}'",
                          where, seg);
        s.text = std::string(seg.substr(1, seg.size() - 2));
        s.is_param = true;
        SLUICE_USER_CHECK(names.insert(s.text).second, "{}: parameter '{}' appears twice", where,
                          s.text);
        shape += "/{}";
      } else {
        SLUICE_USER_CHECK(seg.find_first_of("{}?#%") == std::string_view::npos,
                          "{}: segment '{}' has a reserved character", where, seg);
        s.text = std::string(seg);
        shape += "/" + s.text;
      }
      compiled.segments.push_back(std::move(s));
    }
    if (!shapes.insert({route.method, shape.empty() ? "/" : shape}).second) {
      return Status::AlreadyExists("{}: another route has the same method and pattern", where);
    }
    SLUICE_USER_CHECK(route.scope != Scope::kNamespace || names.count("namespace"),
                      "{}: a namespace-scoped route needs a {{namespace}} parameter", where);
    compiled.info = {route.method, route.pattern, route.operation_id, route.permission,
                     route.max_body_bytes, route.json_body, route.scope};
    compiled.route = std::move(route);
    router.routes_.push_back(std::move(compiled));
  }
  return router;
}

std::vector<RouteInfo> Router::List() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& c : routes_) out.push_back(c.info);
  return out;
}

const Router::CompiledRoute* Router::Match(std::string_view method, std::string_view path,
                                           PathParams* params, std::vector<std::string>* allow,
                                           std::optional<Problem>* problem) const {
  if (path.empty() || path[0] != '/') {
    *problem = MakeProblem(codes::kMalformedRequest, "the path must start with '/'");
    return nullptr;
  }
  std::vector<std::string> segments;
  for (std::string_view raw : SplitPath(path)) {
    auto decoded = internal::PercentDecode(raw, /*plus_is_space=*/false);
    if (!decoded) {
      *problem = MakeProblem(codes::kMalformedRequest, "the path has a malformed %-escape");
      return nullptr;
    }
    if (!IsValidUtf8(*decoded)) {
      *problem = MakeProblem(codes::kMalformedRequest, "the path is not valid UTF-8 once decoded");
      return nullptr;
    }
    segments.push_back(std::move(*decoded));
  }

  const CompiledRoute* best = nullptr;
  std::vector<bool> best_literals;
  std::set<std::string> methods;
  for (const auto& c : routes_) {
    if (c.segments.size() != segments.size()) continue;
    bool matches = true;
    std::vector<bool> literals(segments.size());
    for (size_t i = 0; i < segments.size() && matches; ++i) {
      const Segment& s = c.segments[i];
      literals[i] = !s.is_param;
      matches = s.is_param ? !segments[i].empty() : s.text == segments[i];
    }
    if (!matches) continue;
    methods.insert(c.route.method);
    if (c.route.method != method) continue;
    // vector<bool> compares lexicographically: a literal earlier in the path is more specific.
    if (best == nullptr || literals > best_literals) {
      best = &c;
      best_literals = std::move(literals);
    }
  }
  if (best == nullptr) {
    allow->assign(methods.begin(), methods.end());
    return nullptr;
  }
  std::vector<std::pair<std::string, std::string>> values;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (best->segments[i].is_param) values.emplace_back(best->segments[i].text, std::move(segments[i]));
  }
  *params = PathParams(std::move(values));
  return best;
}

int64_t Router::BodyLimit(std::string_view method, std::string_view path,
                          int64_t default_limit) const {
  PathParams params;
  std::vector<std::string> allow;
  std::optional<Problem> problem;
  const CompiledRoute* c = Match(method, path, &params, &allow, &problem);
  if (c == nullptr || c->route.max_body_bytes == 0) return default_limit;
  return c->route.max_body_bytes;
}

const RouteInfo* Router::Admission::route() const { return route_ ? &route_->info : nullptr; }

int64_t Router::Admission::BodyLimit(int64_t default_limit) const {
  if (route_ == nullptr || route_->route.max_body_bytes == 0) return default_limit;
  return route_->route.max_body_bytes;
}

Router::Admission Router::Admit(Request& request) const {
  Admission admission;
  std::vector<std::string> allow;
  std::optional<Problem> problem;
  admission.route_ = Match(request.method, request.path, &admission.params_, &allow, &problem);
  admission.refusal_ = Refusal(request, admission.route_, admission.params_, allow, std::move(problem));
  if (admission.refusal_) Finish(request, admission.route_, *admission.refusal_);
  return admission;
}

Response Router::Handle(Request& request, const Admission& admission) const {
  const CompiledRoute* c = admission.route_;
  Response response;
  if (admission.refusal_ || c == nullptr) {
    // A caller bug: there is nothing to run.
    Problem p = MakeProblem(codes::kInternal, "internal error");
    p.internal_message = "Router::Handle called without an admitted route";
    response = std::move(p);
  } else {
    response = Run(c->route.operation_id, [&] {
      Response r = c->route.handler(request, admission.params_);
      if (!r.problem && (r.status < 200 || r.status > 599)) {
        Problem p = MakeProblem(codes::kInternal, "internal error");
        p.internal_message = fmt::format("handler {} returned status {}", c->route.operation_id, r.status);
        return Response(std::move(p));
      }
      return r;
    });
  }
  Finish(request, c, response);
  return response;
}

Response Router::Dispatch(Request& request) const {
  Admission admission = Admit(request);
  if (admission.refusal_) return std::move(*admission.refusal_);
  return Handle(request, admission);
}

void Router::Finish(const Request& request, const CompiledRoute* c, Response& response) const {
  FinalizeResponse(response, request);
  if (observer_) {
    try {
      observer_(request, c ? &c->info : nullptr, response);
    } catch (const std::exception& e) {
      SLUICE_LOG(Error, "http.observer_failed", {"request_id", request.request_id}, {"error", e.what()});
    }
  }
}

std::optional<Response> Router::Refusal(Request& request, const CompiledRoute* c, const PathParams& params,
                                        const std::vector<std::string>& allow,
                                        std::optional<Problem> problem) const {
  if (problem) return Response(std::move(*problem));
  if (c == nullptr && allow.empty()) {
    return Response(MakeProblem(codes::kRouteNotFound, fmt::format("no route for path '{}'", request.path)));
  }
  if (c == nullptr) {
    std::string methods = Join(allow, ", ");
    Response response = MakeProblem(codes::kMethodNotAllowed,
                                    fmt::format("method {} is not allowed here; allowed: {}",
                                                request.method, methods))
                            .With("allowed_methods", allow);
    response.headers.Set("Allow", methods);
    return response;
  }
  std::optional<Response> refused;
  Response failed = Run(c->route.operation_id, [&] {
    if (guard_) refused = guard_(request, c->info, params);
    if (!refused && c->route.json_body && request.MediaType() != kApplicationJson &&
        !request.MediaType().ends_with("+json")) {
      refused = Response(MakeProblem(codes::kUnsupportedMediaType,
                                     fmt::format("the body must be application/json, not '{}'",
                                                 request.headers.Get("Content-Type").value_or(""))));
    }
    if (!refused && c->route.before_body) refused = c->route.before_body(request, params);
    return Response::Empty(204);
  });
  if (failed.problem) return failed;
  return refused;
}

}  // namespace sluice::http
