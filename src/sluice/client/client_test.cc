// Tests of the API client against a real control-plane HttpServer on 127.0.0.1 (ephemeral port),
// reached through a small counting TCP proxy so the tests see, from the server's side, how many
// connections the client opened, and can close them as a server closing keep-alive connections.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "sluice/control/http/http.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::client {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// A TCP proxy in front of the server: counts accepted connections and can drop them all.

class CountingProxy {
 public:
  explicit CountingProxy(uint16_t upstream) : upstream_(upstream) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(0);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
      ADD_FAILURE() << "proxy: cannot listen";
      return;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~CountingProxy() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    DropAll();
    for (auto& t : pumps_) t.join();
    ::close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

  // Closes every open connection on both sides (the client reads EOF), and waits until the pumps
  // have let go of them.
  void DropAll() {
    {
      std::lock_guard lock(mu_);
      for (auto [a, b] : open_) {
        ::shutdown(a, SHUT_RDWR);
        ::shutdown(b, SHUT_RDWR);
      }
    }
    auto deadline = std::chrono::steady_clock::now() + 5s;
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return open_.empty(); });
    EXPECT_TRUE(open_.empty()) << "proxy connections did not close";
  }

  static sockaddr_in Loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

 private:
  void AcceptLoop() {
    while (true) {
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) {
        if (!stopping_ && errno == EINTR) continue;
        return;
      }
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = Loopback(upstream_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      accepted_.fetch_add(1);
      std::lock_guard lock(mu_);
      open_.emplace_back(client, server);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }

  void Pump(int a, int b) {
    char buf[16384];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    bool done = false;
    while (!done) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2 && !done; ++i) {
        if (fds[i].revents == 0) continue;
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          done = true;
          break;
        }
        for (ssize_t sent = 0; sent < n;) {
          ssize_t w = ::send(fds[1 - i].fd, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
          if (w <= 0) {
            done = true;
            break;
          }
          sent += w;
        }
      }
    }
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
    std::lock_guard lock(mu_);
    std::erase(open_, std::pair<int, int>(a, b));
    ::close(a);
    ::close(b);
    cv_.notify_all();
  }

  uint16_t upstream_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<int, int>> open_;  // guarded by mu_
  std::vector<std::thread> pumps_;         // guarded by mu_
};

// A port nothing listens on: bound, read and released.
uint16_t FreedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = CountingProxy::Loopback(0);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---------------------------------------------------------------------------------------------
// The server side: a few routes that behave like the real API.

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = http::Router::Create(Routes());
    ASSERT_TRUE(router.ok()) << router.status().ToString();
    http::HttpServerOptions options;
    options.shutdown_grace = 1000ms;
    server_ = std::make_unique<http::HttpServer>(options, std::move(*router));
    ASSERT_TRUE(server_->Start().ok());
    proxy_ = std::make_unique<CountingProxy>(server_->port());
  }

  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    proxy_.reset();
    server_->Stop();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(proxy_->port()); }

  ApiClient MakeClient(ApiClientOptions options = {}) {
    if (options.server == ApiClientOptions{}.server) options.server = Url();
    options.backoff_ms = 1;
    auto client = ApiClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  int Calls(const std::string& key) {
    std::lock_guard lock(mu_);
    return calls_[key];
  }

  static http::Response Echo(const http::Request& r, const http::PathParams&) {
    auto header = [&](std::string_view name) -> Json {
      auto v = r.headers.Get(name);
      return v ? Json(std::string(*v)) : Json(nullptr);
    };
    return http::Response::Json(200, {{"method", r.method},
                                      {"target", r.target},
                                      {"body", r.body},
                                      {"content_type", header("Content-Type")},
                                      {"authorization", header("Authorization")},
                                      {"idempotency_key", header("Idempotency-Key")}});
  }

  static http::Problem CustomProblem(int status, std::string code, std::string detail) {
    http::Problem p;
    p.status = status;
    p.code = std::move(code);
    p.title = "Test problem";
    p.detail = std::move(detail);
    return p;
  }

  std::vector<http::Route> Routes() {
    auto counted = [this](std::string key) {
      std::lock_guard lock(mu_);
      return ++calls_[key];
    };
    std::vector<http::Route> routes = {
        {"GET", "/api/v1/hello", "hello", "", [](auto&, auto&) {
           return http::Response::Json(200, {{"hello", "world"}, {"n", 1}});
         }},
        {"GET", "/api/v1/echo", "echoGet", "", Echo},
        {"POST", "/api/v1/echo", "echoPost", "", Echo},
        {"PUT", "/api/v1/echo", "echoPut", "", Echo},
        {"DELETE", "/api/v1/echo", "echoDelete", "", Echo},
        {"GET", "/prefix/api/v1/echo", "echoPrefixed", "", Echo},
        {"GET", "/api/v1/pipelines/{name}", "getPipeline", "",
         [](auto&, const http::PathParams& p) {
           return http::Response(http::MakeProblem(http::codes::kNotFound,
                                                   fmt::format("pipeline '{}' does not exist", p.Get("name"))));
         }},
        {"POST", "/api/v1/pipelines", "createPipeline", "",
         [](const http::Request& r, auto&) -> http::Response {
           SLUICE_HTTP_ASSIGN_OR_RETURN(Json body, http::ParseJsonObject(r.body));
           http::JsonFieldReader fields(body);
           std::string name = fields.RequiredString("name");
           fields.RequiredInt("retries");
           if (auto problem = fields.Finish()) return *problem;
           if (name == "taken") return http::MakeProblem(http::codes::kAlreadyExists, "pipeline 'taken' exists");
           return http::Response::Json(201, {{"name", name}});
         },
         0, true},
        {"POST", "/api/v1/pipelines/{name}/start", "startPipeline", "",
         [](auto&, auto&) {
           return http::Response(http::MakeProblem(http::codes::kFailedPrecondition, "the pipeline is paused"));
         }},
        {"POST", "/api/v1/pipelines/{name}/commit", "commitPipeline", "",
         [](auto&, auto&) {
           return http::Response(http::MakeProblem(http::codes::kConflict, "a concurrent change won"));
         }},
        {"GET", "/api/v1/status/{code}", "status", "",
         [](auto&, const http::PathParams& p) {
           int code = std::stoi(std::string(p.Get("code")));
           if (code == 502) return http::Response::Text(502, "<html>bad gateway</html>");
           http::Problem problem = CustomProblem(code, "test_" + std::to_string(code), "status detail");
           if (code == 403) problem.With("permission", "pipelines.write");
           http::Response response(std::move(problem));
           if (code == 429) response.headers.Set("Retry-After", "7");
           return response;
         }},
        {"GET", "/api/v1/flaky/{id}", "flakyGet", "",
         [this, counted](auto&, const http::PathParams& p) {
           return Flaky(counted("GET " + std::string(p.Get("id"))));
         }},
        {"POST", "/api/v1/flaky/{id}", "flakyPost", "",
         [this, counted](auto&, const http::PathParams& p) {
           return Flaky(counted("POST " + std::string(p.Get("id"))));
         }},
        {"GET", "/api/v1/busy", "busy", "",
         [counted](auto&, auto&) {
           counted("busy");
           http::Response r(http::MakeProblem(http::codes::kUnavailable, "at capacity"));
           r.headers.Set("Retry-After", "3600");
           return r;
         }},
        {"GET", "/api/v1/items", "listItems", "",
         [counted](const http::Request& r, auto&) -> http::Response {
           counted("items");
           SLUICE_HTTP_ASSIGN_OR_RETURN(http::PageRequest page, http::ParsePageRequest(r));
           int start = 0;
           if (page.after) start = std::stoi(page.after->substr(5)) + 1;  // "item-07" -> 8
           Json items = Json::array();
           int i = start;
           for (; i < 25 && i < start + page.limit; ++i) items.push_back({{"name", fmt::format("item-{:02d}", i)}});
           std::optional<std::string> next;
           if (i < 25) next = fmt::format("item-{:02d}", i - 1);
           return http::PageResponse(std::move(items), next);
         }},
        {"GET", "/api/v1/odd-cursor", "oddCursor", "",
         [](const http::Request& r, auto&) -> http::Response {
           auto cursor = r.Query("cursor");
           if (!cursor) return http::Response::Json(200, {{"items", {1}}, {"next_cursor", "a+b/c=&d e%"}});
           if (*cursor != "a+b/c=&d e%") return http::FieldProblem(http::codes::kInvalidField, "cursor", "mangled");
           return http::Response::Json(200, {{"items", {2}}, {"next_cursor", nullptr}});
         }},
        {"GET", "/api/v1/loop", "loop", "",
         [](auto&, auto&) { return http::Response::Json(200, {{"items", {1}}, {"next_cursor", "again"}}); }},
        {"POST", "/api/v1/small", "small", "", [](auto&, auto&) { return http::Response::Empty(204); }, 16},
        {"GET", "/api/v1/slow", "slowGet", "", [this](auto&, auto&) { return Slow(); }},
        {"POST", "/api/v1/slow", "slowPost", "", [this](auto&, auto&) { return Slow(); }},
    };
    return routes;
  }

  // 503 with Retry-After: 0 on the first call, then 200.
  static http::Response Flaky(int call) {
    if (call == 1) {
      http::Response r(http::MakeProblem(http::codes::kUnavailable, "warming up"));
      r.headers.Set("Retry-After", "0");
      return r;
    }
    return http::Response::Json(200, {{"call", call}});
  }

  // Answers only once the test is over (bounded), so the client's timeout fires first.
  http::Response Slow() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return released_; });
    return http::Response::Json(200, {{"late", true}});
  }

  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<CountingProxy> proxy_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;                // guarded by mu_
  std::map<std::string, int> calls_;     // guarded by mu_
};

// ---------------------------------------------------------------------------------------------

TEST_F(ClientTest, JsonRoundTripThroughEveryHelper) {
  ApiClient client = MakeClient();
  Json sent = {{"name", "orders"}, {"tags", {"a", "b"}}, {"n", 3}, {"text", "grüße"}};

  auto post = client.Post("/api/v1/echo", sent);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->content_type, "application/json");
  EXPECT_EQ(post->json["method"], "POST");
  EXPECT_EQ(post->json["content_type"], "application/json");
  EXPECT_EQ(Json::parse(post->json["body"].get<std::string>()), sent);
  EXPECT_FALSE(post->request_id.empty());

  auto put = client.Put("/api/v1/echo", sent);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->json["method"], "PUT");
  EXPECT_EQ(Json::parse(put->json["body"].get<std::string>()), sent);

  auto del = client.Delete("/api/v1/echo");
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ(del->json["method"], "DELETE");
  EXPECT_EQ(del->json["body"], "");

  auto raw = client.PostRaw("/api/v1/echo", "{\"a\":1}\n{\"a\":2}\n", "application/x-ndjson");
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(raw->json["content_type"], "application/x-ndjson");
  EXPECT_EQ(raw->json["body"], "{\"a\":1}\n{\"a\":2}\n");

  auto get = client.Get("/api/v1/hello");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->json, Json({{"hello", "world"}, {"n", 1}}));
}

TEST_F(ClientTest, ServerUrlPrefixGoesInFrontOfEveryPath) {
  ApiClientOptions options;
  options.server = Url() + "/prefix/";
  ApiClient client = MakeClient(options);
  auto r = client.Get("/api/v1/echo?x=1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->json["target"], "/prefix/api/v1/echo?x=1");
}

TEST_F(ClientTest, KeepAliveUsesOneConnection) {
  ApiClient client = MakeClient();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client.Get("/api/v1/hello").ok());
    ASSERT_TRUE(client.Post("/api/v1/echo", {{"i", i}}).ok());
  }
  EXPECT_EQ(proxy_->accepted(), 1);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(ClientTest, ReconnectsWhenTheServerClosedTheConnection) {
  ApiClientOptions options;
  options.retries = 0;  // a closed keep-alive connection must not need a retry
  ApiClient client = MakeClient(options);
  ASSERT_TRUE(client.Get("/api/v1/hello").ok());
  proxy_->DropAll();
  auto get = client.Get("/api/v1/hello");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(proxy_->accepted(), 2);

  proxy_->DropAll();
  auto post = client.Post("/api/v1/echo", {{"after", "drop"}});
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_EQ(proxy_->accepted(), 3);
}

TEST_F(ClientTest, ReconnectsAfterAResponseThatClosesTheConnection) {
  ApiClient client = MakeClient();
  // 413 body_too_large: the server answers and closes (Connection: close).
  auto big = client.PostRaw("/api/v1/small", std::string(100, 'x'), "text/plain");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(big.status().message(), HasSubstr("request body too large"));
  auto get = client.Get("/api/v1/hello");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(proxy_->accepted(), 2);
}

TEST_F(ClientTest, ProblemsBecomeStatusesWithDetailFieldsAndRequestId) {
  ApiClient client = MakeClient();
  auto expect = [&](Result<ApiResponse> r, StatusCode code, std::vector<std::string> parts) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    for (const auto& part : parts) EXPECT_THAT(r.status().message(), HasSubstr(part));
  };
  expect(client.Get("/api/v1/pipelines/nope", {{"X-Request-Id", "req-404"}}), StatusCode::kNotFound,
         {"pipeline 'nope' does not exist", "(request id req-404)"});
  expect(client.Post("/api/v1/pipelines", Json::object(), {{"X-Request-Id", "req-400"}}),
         StatusCode::kInvalidArgument, {"name: ", "retries: ", "(request id req-400)"});
  expect(client.Post("/api/v1/pipelines", {{"name", "taken"}, {"retries", 1}}), StatusCode::kAlreadyExists,
         {"pipeline 'taken' exists", "(request id "});
  expect(client.Post("/api/v1/pipelines/x/start", Json::object()), StatusCode::kFailedPrecondition,
         {"the pipeline is paused"});
  expect(client.Post("/api/v1/pipelines/x/commit", Json::object()), StatusCode::kAborted,
         {"a concurrent change won"});
  expect(client.Get("/api/v1/status/401"), StatusCode::kFailedPrecondition, {"status detail", "sluice login"});
  expect(client.Get("/api/v1/status/403"), StatusCode::kFailedPrecondition,
         {"permission denied", "pipelines.write"});
  expect(client.Get("/api/v1/status/422"), StatusCode::kInvalidArgument, {"status detail"});
  expect(client.Get("/api/v1/status/429"), StatusCode::kUnavailable, {"rate limited", "retry after 7 s"});
  expect(client.Get("/api/v1/status/500"), StatusCode::kInternal, {"status detail", "(request id "});
  expect(client.Get("/api/v1/status/502"), StatusCode::kUnavailable, {"HTTP 502", "bad gateway"});
  expect(client.Get("/api/v1/no-such-route"), StatusCode::kNotFound, {"(request id "});

  // The raw response keeps the problem for a caller who wants to print it.
  auto raw = client.Request("GET", "/api/v1/pipelines/nope");
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(raw->status, 404);
  EXPECT_EQ(raw->content_type, "application/problem+json");
  EXPECT_EQ(raw->json["code"], "not_found");
  EXPECT_EQ(raw->json["request_id"], raw->request_id);
  Status status = StatusFromResponse(*raw);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("(request id " + raw->request_id + ")"));
  // A one-field problem does not repeat its field in the message.
  auto typo = client.Request("POST", "/api/v1/pipelines", R"({"name":"a","retries":1,"retires":2})");
  ASSERT_TRUE(typo.ok());
  std::string message = StatusFromResponse(*typo).message();
  EXPECT_THAT(message, HasSubstr("retires"));
  EXPECT_EQ(message.find("retires"), message.rfind("retires")) << message;
}

TEST_F(ClientTest, RetriesGetOn503WithRetryAfterButNotPost) {
  ApiClient client = MakeClient();
  auto get = client.Get("/api/v1/flaky/a");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->json["call"], 2);
  EXPECT_EQ(Calls("GET a"), 2);

  auto post = client.Post("/api/v1/flaky/a", Json::object());
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(post.status().message(), HasSubstr("warming up"));
  EXPECT_EQ(Calls("POST a"), 1);

  // An Idempotency-Key makes a POST safe to repeat.
  auto keyed = client.Post("/api/v1/flaky/b", Json::object(), {{"Idempotency-Key", "k-1"}});
  ASSERT_TRUE(keyed.ok()) << keyed.status().ToString();
  EXPECT_EQ(Calls("POST b"), 2);
}

TEST_F(ClientTest, DoesNotRetryBeyondItsBounds) {
  ApiClient client = MakeClient();
  auto busy = client.Get("/api/v1/busy");  // Retry-After: 3600 is longer than max_retry_after_ms
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(busy.status().message(), HasSubstr("retry after 3600 s"));
  EXPECT_EQ(Calls("busy"), 1);

  ApiClientOptions options;
  options.retries = 0;
  ApiClient no_retries = MakeClient(options);
  EXPECT_FALSE(no_retries.Get("/api/v1/flaky/c").ok());
  EXPECT_EQ(Calls("GET c"), 1);
}

TEST_F(ClientTest, ListAllFollowsCursorsToTheEnd) {
  ApiClient client = MakeClient();
  auto items = client.ListAll("/api/v1/items", 10);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ((*items)[i]["name"], fmt::format("item-{:02d}", i));
  EXPECT_EQ(Calls("items"), 3);

  auto sevens = client.ListAll("/api/v1/items?label=x", 7);  // a path with its own query
  ASSERT_TRUE(sevens.ok()) << sevens.status().ToString();
  EXPECT_EQ(sevens->size(), 25u);
  EXPECT_EQ(Calls("items"), 3 + 4);

  auto odd = client.ListAll("/api/v1/odd-cursor");  // the cursor must be URL-encoded
  ASSERT_TRUE(odd.ok()) << odd.status().ToString();
  EXPECT_EQ(Json(*odd), Json({1, 2}));

  auto loop = client.ListAll("/api/v1/loop");
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.status().code(), StatusCode::kInternal);
  EXPECT_THAT(loop.status().message(), HasSubstr("twice"));

  EXPECT_EQ(client.ListAll("/api/v1/items", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client.ListAll("/api/v1/hello").status().code(), StatusCode::kIoError);
}

TEST_F(ClientTest, SendsTheBearerToken) {
  ApiClientOptions options;
  options.token = "s3cret-token";
  ApiClient client = MakeClient(options);
  auto r = client.Get("/api/v1/echo");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->json["authorization"], "Bearer s3cret-token");

  ApiClient anonymous = MakeClient();
  auto a = anonymous.Get("/api/v1/echo");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->json["authorization"].is_null());
}

TEST_F(ClientTest, ConnectionRefusedNamesTheServerAndHowToFixIt) {
  uint16_t port = FreedPort();
  ApiClientOptions options;
  options.server = "http://127.0.0.1:" + std::to_string(port);
  ApiClient client = MakeClient(options);
  for (const char* method : {"GET", "POST"}) {
    auto r = client.Request(method, "/api/v1/hello", std::nullopt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(r.status().message(), HasSubstr("cannot reach the Sluice server at " + options.server));
    EXPECT_THAT(r.status().message(), HasSubstr("is `sluice serve` running? (--server or SLUICE_SERVER)"));
  }
}

TEST_F(ClientTest, TimeoutsRetryIdempotentRequestsOnly) {
  ApiClientOptions options;
  options.timeout_ms = 300;
  options.retries = 1;
  ApiClient get_client = MakeClient(options);
  auto get = get_client.Get("/api/v1/slow");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(get.status().message(), HasSubstr("did not answer GET /api/v1/slow within 300 ms"));
  EXPECT_EQ(get_client.connections_opened(), 2);

  ApiClient post_client = MakeClient(options);
  auto post = post_client.Post("/api/v1/slow", Json::object());
  ASSERT_FALSE(post.ok());
  EXPECT_THAT(post.status().message(), HasSubstr("may or may not have been applied"));
  EXPECT_EQ(post_client.connections_opened(), 1);
}

TEST(ApiClientValues, ParseServerUrl) {
  auto u = ParseServerUrl("http://localhost:9000/base/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->prefix, "/base");
  EXPECT_EQ(u->ToString(), "http://localhost:9000/base");

  auto bare = ParseServerUrl("127.0.0.1");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->prefix, "");

  auto v6 = ParseServerUrl("http://[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "http://[::1]:8080");

  EXPECT_FALSE(u->tls);

  auto tls = ParseServerUrl("HTTPS://sluice.example.com/p");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, 443);
  EXPECT_EQ(tls->ToString(), "https://sluice.example.com:443/p");
  EXPECT_EQ(ParseServerUrl("https://[::1]:8443")->ToString(), "https://[::1]:8443");
  for (const char* bad : {"http://", "http://:80", "http://h:0", "http://h:99999", "http://h:x", "ftp://h",
                          "http://u:p@h", "http://h/?q", "http://[::1", "https://", "https://h:0"}) {
    EXPECT_FALSE(ParseServerUrl(bad).ok()) << bad;
  }
  auto ftp = ParseServerUrl("ftp://h");
  EXPECT_THAT(ftp.status().message(), HasSubstr("the scheme must be http:// or https://"));
  ApiClientOptions tls_options;
  tls_options.server = "https://x";
  EXPECT_TRUE(ApiClient::Create(tls_options).ok()) << "https needs no CA file (the system's store)";
}

TEST(ApiClientValues, UrlEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(UrlEncode("abc-._~XYZ09"), "abc-._~XYZ09");
  EXPECT_EQ(UrlEncode("a+b/c=&d e%"), "a%2Bb%2Fc%3D%26d%20e%25");
  EXPECT_EQ(UrlEncode("\xc3\xbc"), "%C3%BC");
}

TEST(ApiClientValues, StatusFromResponseWithoutProblem) {
  ApiResponse ok;
  ok.status = 204;
  EXPECT_TRUE(StatusFromResponse(ok).ok());
  ApiResponse bare;
  bare.status = 504;
  EXPECT_EQ(StatusFromResponse(bare).code(), StatusCode::kUnavailable);
  EXPECT_THAT(StatusFromResponse(bare).message(), HasSubstr("HTTP 504"));
}

// ---------------------------------------------------------------------------------------------
// ClientConfig

class ClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"SLUICE_CONFIG", "SLUICE_SERVER", "SLUICE_TOKEN", "SLUICE_CA_CERT", "HOME"}) {
      const char* v = std::getenv(name);
      saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
      ::unsetenv(name);
    }
    char tmpl[] = "/tmp/sluice-client-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
    std::filesystem::remove_all(dir_);
  }
  void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::string dir_;
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST_F(ClientConfigTest, FileThenEnvironmentThenFlags) {
  std::string path = dir_ + "/client.json";
  Write(path, R"({"server": "http://file:1", "token": "file-token"})");
  ::setenv("SLUICE_CONFIG", path.c_str(), 1);

  auto from_file = ClientConfig::Resolve();
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->server, "http://file:1");
  EXPECT_EQ(from_file->token, "file-token");

  ::setenv("SLUICE_SERVER", "http://env:2", 1);
  auto from_env = ClientConfig::Resolve();
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->server, "http://env:2");
  EXPECT_EQ(from_env->token, "file-token");
  ::setenv("SLUICE_TOKEN", "env-token", 1);
  EXPECT_EQ(ClientConfig::Resolve()->token, "env-token");

  ClientFlags flags;
  flags.server = "http://flag:3";
  flags.token = "flag-token";
  auto from_flags = ClientConfig::Resolve(flags);
  ASSERT_TRUE(from_flags.ok());
  EXPECT_EQ(from_flags->server, "http://flag:3");
  EXPECT_EQ(from_flags->token, "flag-token");
  ApiClientOptions options = from_flags->ToOptions();
  EXPECT_EQ(options.server, "http://flag:3");
  EXPECT_EQ(options.token, "flag-token");
}

TEST_F(ClientConfigTest, CaFileFromFileThenEnvironmentThenFlag) {
  std::string path = dir_ + "/client.json";
  Write(path, R"({"server": "https://file:1", "ca_file": "/file/ca.pem"})");
  ::setenv("SLUICE_CONFIG", path.c_str(), 1);
  EXPECT_EQ(ClientConfig::Resolve()->ca_file, "/file/ca.pem");
  ::setenv("SLUICE_CA_CERT", "/env/ca.pem", 1);
  EXPECT_EQ(ClientConfig::Resolve()->ca_file, "/env/ca.pem");
  ClientFlags flags;
  flags.ca_file = "/flag/ca.pem";
  auto resolved = ClientConfig::Resolve(flags);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->ca_file, "/flag/ca.pem");
  EXPECT_EQ(resolved->ToOptions().ca_file, "/flag/ca.pem");
  // Saved and loaded back like the other members.
  ClientConfig saved;
  saved.server = "https://saved:4";
  saved.ca_file = "/saved/ca.pem";
  ASSERT_TRUE(saved.Save(path).ok());
  EXPECT_EQ(ClientConfig::Load(path)->ca_file, "/saved/ca.pem");
}

TEST_F(ClientConfigTest, DefaultsWithoutAFile) {
  ::setenv("HOME", dir_.c_str(), 1);
  auto path = ClientConfig::DefaultPath();
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, dir_ + "/.config/sluice/client.json");
  auto config = ClientConfig::Resolve();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "http://127.0.0.1:8080");
  EXPECT_EQ(config->token, "");
}

TEST_F(ClientConfigTest, SaveWritesMode0600AndLoadsBack) {
  ::setenv("HOME", dir_.c_str(), 1);
  std::string path = *ClientConfig::DefaultPath();  // the directory does not exist yet
  ::umask(022);
  ClientConfig config{.server = "http://saved:4", .token = "saved-token"};
  ASSERT_TRUE(config.Save(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto loaded = ClientConfig::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->server, "http://saved:4");
  EXPECT_EQ(loaded->token, "saved-token");
  // Overwriting keeps the mode, and leaves no temp file behind.
  config.token = "rotated";
  ASSERT_TRUE(config.Save(path).ok());
  EXPECT_EQ(ClientConfig::Load(path)->token, "rotated");
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(ClientConfigTest, BadFilesAreErrorsNamingThePath) {
  std::string path = dir_ + "/client.json";
  Write(path, "{not json");
  auto bad = ClientConfig::Load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr(path));

  Write(path, R"({"server": "http://x:1", "tokne": "t"})");
  auto typo = ClientConfig::Load(path);
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("unknown member 'tokne'"));

  Write(path, R"({"server": 8080})");
  EXPECT_FALSE(ClientConfig::Load(path).ok());
  ClientFlags flags;
  flags.config_path = path;
  EXPECT_FALSE(ClientConfig::Resolve(flags).ok());
}

}  // namespace
}  // namespace sluice::client
