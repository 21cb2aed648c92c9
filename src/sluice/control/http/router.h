// Router: the API's route table and its dispatch. Routes are declared in one table (method, path
// pattern with {parameters}, operation id, permission) so the table can be listed and compared
// with the OpenAPI document, and so the security layer can look up each route's permission.
//
// A request is decided in two steps, so that nothing is read (or held) for a request that is refused:
//   Admit, on the request's head (method, path, headers) before any body byte is read: the route
//     is matched, the guard authenticates and authorizes the caller and checks the rate limits,
//     the media type is checked and the route's own before_body hook runs. A refusal is the
//     final answer (the server sends it without reading the body); otherwise the Admission
//     names the route and its body limit.
//   Handle, once the body is read (within that limit): the route's handler.
// Dispatch does both for a request that is already complete. The refusals:
//   - no route matches the path              -> 404 route_not_found
//   - routes match the path, none the method -> 405 method_not_allowed, Allow: <their methods>
//   - a bad %-escape or non-UTF-8 path       -> 400 malformed_request
//   - the guard refuses                      -> its answer (401, 403, 404, 429)
//   - the route wants JSON, Content-Type not  -> 415 unsupported_media_type
//   - the route's before_body hook refuses   -> its answer
//   - the handler throws                     -> 500 internal (logged; the client sees no detail)
// When several patterns match, the one with a literal segment earliest wins
// (/pipelines/new beats /pipelines/{name}).
//
// Thread-safety: a Router is immutable after Create; Dispatch may run on many threads at once
// (handlers must be thread-safe themselves).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/control/http/http.h"

namespace sluice::http {

// The decoded values of a route's {parameters}.
class PathParams {
 public:
  PathParams() = default;
  explicit PathParams(std::vector<std::pair<std::string, std::string>> values)
      : values_(std::move(values)) {}
  // The value of a parameter of the route's pattern; "" for a name the pattern does not have.
  std::string_view Get(std::string_view name) const;
  std::optional<std::string_view> Find(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& values() const { return values_; }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// A handler answers one request; it may run on any server thread and must not block for long
// (it occupies one of the server's io threads while it runs). Failures are returned as a
// Problem (which converts to Response), never thrown.
using Handler = std::function<Response(const Request&, const PathParams&)>;
// A route's check of a request's head, after the guard and before the body is read (e.g. a
// per-stream rate limit or the media type of a bulk upload): a returned response refuses the
// request without reading its body. The request's body is still empty here.
using BeforeBody = std::function<std::optional<Response>(const Request&, const PathParams&)>;

// Where a route's permission must be held (the security layer's guard reads it):
//   kPublic        nobody needs to authenticate (health, readiness, the OpenAPI document, login)
//   kAuthenticated any authenticated caller (who am I, one's own tokens)
//   kNamespace     a role in the {namespace} of the path (the pattern must have one)
//   kAny           a role in some namespace; the handler checks the resource's own namespace
//                  (a spec in the body, a run's pipeline) or filters a list to what may be read
//   kCluster       a role bound to every namespace ("*"): environments, users, audit, workers
enum class Scope { kPublic, kAuthenticated, kNamespace, kAny, kCluster };
std::string_view ScopeName(Scope scope);

struct Route {
  std::string method;        // "GET", "POST", ... (exact, upper case)
  std::string pattern;       // "/api/v1/pipelines/{name}/versions/{version}"
  std::string operation_id;  // unique, as in the OpenAPI document: "getPipelineVersion"
  std::string permission;    // e.g. "pipelines.read"; enforced by the guard (SetGuard)
  Handler handler;
  // Largest request body this route accepts (413 beyond it); 0 uses the server's default. Bulk
  // routes (ingest) raise it.
  int64_t max_body_bytes = 0;
  // Requires Content-Type application/json (or a +json type): 415 otherwise.
  bool json_body = false;
  Scope scope = Scope::kAny;  // where `permission` must be held
  BeforeBody before_body = nullptr;  // optional
};

// A route without its handler, for listings.
struct RouteInfo {
  std::string method;
  std::string pattern;
  std::string operation_id;
  std::string permission;
  int64_t max_body_bytes = 0;
  bool json_body = false;
  Scope scope = Scope::kAny;
  bool operator==(const RouteInfo&) const = default;
};

// Runs before a matched route's handler: authenticates the request (filling request.caller) and
// checks the route's permission. A returned response is sent instead of calling the handler.
using Guard = std::function<std::optional<Response>(Request& request, const RouteInfo& route, const PathParams& params)>;
// Sees every dispatched request with its final response (route is nullptr when none matched):
// the audit log.
using Observer = std::function<void(const Request& request, const RouteInfo* route, const Response& response)>;

class Router {
  struct CompiledRoute;

 public:
  // What Admit decided from a request's head.
  class Admission {
   public:
    // The final answer (finalized and seen by the observer) when the request is refused on its
    // head: send it without reading the body. nullopt when the request goes on to Handle.
    std::optional<Response>& refusal() { return refusal_; }
    // The largest body the request may have: its route's max_body_bytes, else default_limit.
    int64_t BodyLimit(int64_t default_limit) const;
    // The matched route (its pattern names the request in the server's log without the values
    // of its parameters); nullptr when none matched.
    const RouteInfo* route() const;

   private:
    friend class Router;
    const CompiledRoute* route_ = nullptr;
    PathParams params_;
    std::optional<Response> refusal_;
  };

  // Validates the table: methods are upper-case tokens; patterns start with '/' and have
  // non-empty segments, parameters {snake_case} unique within a pattern; operation ids are
  // non-empty and unique; every route has a handler. InvalidArgument otherwise; AlreadyExists
  // when two routes have the same method and the same pattern up to parameter names.
  static Result<Router> Create(std::vector<Route> routes);

  Router() = default;

  // The table in declaration order.
  std::vector<RouteInfo> List() const;

  // Set before serving (not thread-safe against Dispatch).
  void SetGuard(Guard guard) { guard_ = std::move(guard); }
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

  // The first step, on the head of the request (request_id must be set; the body is not
  // looked at): see above. The guard may fill request.caller. Never throws.
  Admission Admit(Request& request) const;
  // The second step, once the body is in request.body: the admitted route's handler. The
  // response is finalized (problem bodies rendered, X-Request-Id set). `admission` must come
  // from Admit of this request and not be refused. Never throws.
  Response Handle(Request& request, const Admission& admission) const;
  // Both steps for a complete request; the response is finalized. Never throws.
  Response Dispatch(Request& request) const;

  // The body limit for a request before its body is read: the matching route's
  // max_body_bytes, or default_limit (also when no route matches).
  int64_t BodyLimit(std::string_view method, std::string_view path, int64_t default_limit) const;

 private:
  struct Segment {
    std::string text;  // a literal, or the parameter name
    bool is_param = false;
  };
  struct CompiledRoute {
    Route route;
    RouteInfo info;
    std::vector<Segment> segments;
  };
  // The best route of the path for the method; nullptr with *allow filled when the path
  // matches routes of other methods only, or with a problem for a malformed path.
  const CompiledRoute* Match(std::string_view method, std::string_view path, PathParams* params,
                             std::vector<std::string>* allow, std::optional<Problem>* problem) const;

  // The refusal of a request on its head, or nullopt to go on.
  std::optional<Response> Refusal(Request& request, const CompiledRoute* route, const PathParams& params,
                                  const std::vector<std::string>& allow, std::optional<Problem> problem) const;
  // Finalizes the response and shows it to the observer.
  void Finish(const Request& request, const CompiledRoute* route, Response& response) const;

  std::vector<CompiledRoute> routes_;
  Guard guard_;
  Observer observer_;
};

}  // namespace sluice::http
