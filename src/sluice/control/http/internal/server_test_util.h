// For tests only: what the HTTP server tests share — a raw HTTP/1.1 client (exactly the bytes a
// test chooses, and a parser for what comes back; it can also misbehave: stall, overflow,
// flood), request builders, a bounded poll, the check of a problem response, the routes the
// server tests drive and the fixture that serves them on 127.0.0.1 with an ephemeral port.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/text.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

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
      if (rc == 0) return true;  // EOF / reset
      if (rc < 0) return false;  // timeout
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

inline std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: t\r\n{}\r\n", target, extra_headers);
}

inline std::string Post(std::string_view target, std::string_view body,
                        std::string_view content_type = "application/json") {
  return fmt::format("POST {} HTTP/1.1\r\nHost: t\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{}", target,
                     content_type, body.size(), body);
}

// Polls `cond` until it holds or the deadline passes (no sleeps as synchronization).
template <typename F>
inline bool Eventually(F cond, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

inline void ExpectProblem(const RawResponse& r, int status, std::string_view code) {
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

// The routes the server tests use.

inline const std::vector<std::string> kPipelineNames = {"alpha", "bravo", "charlie", "delta", "echo"};

struct TestHooks {
  std::atomic<bool> slow_entered{false};
  std::promise<void> slow_release;
  std::shared_future<void> slow_released = slow_release.get_future().share();
};

inline std::vector<Route> TestRoutes(TestHooks* hooks) {
  std::vector<Route> routes;
  routes.push_back(
      {"GET", "/api/v1/echo/{name}/versions/{version}", "echo", "pipelines.read",
       [](const Request& req, const PathParams& p) {
         Json q = Json::object();
         for (const auto& [k, v] : req.query) q[k] = v;
         return Response::Json(
             200,
             {{"name", p.Get("name")}, {"version", p.Get("version")}, {"query", q}, {"request_id", req.request_id}});
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
  routes.push_back({"GET", "/api/v1/boom", "boom", "admin", [](const Request&, const PathParams&) -> Response {
                      throw std::runtime_error("password=hunter2 in /etc/sluice/secret");
                    }});
  routes.push_back({"GET", "/api/v1/disk", "disk", "admin", [](const Request&, const PathParams&) -> Response {
                      Result<int> r = Status::IoError("fsync /var/lib/sluice/meta.db: EIO");
                      SLUICE_HTTP_ASSIGN_OR_RETURN(int v, std::move(r));
                      return Response::Text(200, std::to_string(v));
                    }});
  Route ingest{"POST", "/api/v1/ingest/{stream}", "ingest", "ingest.write", [](const Request& req, const PathParams&) {
                 return Response::Json(200, {{"bytes", req.body.size()}});
               }};
  ingest.max_body_bytes = 1024;
  routes.push_back(std::move(ingest));
  routes.push_back({"GET", "/api/v1/slow", "slow", "admin", [hooks](const Request&, const PathParams&) {
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

}  // namespace sluice::http::testing
