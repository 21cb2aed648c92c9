// Authentication and the rate limits are decided on a request's headers, before its body is read.
// The `sluice serve` stack runs in-process — HttpServer, the /api/v1 router, the AuthService over a
// SQLite metadata store — on 127.0.0.1, driven by raw sockets: 200 anonymous connections each
// announce a 64 MiB ingest body and trickle it; each gets its 401 and is closed with its body
// unread, the process's resident memory stays flat, and authenticated clients are served
// meanwhile. An authenticated request over the route's limit gets its 413 before any body byte is
// sent.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/control/api/api.h"
#include "sluice/control/auth/auth_service.h"
#include "sluice/control/http/server.h"

namespace sluice::api {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr int kAnonymous = 200;
constexpr int64_t kIngestLimit = 64ll << 20;  // the ingest route's default body limit
constexpr size_t kTrickleBytes = 1024;        // sent by each anonymous client every tick
constexpr auto kTick = 10ms;
const std::string kPassword = "pw-of-alice-0123456789";

// VmRSS of this process — the server's — in bytes.
int64_t ResidentBytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmRSS:  1234 kB"
  }
  return -1;
}

// A socket connected from `source` (a 127/8 address) to the server; -1 on failure.
int ConnectFrom(const std::string& source, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until the server closes the connection (true) or `deadline` passes (false).
bool ReadUntilClosed(int fd, SteadyClock::time_point deadline, std::string& received) {
  char buf[16384];
  while (SteadyClock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
    received.append(buf, static_cast<size_t>(n));
  }
  return false;
}

// The status of a response's text, 0 when it has none yet.
int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

// The problem code of a complete response ("" without one).
std::string CodeOf(const std::string& response) {
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return "";
  const json j = json::parse(response.substr(body + 4), nullptr, false);
  return j.is_object() ? j.value("code", "") : "";
}

// One request on a fresh connection from 127.0.0.1 (it carries Connection: close); the response's
// text, read until the server closes ("" when it does not within 10 s).
std::string Exchange(uint16_t port, const std::string& request) {
  const int fd = ConnectFrom("127.0.0.1", port);
  if (fd < 0) return "";
  std::string received;
  const bool closed = SendAll(fd, request) && ReadUntilClosed(fd, SteadyClock::now() + 10s, received);
  ::close(fd);
  return closed ? received : "";
}

std::string Head(const std::string& method, const std::string& target, const std::string& extra) {
  return method + " " + target + " HTTP/1.1\r\nHost: sluice\r\n" + extra + "\r\n";
}

class Admission : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice_admission_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const Clock& clock = SystemClock::Get();
    auto store = metadata::MetadataStore::Open("sqlite:" + (dir_ / "meta.db").string(), &clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auth::AuthOptions ao;
    ao.password_cost = {1, 1024, 1};
    // Every anonymous request must reach its 401 (the failure budget would answer 429 instead).
    ao.failures_per_second = 1e6;
    auth_ = std::make_unique<auth::AuthService>(*store_, std::string(32, 's'), clock, ao);
    ASSERT_TRUE(auth_->CreateUser("alice", kPassword, false, "test").ok());
    ASSERT_TRUE(store_->identity().PutRoleBinding({"user:alice", "*", "admin", "test", 0}).ok());
    auto token = auth_->CreateApiToken("user:alice", "ci", 30, "test");
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    bearer_ = "Authorization: Bearer " + token->token + "\r\n";

    ApiOptions options;
    options.workdir = dir_.string();
    options.clock = &clock;
    ctx_ = std::make_unique<ApiContext>(*store_, options);
    ctx_->auth = auth_.get();
    auto router = BuildRouter(*ctx_);
    ASSERT_TRUE(router.ok()) << router.status().ToString();
    server_ = std::make_unique<http::HttpServer>(http::HttpServerOptions{}, std::move(*router));
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    ctx_.reset();
    auth_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string Ingest(const std::string& body) {
    return Exchange(port_, Head("POST", "/api/v1/ingest/clicks",
                                bearer_ + "Content-Type: application/x-ndjson\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\nConnection: close\r\n") +
                               body);
  }

  fs::path dir_;
  std::unique_ptr<metadata::MetadataStore> store_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<ApiContext> ctx_;
  std::unique_ptr<http::HttpServer> server_;
  uint16_t port_ = 0;
  std::string bearer_;
};

// An anonymous client that announced a 64 MiB body and trickles it.
struct Anonymous {
  int fd = -1;
  std::string received;
  int64_t body_sent = 0;
  int64_t body_sent_at_answer = -1;  // when the first response byte arrived
  bool closed = false;
};

TEST_F(Admission, AnonymousBodiesAreRefusedOnTheirHeadersAndNeverRead) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlim_t needed = 2 * kAnonymous + 256;
  if (limit.rlim_cur < needed) {
    ASSERT_GE(limit.rlim_max, needed) << "the hard limit on open files is too low for this test";
    limit.rlim_cur = needed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  // Warm up (allocator arenas, the first ingest topic) so the baseline is the steady state.
  ASSERT_EQ(StatusOf(Ingest("{\"id\": 0}\n")), 200);
  const int64_t rss_before = ResidentBytes();
  ASSERT_GT(rss_before, 0);

  // From 127.0.0.2 ... 127.0.0.5: under the per-address connection cap of 128.
  std::vector<Anonymous> clients(kAnonymous);
  const std::string head = Head("POST", "/api/v1/ingest/clicks",
                                "Content-Type: application/x-ndjson\r\nContent-Length: " +
                                    std::to_string(kIngestLimit) + "\r\n");
  for (int i = 0; i < kAnonymous; ++i) {
    clients[i].fd = ConnectFrom("127.0.0." + std::to_string(2 + i % 4), port_);
    ASSERT_GE(clients[i].fd, 0) << "client " << i << ": " << std::strerror(errno);
    ASSERT_TRUE(SendAll(clients[i].fd, head));
  }

  // Authenticated clients are served meanwhile; the login route stays public.
  auto served = std::async(std::launch::async, [this] {
    std::vector<std::string> failures;
    for (int i = 0; i < 20; ++i) {
      std::string r = Ingest("{\"id\": " + std::to_string(i + 1) + "}\n");
      if (StatusOf(r) != 200) failures.push_back("ingest: " + r);
      r = Exchange(port_, Head("GET", "/api/v1/auth/whoami", bearer_ + "Connection: close\r\n"));
      if (StatusOf(r) != 200) failures.push_back("whoami: " + r);
    }
    const std::string login = json{{"grant_type", "password"}, {"username", "alice"}, {"password", kPassword}}.dump();
    std::string r = Exchange(port_, Head("POST", "/api/v1/auth/token",
                                         "Content-Type: application/json\r\nContent-Length: " +
                                             std::to_string(login.size()) + "\r\nConnection: close\r\n") +
                                        login);
    if (StatusOf(r) != 200) failures.push_back("login: " + r);
    r = Exchange(port_, Head("GET", "/api/v1/health", "Connection: close\r\n"));
    if (StatusOf(r) != 200) failures.push_back("health: " + r);
    return failures;
  });

  // Every client trickles its body until the server has answered and closed its connection.
  const std::string chunk(kTrickleBytes, 'x');
  int64_t rss_peak = rss_before;
  const auto deadline = SteadyClock::now() + 30s;
  auto next_tick = SteadyClock::now();
  int open = kAnonymous;
  for (int round = 0; open > 0 && SteadyClock::now() < deadline; ++round) {
    std::vector<pollfd> fds;
    std::vector<Anonymous*> of;
    for (auto& c : clients) {
      if (c.closed) continue;
      fds.push_back({c.fd, POLLIN, 0});
      of.push_back(&c);
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(kTick.count()));
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Anonymous& c = *of[i];
      char buf[4096];
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        if (c.received.empty()) c.body_sent_at_answer = c.body_sent;
        c.received.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        c.closed = true;
        --open;
      }
    }
    if (SteadyClock::now() >= next_tick) {
      next_tick += kTick;
      for (auto& c : clients) {
        if (c.closed) continue;
        const ssize_t n = ::send(c.fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) c.body_sent += n;
      }
    }
    if (round % 10 == 0) rss_peak = std::max(rss_peak, ResidentBytes());
  }
  rss_peak = std::max(rss_peak, ResidentBytes());

  int refused = 0;
  int64_t most_sent = 0;
  for (int i = 0; i < kAnonymous; ++i) {
    Anonymous& c = clients[i];
    ::close(c.fd);
    EXPECT_TRUE(c.closed) << "client " << i << ": the server did not close the connection";
    EXPECT_EQ(StatusOf(c.received), 401) << "client " << i << ": " << c.received.substr(0, 200);
    EXPECT_EQ(CodeOf(c.received), "unauthenticated") << "client " << i;
    EXPECT_NE(c.received.find("Connection: close"), std::string::npos) << "client " << i;
    // Answered on its headers: at most a few ticks' worth of body had been sent.
    EXPECT_GE(c.body_sent_at_answer, 0) << "client " << i;
    EXPECT_LT(c.body_sent_at_answer, 1 << 20) << "client " << i;
    most_sent = std::max(most_sent, c.body_sent);
    refused += StatusOf(c.received) == 401;
  }
  EXPECT_EQ(refused, kAnonymous);
  EXPECT_LT(most_sent, kIngestLimit / 16) << "the connections were closed long before their bodies were sent";
#ifndef __SANITIZE_ADDRESS__  // AddressSanitizer's shadow memory and quarantine are not the server's
  EXPECT_LT(rss_peak - rss_before, 50ll << 20)
      << "resident memory grew from " << rss_before << " to " << rss_peak << " bytes";
#endif

  ASSERT_EQ(served.wait_for(60s), std::future_status::ready);
  for (const auto& failure : served.get()) ADD_FAILURE() << failure.substr(0, 300);
}

TEST_F(Admission, AnOversizedBodyIsRefusedBeforeItIsSentAndOnlyOnceAuthenticated) {
  const std::string oversized = "Content-Type: application/x-ndjson\r\nContent-Length: " +
                                std::to_string(kIngestLimit + 1) + "\r\nConnection: close\r\n";
  // No body byte is ever sent: an answer proves the server did not wait for one.
  std::string r = Exchange(port_, Head("POST", "/api/v1/ingest/clicks", bearer_ + oversized));
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_EQ(CodeOf(r), "body_too_large") << r;
  // Without credentials the same request is a 401: nobody learns the limits of a route before
  // authenticating.
  r = Exchange(port_, Head("POST", "/api/v1/ingest/clicks", oversized));
  EXPECT_EQ(StatusOf(r), 401) << r;
  EXPECT_EQ(CodeOf(r), "unauthenticated") << r;
  // A client that waits for 100-continue gets the refusal instead.
  r = Exchange(port_, Head("POST", "/api/v1/ingest/clicks",
                           "Expect: 100-continue\r\nContent-Type: application/x-ndjson\r\nContent-Length: 10\r\n"
                           "Connection: close\r\n"));
  EXPECT_EQ(StatusOf(r), 401) << r;
  EXPECT_EQ(r.find("100 Continue"), std::string::npos) << r;
  // A wrong media type on the ingest route is refused on the headers too.
  r = Exchange(port_, Head("POST", "/api/v1/ingest/clicks",
                           bearer_ + "Content-Type: text/csv\r\nContent-Length: 1000000\r\nConnection: close\r\n"));
  EXPECT_EQ(StatusOf(r), 415) << r;
  // A refused request without a body keeps its connection: the next request on it is served.
  const int fd = ConnectFrom("127.0.0.1", port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, Head("GET", "/api/v1/auth/whoami", "") +
                              Head("GET", "/api/v1/auth/whoami", bearer_ + "Connection: close\r\n")));
  std::string both;
  EXPECT_TRUE(ReadUntilClosed(fd, SteadyClock::now() + 10s, both));
  ::close(fd);
  EXPECT_EQ(StatusOf(both), 401) << both;
  const size_t second = both.find("HTTP/1.1 ", 1);
  ASSERT_NE(second, std::string::npos) << both;
  EXPECT_EQ(StatusOf(both.substr(second)), 200) << both;
}

}  // namespace
}  // namespace sluice::api
