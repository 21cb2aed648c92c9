// Tests of HTTPS in HttpServer: a throwaway CA and server certificate for 127.0.0.1, the server
// on an ephemeral port, and a small Beast/OpenSSL client that verifies the server like a real one.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/test_routes.h"
#include "sluice/control/http/internal/tls_test_util.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// A TLS client: every operation is bounded by the TCP stream's deadline, so a silent server
// fails the test instead of hanging it.

struct TlsResult {
  beast::error_code ec;  // set when no complete response came
  int status = 0;
  std::string body;
  std::string connection;  // the Connection header
};

class TlsClient {
 public:
  explicit TlsClient(const std::string& ca_file) : context_(ssl::context::tls_client) {
    context_.set_verify_mode(ssl::verify_peer);
    if (!ca_file.empty()) context_.load_verify_file(ca_file);
  }

  // TCP connect and TLS handshake, verifying the certificate for 127.0.0.1.
  beast::error_code Connect(uint16_t port, std::chrono::milliseconds timeout = 5000ms) {
    stream_.emplace(ioc_, context_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream_->native_handle()), "127.0.0.1");
    beast::get_lowest_layer(*stream_).expires_after(timeout);
    beast::error_code result = net::error::would_block;
    beast::get_lowest_layer(*stream_).async_connect(
        tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port), [&](beast::error_code ec) {
          if (ec) {
            result = ec;
            return;
          }
          stream_->async_handshake(ssl::stream_base::client,
                                   [&](beast::error_code hs) { result = hs; });
        });
    Run();
    return result;
  }

  // Writes `raw` (may be empty) and reads one response.
  TlsResult Exchange(const std::string& raw, std::chrono::milliseconds timeout = 5000ms) {
    TlsResult out;
    beast::get_lowest_layer(*stream_).expires_after(timeout);
    bhttp::response_parser<bhttp::string_body> parser;
    auto read = [&] {
      bhttp::async_read(*stream_, buffer_, parser,
                        [&](beast::error_code ec, size_t) { out.ec = ec; });
    };
    if (raw.empty()) {
      read();
    } else {
      net::async_write(*stream_, net::buffer(raw), [&](beast::error_code ec, size_t) {
        if (ec) {
          out.ec = ec;
          return;
        }
        read();
      });
    }
    Run();
    if (!out.ec && parser.is_done()) {
      out.status = static_cast<int>(parser.get().result_int());
      out.body = parser.get().body();
      out.connection = std::string(parser.get()[bhttp::field::connection]);
    } else if (!out.ec) {
      out.ec = net::error::would_block;
    }
    return out;
  }

  std::string protocol() { return SSL_get_version(stream_->native_handle()); }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  net::io_context ioc_;
  ssl::context context_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
};

std::string GetRequestText(std::string_view target, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n", target, extra);
}

// One GET on a new connection.
TlsResult HttpsGet(uint16_t port, const std::string& ca_file, std::string_view target) {
  TlsClient client(ca_file);
  TlsResult failed;
  failed.ec = client.Connect(port);
  return failed.ec ? failed : client.Exchange(GetRequestText(target));
}

// A plain TCP connection (for clients that do not speak TLS, or stall).
class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool Send(std::string_view data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until the server closes the connection (true) or the timeout passes (false); what came
  // is in `received`.
  bool ReadUntilClosed(std::chrono::milliseconds timeout, std::string& received) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) == 0) return false;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
      received.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

Router TestRouter() {
  auto router = testing::HelloUploadRouter("tls", 1024);
  EXPECT_TRUE(router.ok()) << router.status().ToString();
  return std::move(router).value();
}

class TlsServerTest : public ::testing::Test {
 protected:
  HttpServerOptions TlsOptions() const {
    HttpServerOptions options;
    options.tls_cert_file = certs_.cert_file();
    options.tls_key_file = certs_.key_file();
    return options;
  }
  void StartServer(HttpServerOptions options) {
    server_ = std::make_unique<HttpServer>(std::move(options), TestRouter());
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  uint16_t port() const { return server_->port(); }
  // Start's error for these options.
  Status StartError(HttpServerOptions options) {
    HttpServer server(std::move(options), TestRouter());
    return server.Start();
  }

  testing::TestCertificates certs_;
  std::unique_ptr<HttpServer> server_;
};

// ---------------------------------------------------------------------------------------------

TEST_F(TlsServerTest, ServesHttpsWithAVerifiedCertificateChain) {
  StartServer(TlsOptions());
  EXPECT_TRUE(server_->tls());
  TlsClient client(certs_.ca_file());
  ASSERT_FALSE(client.Connect(port())) << "handshake with the test CA failed";
  EXPECT_THAT(client.protocol(), ::testing::AnyOf("TLSv1.2", "TLSv1.3"));
  // Keep-alive works over TLS as over TCP.
  for (int i = 0; i < 3; ++i) {
    TlsResult r = client.Exchange(GetRequestText("/api/v1/hello"));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"hello":"tls"})");
    EXPECT_NE(r.connection, "close");
  }
  // A client that does not trust the CA refuses the server.
  TlsClient untrusting("");
  beast::error_code ec = untrusting.Connect(port());
  ASSERT_TRUE(ec);
  EXPECT_THAT(ec.message(), HasSubstr("certificate verify failed"));
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortGetsNoHttpResponse) {
  HttpServerOptions options = TlsOptions();
  options.header_timeout = 2000ms;
  StartServer(options);
  RawConn plain(port());
  ASSERT_TRUE(plain.connected());
  auto start = Clock::now();
  ASSERT_TRUE(plain.Send(GetRequestText("/api/v1/hello")));
  std::string received;
  EXPECT_TRUE(plain.ReadUntilClosed(5000ms, received)) << "the connection stayed open";
  EXPECT_LT(Clock::now() - start, 1500ms) << "closed by the timeout, not by the failed handshake";
  EXPECT_THAT(received, ::testing::Not(HasSubstr("HTTP/"))) << received;
  EXPECT_THAT(received, ::testing::Not(HasSubstr("hello")));
  // The server is still fine for real clients.
  EXPECT_EQ(HttpsGet(port(), certs_.ca_file(), "/api/v1/hello").status, 200);
}

TEST_F(TlsServerTest, OneTlsOptionWithoutTheOtherIsRefused) {
  HttpServerOptions cert_only;
  cert_only.tls_cert_file = certs_.cert_file();
  Status st = StartError(cert_only);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("tls_key_file is not"));

  HttpServerOptions key_only;
  key_only.tls_key_file = certs_.key_file();
  st = StartError(key_only);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("tls_cert_file is not"));
  EXPECT_FALSE(HttpServer(key_only, TestRouter()).tls());
}

TEST_F(TlsServerTest, UnreadableOrInvalidFilesAreRefusedWithTheReason) {
  struct Case {
    std::string cert, key;
    std::vector<std::string> parts;  // in the message
  };
  std::string garbage = certs_.WriteFile("garbage.pem", "this is not PEM\n");
  std::string missing = certs_.dir() + "/missing.pem";
  std::vector<Case> cases = {
      {missing, certs_.key_file(), {"tls_cert_file", missing, "No such file"}},
      {certs_.cert_file(), missing, {"tls_key_file", missing, "No such file"}},
      {garbage, certs_.key_file(), {"tls_cert_file", garbage, "no start line"}},
      {certs_.cert_file(), garbage, {"tls_key_file", garbage, "routines"}},
      // A certificate where the key should be, and a key that is not the certificate's.
      {certs_.cert_file(), certs_.ca_file(), {"tls_key_file", certs_.ca_file()}},
      {certs_.cert_file(),
       certs_.unrelated_key_file(),
       {"tls_key_file", certs_.unrelated_key_file(), "mismatch"}},
  };
  for (const auto& c : cases) {
    HttpServerOptions options;
    options.tls_cert_file = c.cert;
    options.tls_key_file = c.key;
    Status st = StartError(options);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    for (const auto& part : c.parts) EXPECT_THAT(st.message(), HasSubstr(part)) << st.ToString();
  }
}

TEST_F(TlsServerTest, ClientsThatNeverHandshakeAreDroppedWhileOthersAreServed) {
  HttpServerOptions options = TlsOptions();
  options.io_threads = 1;  // if a stalled handshake held the only thread, nobody else would get in
  options.header_timeout = 300ms;
  StartServer(options);
  RawConn silent(port());
  ASSERT_TRUE(silent.connected());
  auto start = Clock::now();
  // Half a TLS record header: the handshake starts and then stalls.
  RawConn stalled(port());
  ASSERT_TRUE(stalled.Send(std::string("\x16\x03\x01", 3)));
  for (int i = 0; i < 3; ++i) {
    TlsResult r = HttpsGet(port(), certs_.ca_file(), "/api/v1/hello");
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status, 200);
  }
  EXPECT_LT(Clock::now() - start, 300ms) << "the HTTPS requests waited for the stalled clients";
  for (RawConn* c : {&silent, &stalled}) {
    std::string received;
    EXPECT_TRUE(c->ReadUntilClosed(5000ms, received)) << "not dropped";
    EXPECT_GE(Clock::now() - start, 250ms) << "dropped before the header timeout";
    EXPECT_LT(Clock::now() - start, 3000ms);
    EXPECT_THAT(received, ::testing::Not(HasSubstr("HTTP/")));
  }
  // The header deadline covers the handshake and the headers together: a client that finishes the
  // handshake but not its headers still gets its 408 on time.
  TlsClient slow(certs_.ca_file());
  start = Clock::now();
  ASSERT_FALSE(slow.Connect(port()));
  TlsResult timed_out = slow.Exchange("GET /api/v1/hello HTTP/1.1\r\nHost: x\r\n");
  ASSERT_FALSE(timed_out.ec) << timed_out.ec.message();
  EXPECT_EQ(timed_out.status, 408);
  EXPECT_LT(Clock::now() - start, 3000ms);
}

TEST_F(TlsServerTest, ConnectionsOverTheCapGet503OverTls) {
  HttpServerOptions options = TlsOptions();
  options.max_connections_per_address = 1;
  StartServer(options);
  TlsClient first(certs_.ca_file());
  ASSERT_FALSE(first.Connect(port()));
  ASSERT_EQ(first.Exchange(GetRequestText("/api/v1/hello")).status, 200);
  TlsClient extra(certs_.ca_file());
  ASSERT_FALSE(extra.Connect(port()));
  TlsResult refused = extra.Exchange("");
  ASSERT_FALSE(refused.ec) << refused.ec.message();
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.connection, "close");
}

TEST_F(TlsServerTest, AClientStillUploadingReadsTheEarly413) {
  StartServer(TlsOptions());
  TlsClient client(certs_.ca_file());
  ASSERT_FALSE(client.Connect(port()));
  // The route takes 1 KiB; the client announces 8 MiB and sends 2 MiB of it before reading, so
  // the server answers while the client is still writing and must drain before it closes.
  std::string request =
      "POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n" +
      std::string(2 << 20, 'x');
  TlsResult r = client.Exchange(request);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.connection, "close");
}

TEST_F(TlsServerTest, StopClosesIdleTlsConnections) {
  HttpServerOptions options = TlsOptions();
  options.shutdown_grace = 5000ms;
  StartServer(options);
  TlsClient idle(certs_.ca_file());
  ASSERT_FALSE(idle.Connect(port()));
  ASSERT_EQ(idle.Exchange(GetRequestText("/api/v1/hello")).status, 200);
  RawConn handshaking(port());  // connected, handshake never started
  auto start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, 2000ms) << "Stop waited for idle or handshaking connections";
}

}  // namespace
}  // namespace sluice::http
