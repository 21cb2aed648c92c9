// The server over real sockets, its connections: keep-alive and close, HEAD, slow and silent
// clients timed out while others are served, the cap per address, 100-continue, a graceful stop.
#include <chrono>
#include <future>
#include <set>

#include <gtest/gtest.h>

#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/server_test_util.h"
#include "sluice/control/http/json_body.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http::testing {
namespace {

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

}  // namespace
}  // namespace sluice::http::testing
