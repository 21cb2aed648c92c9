// Tests of the HTTP layer: types and helpers directly, and the server on 127.0.0.1 with an
// ephemeral port through a raw-socket client (which can also misbehave: stall, overflow, flood).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/text.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: exactly the bytes we choose, and a parser for what comes back.

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  Json JsonBody() const { return Json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return fd_ >= 0; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One response, or nullopt if the connection ended or nothing complete came in time.
  // no_body: the response to a HEAD request (Content-Length describes a body that is not sent).
  std::optional<RawResponse> Read(std::chrono::milliseconds timeout = 5000ms, bool no_body = false) {
    auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    RawResponse r;
    std::istringstream head(buf_.substr(0, end));
    std::string line;
    std::getline(head, line);
    if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    r.status = std::stoi(line.substr(9, 3));
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = internal::ToLower(line.substr(0, colon));
      r.headers[name] = std::string(Trim(line.substr(colon + 1), kBlanks));
    }
    buf_.erase(0, end + 4);
    size_t length = r.headers.count("content-length") && !no_body ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < length) {
      if (!Fill(deadline)) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True once the server closed the connection (EOF or reset) within the timeout.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      int rc = FillOnce(deadline);
      if (rc == 0) return true;    // EOF / reset
      if (rc < 0) return false;    // timeout
    }
  }

 private:
  // >0: bytes read; 0: EOF or error; -1: deadline passed.
  int FillOnce(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return -1;
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc == 0) return -1;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return 0;
    buf_.append(tmp, static_cast<size_t>(n));
    return static_cast<int>(n);
  }
  bool Fill(Clock::time_point deadline) { return FillOnce(deadline) > 0; }

  int fd_ = -1;
  std::string buf_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: t\r\n{}\r\n", target, extra_headers);
}

std::string Post(std::string_view target, std::string_view body,
                 std::string_view content_type = "application/json") {
  return fmt::format("POST {} HTTP/1.1\r\nHost: t\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{}",
                     target, content_type, body.size(), body);
}

// Polls `cond` until it holds or the deadline passes (no sleeps as synchronization).
template <typename F>
bool Eventually(F cond, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

void ExpectProblem(const RawResponse& r, int status, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  Json j = r.JsonBody();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("code", ""), code) << r.body;
  EXPECT_EQ(j.value("status", 0), status);
  EXPECT_EQ(j.value("type", ""), "urn:sluice:problem:" + std::string(code));
  EXPECT_FALSE(j.value("title", "").empty());
  EXPECT_TRUE(j.contains("detail"));
  EXPECT_FALSE(r.Header("x-request-id").empty());
  EXPECT_EQ(j.value("request_id", ""), r.Header("x-request-id"));
}

// ---------------------------------------------------------------------------------------------
// The routes the server tests use.

const std::vector<std::string> kPipelineNames = {"alpha", "bravo", "charlie", "delta", "echo"};

struct TestHooks {
  std::atomic<bool> slow_entered{false};
  std::promise<void> slow_release;
  std::shared_future<void> slow_released = slow_release.get_future().share();
};

std::vector<Route> TestRoutes(TestHooks* hooks) {
  std::vector<Route> routes;
  routes.push_back({"GET", "/api/v1/echo/{name}/versions/{version}", "echo", "pipelines.read",
                    [](const Request& req, const PathParams& p) {
                      Json q = Json::object();
                      for (const auto& [k, v] : req.query) q[k] = v;
                      return Response::Json(200, {{"name", p.Get("name")},
                                                  {"version", p.Get("version")},
                                                  {"query", q},
                                                  {"request_id", req.request_id}});
                    }});
  routes.push_back({"GET", "/api/v1/echo/latest/versions/{version}", "echoLatest", "pipelines.read",
                    [](const Request&, const PathParams& p) {
                      return Response::Json(200, {{"latest", true}, {"version", p.Get("version")}});
                    }});
  routes.push_back({"GET", "/api/v1/pipelines", "listPipelines", "pipelines.read",
                    [](const Request& req, const PathParams&) -> Response {
                      SLUICE_HTTP_ASSIGN_OR_RETURN(PageRequest page, ParsePageRequest(req));
                      Json items = Json::array();
                      std::optional<std::string> next;
                      for (const auto& name : kPipelineNames) {
                        if (page.after && name <= *page.after) continue;
                        if (static_cast<int64_t>(items.size()) == page.limit) {
                          next = items.back()["name"].get<std::string>();
                          break;
                        }
                        items.push_back({{"name", name}});
                      }
                      return PageResponse(std::move(items), next);
                    }});
  Route create{"POST", "/api/v1/pipelines", "createPipeline", "pipelines.write",
               [](const Request& req, const PathParams&) -> Response {
                 SLUICE_HTTP_ASSIGN_OR_RETURN(Json body, ParseJsonObject(req.body));
                 JsonFieldReader fields(body);
                 std::string name = fields.RequiredString("name");
                 int64_t retries = fields.OptionalInt("retries").value_or(3);
                 if (auto problem = fields.Finish()) return *problem;
                 return Response::Json(201, {{"name", name}, {"retries", retries}});
               }};
  create.json_body = true;
  routes.push_back(std::move(create));
  routes.push_back({"DELETE", "/api/v1/pipelines/{name}", "deletePipeline", "pipelines.write",
                    [](const Request&, const PathParams&) { return Response::Empty(204); }});
  routes.push_back({"GET", "/api/v1/pipelines/{name}", "getPipeline", "pipelines.read",
                    [](const Request&, const PathParams& p) -> Response {
                      SLUICE_HTTP_RETURN_IF_ERROR(Status::NotFound("pipeline '{}' does not exist", p.Get("name")));
                      return Response::Empty(200);
                    }});
  routes.push_back({"GET", "/api/v1/boom", "boom", "admin",
                    [](const Request&, const PathParams&) -> Response {
                      throw std::runtime_error("password=hunter2 in /etc/sluice/secret");
                    }});
  routes.push_back({"GET", "/api/v1/disk", "disk", "admin",
                    [](const Request&, const PathParams&) -> Response {
                      Result<int> r = Status::IoError("fsync /var/lib/sluice/meta.db: EIO");
                      SLUICE_HTTP_ASSIGN_OR_RETURN(int v, std::move(r));
                      return Response::Text(200, std::to_string(v));
                    }});
  Route ingest{"POST", "/api/v1/ingest/{stream}", "ingest", "ingest.write",
               [](const Request& req, const PathParams&) {
                 return Response::Json(200, {{"bytes", req.body.size()}});
               }};
  ingest.max_body_bytes = 1024;
  routes.push_back(std::move(ingest));
  routes.push_back({"GET", "/api/v1/slow", "slow", "admin",
                    [hooks](const Request&, const PathParams&) {
                      hooks->slow_entered = true;
                      hooks->slow_released.wait_for(10s);
                      return Response::Text(200, "done");
                    }});
  return routes;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    auto router = Router::Create(TestRoutes(&hooks_));
    ASSERT_TRUE(router.ok()) << router.status().ToString();
    server_ = std::make_unique<HttpServer>(options, std::move(router).value());
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    hooks_.slow_release = {};  // never leave a handler waiting
    if (server_) server_->Stop();
  }
  uint16_t port() const { return server_->port(); }

  // One request on a fresh connection.
  RawResponse RoundTrip(const std::string& request) {
    Conn c(port());
    EXPECT_TRUE(c.connected());
    EXPECT_TRUE(c.Send(request));
    auto r = c.Read();
    EXPECT_TRUE(r.has_value()) << "no response to " << request.substr(0, 80);
    return r.value_or(RawResponse{});
  }

  TestHooks hooks_;
  std::unique_ptr<HttpServer> server_;
};

// ---------------------------------------------------------------------------------------------
// The server.

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  Conn c(port());
  ASSERT_TRUE(c.connected());
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(Get(fmt::format("/api/v1/echo/p{}/versions/{}", i, i))));
    auto r = c.Read();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->JsonBody()["name"], fmt::format("p{}", i));
    EXPECT_NE(r->Header("connection"), "close");
    ids.insert(r->Header("x-request-id"));
  }
  EXPECT_EQ(ids.size(), 3u) << "each request gets its own id";
  // Two pipelined requests in one write are answered in order.
  ASSERT_TRUE(c.Send(Get("/api/v1/echo/a/versions/1") + Get("/api/v1/echo/b/versions/2")));
  auto first = c.Read();
  auto second = c.Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->JsonBody()["name"], "a");
  EXPECT_EQ(second->JsonBody()["name"], "b");
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10CloseAfterTheResponse) {
  StartServer();
  Conn c(port());
  ASSERT_TRUE(c.Send(Get("/api/v1/echo/a/versions/1", "Connection: close\r\n")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed(5000ms));
  Conn old(port());
  ASSERT_TRUE(old.Send("GET /api/v1/echo/a/versions/1 HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(old.Read());
  EXPECT_TRUE(old.WaitClosed(5000ms));
}

TEST_F(HttpServerTest, PathParametersAndQueryAreDecoded) {
  StartServer();
  auto r = RoundTrip(Get("/api/v1/echo/my%20pipe%2Fx/versions/3?a=1&b=x+y&c=%C3%A9&a=2&flag"));
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.JsonBody();
  EXPECT_EQ(j["name"], "my pipe/x");  // %2F stays inside the segment
  EXPECT_EQ(j["version"], "3");
  EXPECT_EQ(j["query"]["a"], "2");    // the echo handler keeps the last; Query() gives the first
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

TEST_F(HttpServerTest, HeadGetsNoBodyAndTheConnectionStaysInSync) {
  StartServer();
  Conn c(port());
  ASSERT_TRUE(c.Send("HEAD /api/v1/echo/a/versions/1 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = c.Read(5000ms, /*no_body=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 405);
  EXPECT_EQ(head->Header("allow"), "GET");
  EXPECT_NE(head->Header("content-length"), "0");
  // Had a body been sent, it would now be read as the next response.
  ASSERT_TRUE(c.Send(Get("/api/v1/echo/b/versions/2")));
  auto next = c.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->JsonBody()["name"], "b");
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
  ExpectProblem(RoundTrip(Post("/api/v1/pipelines", R"({"name":"a","name":"b"})")), 400,
                codes::kInvalidBody);
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
    ASSERT_TRUE(c.Send("POST /api/v1/ingest/events HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       chunk + chunk));
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

TEST_F(HttpServerTest, SlowHeaderClientIsTimedOutWhileOthersAreServed) {
  HttpServerOptions options;
  options.io_threads = 1;  // if the stalled client held the only thread, nobody else would get in
  options.header_timeout = 400ms;
  StartServer(options);
  Conn slow(port());
  auto slow_start = Clock::now();
  ASSERT_TRUE(slow.Send("GET /api/v1/echo/a/versions/1 HTTP/1.1\r\nHost: t\r\nX-Half"));
  // Meanwhile, other clients are served promptly.
  for (int i = 0; i < 5; ++i) {
    auto r = RoundTrip(Get("/api/v1/echo/b/versions/2"));
    EXPECT_EQ(r.status, 200);
  }
  EXPECT_LT(Clock::now() - slow_start, 400ms) << "other clients waited for the slow one";
  auto r = slow.Read(5000ms);
  ASSERT_TRUE(r) << "the stalled client got no 408";
  EXPECT_GE(Clock::now() - slow_start, 350ms) << "timed out before the header deadline";
  ExpectProblem(*r, 408, codes::kRequestTimeout);
  EXPECT_TRUE(slow.WaitClosed(5000ms));
}

TEST_F(HttpServerTest, SlowBodyIsTimedOut) {
  HttpServerOptions options;
  options.body_timeout = 300ms;
  StartServer(options);
  Conn c(port());
  ASSERT_TRUE(c.Send("POST /api/v1/ingest/e HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly-some"));
  auto r = c.Read(5000ms);
  ASSERT_TRUE(r);
  ExpectProblem(*r, 408, codes::kRequestTimeout);
  EXPECT_EQ(r->JsonBody()["instance"], "/api/v1/ingest/e");
  EXPECT_TRUE(c.WaitClosed(5000ms));
}

TEST_F(HttpServerTest, SilentAndIdleConnectionsAreClosed) {
  HttpServerOptions options;
  options.header_timeout = 300ms;
  options.idle_timeout = 300ms;
  StartServer(options);
  Conn silent(port());
  EXPECT_TRUE(silent.WaitClosed(5000ms));
  Conn idle(port());
  ASSERT_TRUE(idle.Send(Get("/api/v1/echo/a/versions/1")));
  ASSERT_TRUE(idle.Read());
  auto start = Clock::now();
  EXPECT_TRUE(idle.WaitClosed(5000ms));
  EXPECT_GE(Clock::now() - start, 250ms);
}

TEST_F(HttpServerTest, ConnectionsPerAddressAreCapped) {
  HttpServerOptions options;
  options.max_connections_per_address = 2;
  StartServer(options);
  auto a = std::make_unique<Conn>(port());
  Conn b(port());
  for (Conn* c : {a.get(), &b}) {  // both admitted: they get answers
    ASSERT_TRUE(c->Send(Get("/api/v1/echo/a/versions/1")));
    auto r = c->Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  Conn extra(port());
  auto rejected = extra.Read();
  ASSERT_TRUE(rejected);
  ExpectProblem(*rejected, 503, codes::kUnavailable);
  EXPECT_EQ(rejected->Header("retry-after"), "1");
  a.reset();  // a slot frees once the server sees the close
  EXPECT_TRUE(Eventually([&] {
    Conn c(port());
    return c.Send(Get("/api/v1/echo/a/versions/1")) && c.Read().value_or(RawResponse{}).status == 200;
  }));
}

TEST_F(HttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  StartServer();
  Conn c(port());
  std::string body = R"({"name": "x"})";
  ASSERT_TRUE(c.Send(fmt::format("POST /api/v1/pipelines HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                 "Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
                                 body.size())));
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send(body));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
}

TEST_F(HttpServerTest, StopLetsTheRequestInFlightFinish) {
  HttpServerOptions options;
  options.shutdown_grace = 5000ms;
  StartServer(options);
  Conn c(port());
  ASSERT_TRUE(c.Send(Get("/api/v1/slow")));
  ASSERT_TRUE(Eventually([&] { return hooks_.slow_entered.load(); }));
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(); });
  // New connections are refused once the acceptor is closed...
  EXPECT_TRUE(Eventually([&] { return !Conn(port()).connected(); }));
  EXPECT_EQ(stopped.wait_for(0ms), std::future_status::timeout) << "Stop did not wait";
  // ...while the request in flight completes, and its response closes the connection.
  hooks_.slow_release.set_value();
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(stopped.wait_for(4000ms), std::future_status::ready);
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

// ---------------------------------------------------------------------------------------------
// The pieces, without sockets.

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
}  // namespace sluice::http
