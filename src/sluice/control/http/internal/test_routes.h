// For tests only: the two routes the server tests drive — GET /api/v1/hello answers
// {"hello": greeting}, POST /api/v1/upload answers {"bytes": <body size>} (bodies up to
// upload_limit bytes; 0: the server's default).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sluice/control/http/router.h"

namespace sluice::http::testing {

inline Result<Router> HelloUploadRouter(std::string greeting, int64_t upload_limit = 0) {
  std::vector<Route> routes;
  routes.push_back({.method = "GET",
                    .pattern = "/api/v1/hello",
                    .operation_id = "hello",
                    .permission = "test.read",
                    .handler = [greeting = std::move(greeting)](const Request&, const PathParams&) {
                      return Response::Json(200, {{"hello", greeting}});
                    }});
  routes.push_back({.method = "POST",
                    .pattern = "/api/v1/upload",
                    .operation_id = "upload",
                    .permission = "test.write",
                    .handler =
                        [](const Request& r, const PathParams&) {
                          return Response::Json(200, {{"bytes", r.body.size()}});
                        },
                    .max_body_bytes = upload_limit});
  return Router::Create(std::move(routes));
}

}  // namespace sluice::http::testing
