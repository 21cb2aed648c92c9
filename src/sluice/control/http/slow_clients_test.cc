// 1,000 slow connections (slow headers, slow bodies) do not stop normal requests from being
// served. The slow clients run on one io thread of the test, each sending a byte every 100 ms
// from source addresses 127.0.0.2 ... 127.0.0.20 (Linux routes all of 127/8 to loopback), so the
// per-address connection cap is exercised too; a normal client on 127.0.0.1 makes up to 200 requests
// meanwhile.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/test_routes.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using namespace std::chrono_literals;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr int kSlowClients = 1000;
constexpr int kCapPerAddress = 64;
// 127.0.0.2 opens more connections than the cap allows; 127.0.0.3 ... 127.0.0.20 stay under it.
constexpr int kOnCrowdedAddress = 100;
constexpr int kOtherAddresses = 18;
constexpr auto kTick = 100ms;
// header_timeout and body_timeout: a normal request blocked behind the slow clients would take
// this long. The normal requests run within half of it (the slow clients must still be held when
// they end).
constexpr auto kServerTimeout = 8000ms;

// One slow client. Its handlers run on the load thread only, so it needs no lock; the test reads
// the results after that thread has stopped.
struct SlowClient : std::enable_shared_from_this<SlowClient> {
  enum class Kind { kSlowHeader, kSlowBody };

  SlowClient(net::io_context& ioc, Kind kind, std::string source)
      : kind(kind), source(std::move(source)), socket(ioc), timer(ioc) {}

  void Start(uint16_t port, std::chrono::milliseconds first_tick) {
    beast::error_code ec;
    socket.open(tcp::v4(), ec);
    // The source address must be chosen before connecting.
    if (!ec) socket.bind(tcp::endpoint(net::ip::make_address_v4(source), 0), ec);
    if (ec) return Finish(ec);
    // The server accepts after this, so its deadlines for this connection run from later still.
    connect_started_at = Clock::now();
    socket.async_connect(
        tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port),
        [self = shared_from_this(), first_tick](beast::error_code ec) {
          if (ec) return self->Finish(ec);
          self->connected_at = Clock::now();
          self->Read();
          if (self->kind == Kind::kSlowBody) {
            // Complete headers at once; then the body a byte at a time.
            self->script =
                "POST /api/v1/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n";
            self->SendNow();
          }
          self->Tick(first_tick);
        });
  }

  void Read() {
    socket.async_read_some(net::buffer(chunk),
                           [self = shared_from_this()](beast::error_code ec, size_t n) {
                             if (n > 0) {
                               if (self->received.empty()) self->first_byte_at = Clock::now();
                               self->received.append(self->chunk.data(), n);
                             }
                             if (ec) return self->Finish(ec);
                             self->Read();
                           });
  }

  // The next byte after `delay`, as long as the server has not answered.
  void Tick(std::chrono::milliseconds delay) {
    timer.expires_after(delay);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->done || !self->received.empty()) return;
      self->script = self->kind == Kind::kSlowHeader ? std::string(1, self->NextHeaderByte()) : "x";
      self->SendNow();
      self->Tick(std::chrono::duration_cast<std::chrono::milliseconds>(kTick));
    });
  }

  // The header is never finished: after the request line and Host, an endless header value.
  char NextHeaderByte() {
    static const std::string kPrefix = "GET /api/v1/hello HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    return header_bytes < kPrefix.size() ? kPrefix[header_bytes++] : 'a';
  }

  void SendNow() {
    auto data = std::make_shared<std::string>(std::move(script));
    net::async_write(socket, net::buffer(*data), [data](beast::error_code, size_t) {
      // A failed write shows up as the read side closing.
    });
  }

  void Finish(beast::error_code ec) {
    if (done) return;
    done = true;
    error = ec;
    closed_at = Clock::now();
    timer.cancel();
    beast::error_code ignored;
    socket.close(ignored);
  }

  // "408" for "HTTP/1.1 408 ...", or "" before an answer.
  std::string ResponseStatus() const { return received.size() >= 12 ? received.substr(9, 3) : ""; }

  const Kind kind;
  const std::string source;
  tcp::socket socket;
  net::steady_timer timer;
  std::array<char, 1024> chunk;
  std::string script;
  size_t header_bytes = 0;
  std::string received;
  bool done = false;
  beast::error_code error;  // eof when the server closed the connection
  Clock::time_point connect_started_at;
  std::optional<Clock::time_point> connected_at, first_byte_at, closed_at;
};

// The slow clients and the thread they run on.
class SlowLoad {
 public:
  SlowLoad() : work_(ioc_.get_executor()) {}
  ~SlowLoad() { Stop(); }

  void Start(uint16_t port) {
    for (int i = 0; i < kSlowClients; ++i) {
      std::string source =
          i < kOnCrowdedAddress
              ? "127.0.0.2"
              : fmt::format("127.0.0.{}", 3 + (i - kOnCrowdedAddress) % kOtherAddresses);
      auto kind = i % 2 == 0 ? SlowClient::Kind::kSlowHeader : SlowClient::Kind::kSlowBody;
      clients_.push_back(std::make_shared<SlowClient>(ioc_, kind, source));
    }
    thread_ = std::thread([this] { ioc_.run(); });
    net::post(ioc_, [this, port] {
      // Spread the ticks over the period so the bytes do not all arrive at once.
      for (size_t i = 0; i < clients_.size(); ++i) {
        clients_[i]->Start(port, std::chrono::milliseconds(i % 100));
      }
    });
  }

  // Runs `f(clients)` on the load thread and returns its result.
  template <typename F>
  auto Inspect(F f) {
    std::packaged_task<decltype(f(clients_))()> task([&] { return f(clients_); });
    auto result = task.get_future();
    net::post(ioc_, [&task] { task(); });
    return result.get();
  }

  // Polls `cond(clients)` on the load thread until it holds or `timeout` passes.
  template <typename F>
  bool WaitFor(F cond, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (Inspect(cond)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return Inspect(cond);
  }

  void Stop() {
    if (!thread_.joinable()) return;
    net::post(ioc_, [this] {
      for (auto& c : clients_) c->Finish(net::error::operation_aborted);
    });
    work_.reset();
    thread_.join();
  }

  // Only after Stop.
  const std::vector<std::shared_ptr<SlowClient>>& clients() const { return clients_; }

 private:
  net::io_context ioc_{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::shared_ptr<SlowClient>> clients_;
  std::thread thread_;
};

// One GET on a new connection from 127.0.0.1; the status (0 if none came within the timeout).
int TimedGet(uint16_t port, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  bhttp::request<bhttp::empty_body> request(bhttp::verb::get, "/api/v1/hello", 11);
  request.set(bhttp::field::host, "t");
  request.keep_alive(false);
  bhttp::response<bhttp::string_body> response;
  beast::error_code result = net::error::would_block;
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port),
                       [&](beast::error_code ec) {
                         if (ec) {
                           result = ec;
                           return;
                         }
                         bhttp::async_write(stream, request, [&](beast::error_code ec, size_t) {
                           if (ec) {
                             result = ec;
                             return;
                           }
                           bhttp::async_read(stream, buffer, response,
                                             [&](beast::error_code ec, size_t) { result = ec; });
                         });
                       });
  ioc.run();
  return result ? 0 : static_cast<int>(response.result_int());
}

TEST(SlowClientsTest, AThousandSlowConnectionsDoNotStopNormalRequests) {
  // Two descriptors per connection (client and server side) in this process.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlim_t needed = 2 * kSlowClients + 512;
  if (limit.rlim_cur < needed) {
    ASSERT_GE(limit.rlim_max, needed) << "the hard limit on open files is too low for this test";
    limit.rlim_cur = std::min(limit.rlim_max, static_cast<rlim_t>(20000));
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }

  auto router = testing::HelloUploadRouter("world");
  ASSERT_TRUE(router.ok()) << router.status().ToString();
  HttpServerOptions options;
  options.io_threads = 2;
  options.header_timeout = kServerTimeout;
  options.body_timeout = kServerTimeout;
  options.max_connections = 4096;
  options.max_connections_per_address = kCapPerAddress;
  HttpServer server(options, std::move(*router));
  ASSERT_TRUE(server.Start().ok());

  const auto test_start = Clock::now();
  SlowLoad load;
  load.Start(server.port());
  // Every slow client is connected before the first normal request: the normal client's
  // connections then queue behind them at the server's acceptor.
  ASSERT_TRUE(load.WaitFor(
      [](const auto& clients) {
        return std::all_of(clients.begin(), clients.end(),
                           [](const auto& c) { return c->connected_at.has_value(); });
      },
      10000ms))
      << "the slow clients could not all connect";
  const auto load_connected = Clock::now();
  // The first request waits in the listen queue behind the burst of slow connections; once it is
  // answered the server has accepted them all, and the timed requests measure the steady state.
  ASSERT_EQ(TimedGet(server.port(), 5000ms), 200) << "no answer behind the slow connections";

  // Up to 200 requests, within half the server's timeout: the slow clients must still be held
  // when they end. A slow machine (or the sanitizers) makes fewer, never fewer than 50.
  std::vector<double> latencies_ms;
  int ok = 0;
  const auto normal_deadline = Clock::now() + kServerTimeout / 2;
  for (int i = 0; i < 200 && (i < 50 || Clock::now() < normal_deadline); ++i) {
    auto start = Clock::now();
    int status = TimedGet(server.port(), 3000ms);
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    ok += status == 200;
  }
  const auto normal_done = Clock::now();
  // Still held: no admitted slow client has been answered or closed yet (only refused ones).
  int answered_early = load.Inspect([&](const auto& clients) {
    return static_cast<int>(std::count_if(clients.begin(), clients.end(), [](const auto& c) {
      return c->ResponseStatus() != "503" && (c->done || !c->received.empty());
    }));
  });

  const int made = static_cast<int>(latencies_ms.size());
  EXPECT_EQ(ok, made) << "normal requests failed while the slow clients were connected";
  ASSERT_GE(made, 50);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  double p50 = latencies_ms[made / 2], p99 = latencies_ms[made * 99 / 100 - 1];
  EXPECT_LT(p99, 250.0) << "p50 " << p50 << " ms, max " << latencies_ms.back() << " ms";
  EXPECT_EQ(answered_early, 0)
      << "slow clients were not held while the normal requests ran ("
      << std::chrono::duration<double>(normal_done - load_connected).count() << " s)";

  // The server ends every slow connection: 408 after its timeout, then a close.
  EXPECT_TRUE(load.WaitFor(
      [](const auto& clients) {
        return std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->done; });
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(kServerTimeout + 10s)))
      << "slow connections left open";
  load.Stop();
  server.Stop();

  // Counted rather than asserted per connection, so a failure reads as a summary.
  int refused = 0, timed_out = 0, unanswered = 0, other = 0, not_closed = 0, refused_late = 0,
      refused_under_cap = 0, timed_out_early = 0, timed_out_late = 0;
  std::string examples;
  auto note = [&](const SlowClient& c, std::string_view what) {
    if (examples.size() < 1000) {
      examples += fmt::format("\n  {} from {} ({}): received '{}'", what, c.source,
                              c.kind == SlowClient::Kind::kSlowHeader ? "slow header" : "slow body",
                              c.received.substr(0, 40));
    }
  };
  for (const auto& c : load.clients()) {
    if (!c->first_byte_at) {
      ++unanswered;
      note(*c, "no answer");
      continue;
    }
    if (c->error != net::error::eof) {
      ++not_closed;
      note(*c, "not closed by the server: " + c->error.message());
    }
    auto answered_after = *c->first_byte_at - c->connect_started_at;
    if (c->ResponseStatus() == "503") {
      ++refused;
      if (c->source != "127.0.0.2") {
        ++refused_under_cap;
        note(*c, "refused under the cap");
      }
      if (answered_after >= 2000ms) {
        ++refused_late;
        note(*c, "refused late");
      }
    } else if (c->ResponseStatus() == "408") {
      ++timed_out;
      if (answered_after < kServerTimeout) {
        ++timed_out_early;
        note(*c, "408 before the timeout");
      }
      if (answered_after >= kServerTimeout + 3s) {
        ++timed_out_late;
        note(*c, "408 late");
      }
    } else {
      ++other;
      note(*c, "unexpected answer");
    }
  }
  EXPECT_EQ(refused, kOnCrowdedAddress - kCapPerAddress) << examples;
  EXPECT_EQ(timed_out, kSlowClients - (kOnCrowdedAddress - kCapPerAddress)) << examples;
  EXPECT_EQ(unanswered + other + not_closed, 0) << examples;
  EXPECT_EQ(refused_under_cap + refused_late, 0) << "over-cap connections are refused promptly"
                                                 << examples;
  EXPECT_EQ(timed_out_early + timed_out_late, 0) << "408 at the timeout" << examples;
  RecordProperty("p50_ms", std::to_string(p50));
  RecordProperty("p99_ms", std::to_string(p99));
  std::printf("%d normal requests: p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d refused, %d timed out; %.1f "
              "s\n",
              made, p50, p99, latencies_ms.back(), refused, timed_out,
              std::chrono::duration<double>(Clock::now() - test_start).count());
}

}  // namespace
}  // namespace sluice::http
