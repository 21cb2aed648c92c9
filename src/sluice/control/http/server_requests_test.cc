// The server over real sockets, its requests: path parameters and queries, routing misses, JSON
// bodies, size limits, handler errors as problems, request ids, pagination.
#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/server_test_util.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(HttpServerTest, PathParametersAndQueryAreDecoded) {
  StartServer();
  auto r = RoundTrip(Get("/api/v1/echo/my%20pipe%2Fx/versions/3?a=1&b=x+y&c=%C3%A9&a=2&flag"));
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.JsonBody();
  EXPECT_EQ(j["name"], "my pipe/x");  // %2F stays inside the segment
  EXPECT_EQ(j["version"], "3");
  EXPECT_EQ(j["query"]["a"], "2");  // the echo handler keeps the last; Query() gives the first
  EXPECT_EQ(j["query"]["b"], "x y");
  EXPECT_EQ(j["query"]["c"], "é");
  EXPECT_EQ(j["query"]["flag"], "");
  // A literal segment beats a parameter at the same place.
  auto latest = RoundTrip(Get("/api/v1/echo/latest/versions/7"));
  EXPECT_EQ(latest.JsonBody()["latest"], true) << latest.body;
}

TEST_F(HttpServerTest, BadEscapesAreMalformedRequests) {
  StartServer();
  ExpectProblem(RoundTrip(Get("/api/v1/echo/%zz/versions/1")), 400, codes::kMalformedRequest);
  ExpectProblem(RoundTrip(Get("/api/v1/pipelines?limit=%4")), 400, codes::kMalformedRequest);
  ExpectProblem(RoundTrip(Get("/api/v1/echo/%FF/versions/1")), 400, codes::kMalformedRequest);
  ExpectProblem(RoundTrip(Get("http://example.com/api/v1/pipelines")), 400, codes::kMalformedRequest);
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  StartServer();
  auto missing = RoundTrip(Get("/api/v1/nope"));
  ExpectProblem(missing, 404, codes::kRouteNotFound);
  EXPECT_EQ(missing.JsonBody()["instance"], "/api/v1/nope");
  ExpectProblem(RoundTrip(Get("/api/v1/pipelines/")), 404, codes::kRouteNotFound);

  auto wrong = RoundTrip("PUT /api/v1/pipelines HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  ExpectProblem(wrong, 405, codes::kMethodNotAllowed);
  EXPECT_EQ(wrong.Header("allow"), "GET, POST");
  auto wrong_param = RoundTrip("POST /api/v1/pipelines/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  ExpectProblem(wrong_param, 405, codes::kMethodNotAllowed);
  EXPECT_EQ(wrong_param.Header("allow"), "DELETE, GET");
}

TEST_F(HttpServerTest, JsonBodyErrorsAreProblems) {
  StartServer();
  auto created = RoundTrip(Post("/api/v1/pipelines", R"({"name": "orders", "retries": 5})"));
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.JsonBody()["retries"], 5);

  auto malformed = RoundTrip(Post("/api/v1/pipelines", R"({"name": "orders",})"));
  ExpectProblem(malformed, 400, codes::kMalformedJson);
  EXPECT_EQ(malformed.JsonBody()["position"], 18) << malformed.body;
  EXPECT_THAT(malformed.JsonBody()["detail"].get<std::string>(), HasSubstr("byte 18"));

  auto unknown = RoundTrip(Post("/api/v1/pipelines", R"({"name": "orders", "retires": 5})"));
  ExpectProblem(unknown, 400, codes::kUnknownField);
  Json errors = unknown.JsonBody()["errors"];
  ASSERT_EQ(errors.size(), 1u) << unknown.body;
  EXPECT_EQ(errors[0]["field"], "retires");
  EXPECT_EQ(errors[0]["code"], "unknown_field");

  auto wrong_type = RoundTrip(Post("/api/v1/pipelines", R"({"name": 7, "retries": "x"})"));
  ExpectProblem(wrong_type, 400, codes::kInvalidField);
  Json type_errors = wrong_type.JsonBody()["errors"];
  ASSERT_EQ(type_errors.size(), 2u) << wrong_type.body;
  EXPECT_EQ(type_errors[0]["field"], "name");
  EXPECT_THAT(type_errors[0]["message"].get<std::string>(), HasSubstr("expected a string"));
  EXPECT_EQ(type_errors[1]["field"], "retries");

  auto missing = RoundTrip(Post("/api/v1/pipelines", R"({})"));
  ExpectProblem(missing, 400, codes::kInvalidField);
  EXPECT_THAT(missing.JsonBody()["detail"].get<std::string>(), HasSubstr("name: required"));

  ExpectProblem(RoundTrip(Post("/api/v1/pipelines", R"([1])")), 400, codes::kInvalidBody);
  ExpectProblem(RoundTrip(Post("/api/v1/pipelines", R"({"name":"a","name":"b"})")), 400, codes::kInvalidBody);
  ExpectProblem(RoundTrip(Post("/api/v1/pipelines", R"({"name":"a"})", "text/plain")), 415,
                codes::kUnsupportedMediaType);
  auto charset = RoundTrip(Post("/api/v1/pipelines", R"({"name":"a"})", "Application/JSON; charset=utf-8"));
  EXPECT_EQ(charset.status, 201) << charset.body;
}

TEST_F(HttpServerTest, OversizedBodyIs413AndTheServerStaysHealthy) {
  HttpServerOptions options;
  options.max_body_bytes = 4096;
  StartServer(options);
  // Over the route's own limit (1024), announced by Content-Length: refused before the body.
  {
    Conn c(port());
    std::string body(5000, 'x');
    ASSERT_TRUE(c.Send(Post("/api/v1/ingest/events", body, "application/x-ndjson")));
    auto r = c.Read();
    ASSERT_TRUE(r);
    ExpectProblem(*r, 413, codes::kBodyTooLarge);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitClosed(5000ms));
  }
  // Within the route's limit.
  EXPECT_EQ(RoundTrip(Post("/api/v1/ingest/events", std::string(1000, 'x'), "application/x-ndjson")).status, 200);
  // Chunked, no length up front: cut off once past the limit.
  {
    Conn c(port());
    std::string chunk = fmt::format("{:x}\r\n{}\r\n", 800, std::string(800, 'y'));
    ASSERT_TRUE(
        c.Send("POST /api/v1/ingest/events HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk));
    auto r = c.Read();
    ASSERT_TRUE(r);
    ExpectProblem(*r, 413, codes::kBodyTooLarge);
  }
  // The server default (4096) for a route without its own limit.
  ExpectProblem(RoundTrip(Post("/api/v1/pipelines", std::string(5000, ' '))), 413, codes::kBodyTooLarge);
  // And the server still answers normally.
  EXPECT_EQ(RoundTrip(Get("/api/v1/echo/a/versions/1")).status, 200);
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  StartServer();  // default 16 KiB
  auto r = RoundTrip(Get("/api/v1/echo/a/versions/1", "X-Big: " + std::string(17000, 'h') + "\r\n"));
  ExpectProblem(r, 431, codes::kHeadersTooLarge);
  EXPECT_EQ(RoundTrip(Get("/api/v1/echo/a/versions/1", "X-Big: " + std::string(8000, 'h') + "\r\n")).status, 200);
}

TEST_F(HttpServerTest, HandlerStatusBecomesProblemAndInternalsDoNotLeak) {
  StartServer();
  auto not_found = RoundTrip(Get("/api/v1/pipelines/orders"));
  ExpectProblem(not_found, 404, codes::kNotFound);
  EXPECT_EQ(not_found.JsonBody()["detail"], "pipeline 'orders' does not exist");

  auto boom = RoundTrip(Get("/api/v1/boom"));
  ExpectProblem(boom, 500, codes::kInternal);
  EXPECT_THAT(boom.body, Not(HasSubstr("hunter2")));
  EXPECT_THAT(boom.body, Not(HasSubstr("secret")));

  auto disk = RoundTrip(Get("/api/v1/disk"));
  ExpectProblem(disk, 500, codes::kInternal);
  EXPECT_THAT(disk.body, Not(HasSubstr("meta.db")));
}

TEST_F(HttpServerTest, ClientRequestIdIsKeptWhenWellFormed) {
  StartServer();
  auto r = RoundTrip(Get("/api/v1/echo/a/versions/1", "X-Request-Id: trace-42.a_b\r\n"));
  EXPECT_EQ(r.Header("x-request-id"), "trace-42.a_b");
  EXPECT_EQ(r.JsonBody()["request_id"], "trace-42.a_b");
  auto bad = RoundTrip(Get("/api/v1/echo/a/versions/1", "X-Request-Id: no spaces allowed\r\n"));
  EXPECT_EQ(bad.Header("x-request-id").size(), 32u);
}

TEST_F(HttpServerTest, PaginationFollowsCursorsToTheEnd) {
  StartServer();
  std::vector<std::string> seen;
  std::string target = "/api/v1/pipelines?limit=2";
  for (int page = 0; page < 10; ++page) {
    auto r = RoundTrip(Get(target));
    ASSERT_EQ(r.status, 200) << r.body;
    Json j = r.JsonBody();
    ASSERT_TRUE(j["items"].is_array());
    EXPECT_LE(j["items"].size(), 2u);
    for (const auto& item : j["items"]) seen.push_back(item["name"]);
    ASSERT_TRUE(j.contains("next_cursor"));
    if (j["next_cursor"].is_null()) break;
    target = "/api/v1/pipelines?limit=2&cursor=" + j["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(seen, kPipelineNames);
  auto all = RoundTrip(Get("/api/v1/pipelines")).JsonBody();
  EXPECT_EQ(all["items"].size(), 5u);
  EXPECT_TRUE(all["next_cursor"].is_null());

  for (std::string bad : {"0", "1001", "-1", "abc", "", "2x", "+5"}) {
    auto r = RoundTrip(Get("/api/v1/pipelines?limit=" + bad));
    ExpectProblem(r, 400, codes::kInvalidField);
    EXPECT_EQ(r.JsonBody()["errors"][0]["field"], "limit") << bad;
  }
  auto bad_cursor = RoundTrip(Get("/api/v1/pipelines?cursor=bm90LWEtY3Vyc29y"));
  ExpectProblem(bad_cursor, 400, codes::kInvalidField);
  EXPECT_EQ(bad_cursor.JsonBody()["errors"][0]["field"], "cursor");
}

}  // namespace
}  // namespace sluice::http::testing
