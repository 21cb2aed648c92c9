#include "sluice/control/api/api.h"

namespace sluice::api {

http::Route MakeRoute(std::string method, std::string pattern, std::string operation_id, std::string permission,
                      http::Handler handler) {
  http::Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.operation_id = std::move(operation_id);
  r.permission = std::move(permission);
  r.handler = std::move(handler);
  return r;
}

Result<http::Router> BuildRouter(ApiContext& context) {
  std::vector<http::Route> routes;
  AddHealthRoutes(context, routes);
  AddPipelineRoutes(context, routes);
  AddIngestRoutes(context, routes);
  AddRunRoutes(context, routes);
  routes.push_back(MakeRoute("GET", "/api/v1/openapi.json", "getOpenApiDocument", "public",
                             [](const http::Request&, const http::PathParams&) {
                               http::Response r;
                               r.status = 200;
                               r.content_type = std::string(http::kApplicationJson);
                               r.body = std::string(OpenApiDocument());
                               return r;
                             }));
  return http::Router::Create(std::move(routes));
}

}  // namespace sluice::api
