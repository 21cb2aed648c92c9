// Tests of the HTTP layer's pieces, without sockets: the router, problems, JSON bodies,
// pagination cursors, text helpers, and ServeRawRequest against the server's limits.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/server_test_util.h"
#include "sluice/control/http/internal/text.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Route Noop(std::string method, std::string pattern, std::string op) {
  return {std::move(method), std::move(pattern), std::move(op), "p",
          [](const Request&, const PathParams&) { return Response::Empty(204); }};
}

TEST(RouterTest, CreateValidatesTheTable) {
  EXPECT_TRUE(Router::Create({Noop("GET", "/a/{x}", "a"), Noop("POST", "/a/{y}", "b")}).ok());
  auto dup = Router::Create({Noop("GET", "/a/{x}", "a"), Noop("GET", "/a/{y}", "b")});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Router::Create({Noop("GET", "/a", "a"), Noop("PUT", "/b", "a")}).status().code(),
            StatusCode::kInvalidArgument);  // operation id twice
  for (std::string pattern : {"a", "/a//b", "/a/{X}", "/a/{x}/{x}", "/a/{}", "/a?b", "/a/{x"}) {
    EXPECT_EQ(Router::Create({Noop("GET", pattern, "a")}).status().code(), StatusCode::kInvalidArgument)
        << pattern;
  }
  EXPECT_FALSE(Router::Create({Noop("get", "/a", "a")}).ok());
  Route no_handler = Noop("GET", "/a", "a");
  no_handler.handler = nullptr;
  EXPECT_FALSE(Router::Create({no_handler}).ok());
}

TEST(RouterTest, TheTableIsListable) {
  TestHooks hooks;
  auto router = Router::Create(TestRoutes(&hooks));
  ASSERT_TRUE(router.ok());
  auto list = router->List();
  ASSERT_EQ(list.size(), TestRoutes(&hooks).size());
  EXPECT_EQ(list[0], (RouteInfo{"GET", "/api/v1/echo/{name}/versions/{version}", "echo", "pipelines.read", 0, false}));
  auto ingest = std::find_if(list.begin(), list.end(), [](const RouteInfo& r) { return r.operation_id == "ingest"; });
  ASSERT_NE(ingest, list.end());
  EXPECT_EQ(ingest->max_body_bytes, 1024);
  EXPECT_EQ(ingest->permission, "ingest.write");
  EXPECT_EQ(router->BodyLimit("POST", "/api/v1/ingest/x", 99), 1024);
  EXPECT_EQ(router->BodyLimit("POST", "/api/v1/pipelines", 99), 99);
  EXPECT_EQ(router->BodyLimit("POST", "/nowhere", 99), 99);
}

TEST(RouterTest, HandlerReturningABadStatusIs500) {
  auto router = Router::Create({{"GET", "/x", "x", "p", [](const Request&, const PathParams&) {
                                   return Response::Empty(42);
                                 }}});
  ASSERT_TRUE(router.ok());
  Request req;
  req.method = "GET";
  ASSERT_TRUE(req.SetTarget("/x").ok());
  req.request_id = "r1";
  Response r = router->Dispatch(req);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.content_type, kProblemJson);
  EXPECT_EQ(r.headers.Get("x-request-id"), "r1");
}

TEST(ProblemTest, StatusMappingKeepsUserErrorsOutOf5xx) {
  struct Case {
    Status status;
    int http;
    std::string_view code;
  };
  std::vector<Case> cases = {
      {Status::InvalidArgument("bad"), 400, codes::kInvalidArgument},
      {Status::DataError("bad"), 400, codes::kDataError},
      {Status::NotFound("x"), 404, codes::kNotFound},
      {Status::AlreadyExists("x"), 409, codes::kAlreadyExists},
      {Status::FailedPrecondition("x"), 409, codes::kFailedPrecondition},
      {Status(StatusCode::kAborted, "x"), 409, codes::kConflict},
      {Status(StatusCode::kUnavailable, "pg down at 10.0.0.5"), 503, codes::kUnavailable},
      {Status::IoError("disk /x"), 500, codes::kInternal},
      {Status::Internal("bug"), 500, codes::kInternal},
  };
  for (const auto& c : cases) {
    Problem p = ProblemFromStatus(c.status);
    EXPECT_EQ(p.status, c.http) << c.status.ToString();
    EXPECT_EQ(p.code, c.code) << c.status.ToString();
    if (c.status.IsUserError()) {
      EXPECT_LT(p.status, 500) << c.status.ToString();
    }
    if (p.status < 500) {
      EXPECT_EQ(p.detail, c.status.message());
    } else {
      EXPECT_THAT(p.detail, Not(HasSubstr(c.status.message()))) << "internals leak";
      EXPECT_THAT(p.internal_message, HasSubstr(c.status.message()));
    }
  }
  // Extra members never replace the standard ones.
  Problem p = MakeProblem(codes::kNotFound, "d").With("code", "spoof").With("hint", 1);
  Json j = p.ToJson("/i", "r");
  EXPECT_EQ(j["code"], "not_found");
  EXPECT_EQ(j["hint"], 1);
  EXPECT_EQ(j["instance"], "/i");
}

TEST(ProblemTest, DocsListEveryCode) {
  const char* dir = std::getenv("SLUICE_SOURCE_DIR");
  if (dir == nullptr) GTEST_SKIP() << "SLUICE_SOURCE_DIR is set by ctest";
  std::ifstream in(std::string(dir) + "/docs/api.md");
  ASSERT_TRUE(in) << "docs/api.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  for (const auto& info : ProblemCodes()) {
    EXPECT_THAT(ss.str(), HasSubstr(fmt::format("| `{}` | {} |", info.code, info.status)))
        << "docs/api.md does not document " << info.code;
  }
}

TEST(JsonBodyTest, StrictParsing) {
  EXPECT_TRUE(ParseJsonObject(R"({"a": {"b": [1, {"c": 2}]}, "d": null})").ok());
  auto dup_nested = ParseJsonObject(R"({"a": {"b": 1, "b": 2}})");
  ASSERT_FALSE(dup_nested.ok());
  EXPECT_EQ(dup_nested.problem().code, codes::kInvalidBody);
  // The same key in sibling objects is fine.
  EXPECT_TRUE(ParseJsonObject(R"({"a": {"k": 1}, "b": {"k": 2}})").ok());
  std::string deep = std::string(100, '[') + std::string(100, ']');
  auto too_deep = ParseJsonObject("{\"a\":" + deep + "}");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.problem().code, codes::kInvalidBody);
  auto bad_utf8 = ParseJsonObject("{\"a\": \"\xff\"}");
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_EQ(bad_utf8.problem().code, codes::kMalformedJson);
  EXPECT_FALSE(ParseJsonObject("").ok());
  EXPECT_FALSE(ParseJsonObject("{} {}").ok());
  EXPECT_FALSE(ParseJsonObject("{\"a\": 1e999}").ok());
}

TEST(JsonBodyTest, FieldReaderReportsEveryMistake) {
  Json body = Json::parse(R"({"s": "x", "i": 9223372036854775808, "b": true, "o": {}, "a": [], "n": null, "extra": 1})");
  JsonFieldReader fields(body, "spec.");
  EXPECT_EQ(fields.RequiredString("s"), "x");
  EXPECT_FALSE(fields.OptionalInt("i"));  // out of int64 range
  EXPECT_EQ(fields.OptionalBool("b"), true);
  EXPECT_NE(fields.OptionalObject("o"), nullptr);
  EXPECT_NE(fields.OptionalArray("a"), nullptr);
  EXPECT_FALSE(fields.OptionalString("n"));  // null is absent
  EXPECT_EQ(fields.RequiredInt("missing"), 0);
  auto problem = fields.Finish();
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->code, codes::kInvalidField);
  std::vector<std::string> named;
  for (const auto& e : problem->extra["errors"]) named.push_back(e["field"]);
  EXPECT_THAT(named, ::testing::ElementsAre("spec.i", "spec.missing", "spec.extra"));
  Json small = Json::parse(R"({"s": "x"})");
  JsonFieldReader clean(small);
  (void)clean.OptionalString("s");
  EXPECT_FALSE(clean.Finish());
}

TEST(PaginationTest, CursorsRoundTripAndRejectForgeries) {
  for (std::string key : std::vector<std::string>{"", "a", "orders/2024", std::string("\0x", 2), "é€𝄞"}) {
    std::string cursor = EncodeCursor(key);
    EXPECT_EQ(cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_EQ(DecodeCursor(cursor), key);
  }
  EXPECT_FALSE(DecodeCursor(""));
  EXPECT_FALSE(DecodeCursor("!!!!"));
  EXPECT_FALSE(DecodeCursor(internal::Base64UrlEncode(R"({"v":2,"k":"a"})")));
  EXPECT_FALSE(DecodeCursor(internal::Base64UrlEncode(R"({"v":1,"k":5})")));
  EXPECT_FALSE(DecodeCursor(std::string(5000, 'A')));
}

TEST(TextTest, Base64UrlIsCanonical) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(internal::Base64UrlDecode(internal::Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(internal::Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(internal::Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(internal::Base64UrlDecode("Zg=="));  // padding
  EXPECT_FALSE(internal::Base64UrlDecode("Zh"));    // non-zero trailing bits
  EXPECT_FALSE(internal::Base64UrlDecode("Z"));
  EXPECT_EQ(internal::PercentDecode("a%2fb+c", false), "a/b+c");
  EXPECT_EQ(internal::PercentDecode("a+c", true), "a c");
  EXPECT_FALSE(internal::PercentDecode("%2", false));
  EXPECT_FALSE(internal::PercentDecode("%g0", false));
}

TEST(ServeRawRequestTest, SameLimitsAndAnswersAsTheServer) {
  TestHooks hooks;
  auto router = Router::Create(TestRoutes(&hooks));
  ASSERT_TRUE(router.ok());
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  auto serve = [&](const std::string& raw) { return ServeRawRequest(raw, *router, options); };
  EXPECT_EQ(serve(Get("/api/v1/echo/a/versions/1")).status, 200);
  EXPECT_EQ(serve(Get("/api/v1/echo/a/versions/1", "X-Big: " + std::string(2000, 'x') + "\r\n")).status, 431);
  EXPECT_EQ(serve(Post("/api/v1/ingest/s", std::string(2000, 'x'))).status, 413);
  EXPECT_EQ(serve(Post("/api/v1/pipelines", R"({"name":"n"})")).status, 201);
  EXPECT_EQ(serve("GET /api/v1/echo/a/versions/1 HTTP/1.1\r\nHost: t\r\n").status, 400);  // incomplete
  EXPECT_EQ(serve("GARBAGE\r\n\r\n").status, 400);
  EXPECT_EQ(serve("POST /api/v1/ingest/s HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").status, 400);
  Response r = serve("POST /api/v1/ingest/s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["bytes"], 3);
}

}  // namespace
}  // namespace sluice::http::testing
