// libFuzzer target: arbitrary bytes as one HTTP request through the server's own parsing and
// routing path (ServeRawRequest: Beast's parser, the limits, the Router, the JSON and pagination
// helpers). Besides not crashing: every response has a valid status and an X-Request-Id, and
// every error (non-2xx) is a problem+json document with the standard members.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

using namespace sluice;
using namespace sluice::http;

namespace {

Router MakeRouter() {
  std::vector<Route> routes;
  routes.push_back({"GET", "/api/v1/pipelines", "listPipelines", "pipelines.read",
                    [](const Request& req, const PathParams&) -> Response {
                      SLUICE_HTTP_ASSIGN_OR_RETURN(PageRequest page, ParsePageRequest(req));
                      nlohmann::json items = nlohmann::json::array();
                      items.push_back({{"after", page.after.value_or("")}});
                      return PageResponse(std::move(items), page.after);
                    }});
  Route create{"POST", "/api/v1/pipelines", "createPipeline", "pipelines.write",
               [](const Request& req, const PathParams&) -> Response {
                 SLUICE_HTTP_ASSIGN_OR_RETURN(nlohmann::json body, ParseJsonObject(req.body));
                 JsonFieldReader fields(body);
                 std::string name = fields.RequiredString("name");
                 (void)fields.OptionalInt("retries");
                 (void)fields.OptionalBool("enabled");
                 if (const nlohmann::json* spec = fields.OptionalObject("spec")) {
                   JsonFieldReader inner(*spec, "spec.");
                   (void)inner.OptionalNumber("rate");
                   if (auto problem = inner.Finish()) return *problem;
                 }
                 if (auto problem = fields.Finish()) return *problem;
                 return Response::Json(201, {{"name", name}});
               }};
  create.json_body = true;
  routes.push_back(std::move(create));
  routes.push_back({"GET", "/api/v1/pipelines/{name}/versions/{version}", "getVersion", "pipelines.read",
                    [](const Request&, const PathParams& p) -> Response {
                      if (p.Get("version") == "0") return ProblemFromStatus(Status::NotFound("no version 0"));
                      return Response::Json(200, {{"name", p.Get("name")}, {"version", p.Get("version")}});
                    }});
  routes.push_back({"DELETE", "/api/v1/pipelines/{name}", "deletePipeline", "pipelines.write",
                    [](const Request&, const PathParams&) { return Response::Empty(204); }});
  Route ingest{"POST", "/api/v1/ingest/{stream}", "ingest", "ingest.write",
               [](const Request& req, const PathParams&) -> Response {
                 if (req.body.find("throw") != std::string::npos) throw std::runtime_error("boom");
                 return Response::Json(200, {{"bytes", req.body.size()}});
               }};
  ingest.max_body_bytes = 256;
  routes.push_back(std::move(ingest));
  auto router = Router::Create(std::move(routes));
  if (!router.ok()) abort();
  return std::move(router).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Router router = MakeRouter();
  static const HttpServerOptions options = [] {
    HttpServerOptions o;
    o.max_header_bytes = 2048;  // small limits, so the fuzzer reaches them
    o.max_body_bytes = 1024;
    return o;
  }();
  Response r = ServeRawRequest(std::string_view(reinterpret_cast<const char*>(data), size), router,
                               options);
  if (r.status < 200 || r.status > 599) abort();
  if (r.problem) abort();  // finalized: rendered into the body
  auto id = r.headers.Get("X-Request-Id");
  if (!id || id->empty()) abort();
  if (r.status >= 300) {
    if (r.content_type != kProblemJson) abort();
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || j.value("status", 0) != r.status || !j.contains("code") ||
        !j.contains("type") || !j.contains("title") || !j.contains("detail") ||
        j.value("request_id", "") != *id) {
      abort();
    }
    // A request can never make the server report its own failure, except the handler that
    // throws on purpose.
    if (r.status >= 500 && j.value("code", "") != "internal") abort();
  }
  return 0;
}
