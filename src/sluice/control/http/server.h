// HttpServer: the control plane's HTTP/1.1 server (Boost.Beast + Asio, kept out of this header),
// over plain TCP or, given a certificate and key, over TLS only (HTTPS). It reads requests,
// enforces the limits below, hands each request to a Router and writes the response. Everything
// is asynchronous on a few io threads — no thread per connection — so a slow or stalled client
// costs a socket and a timer, never a thread, and cannot hold up others.
//
// What a client can expect:
//   - HTTP/1.1 keep-alive (pipelined requests are answered in order); HTTP/1.0 closes.
//   - Header block over max_header_bytes                     -> 431 headers_too_large, close
//   - Once the headers are in, the Router admits the request (Router::Admit: the route, the
//     caller's authentication and permission, the rate limits) before any body byte is read; a
//     refused request (401, 403, 404, 405, 415, 429) is answered at once and, when a body was on
//     its way, the connection closes without reading it (a request without a body keeps the
//     connection).
//   - Body over the route's limit (Route::max_body_bytes, else max_body_bytes), checked after
//     the admission                                          -> 413 body_too_large, close
//   - Headers not complete header_timeout after the request's first byte (or after connecting),
//     or the body not complete body_timeout after the headers -> 408 request_timeout, close
//   - With TLS: the handshake counts against the first request's header_timeout (a client that
//     connects and never completes it is closed without an answer); a failed handshake (e.g.
//     plain HTTP sent to the TLS port) closes the connection.
//   - A syntax error in the request                          -> 400 malformed_request, close
//   - Idle keep-alive connection for idle_timeout            -> closed silently
//   - Over max_connections (or max_connections_per_address from one address)
//                                                            -> 503 unavailable, close
//     (with TLS after the handshake, which then has at most 2 s)
//   - `Expect: 100-continue` gets a 100 before the body is read (after the admission and the
//     limit check; a refused request gets its refusal instead).
//   - Every response carries X-Request-Id: the client's own (if it sent one matching
//     [A-Za-z0-9._-]{1,64}) or a new one. One log line per request: event http.request.
// A response that closes the connection is followed by a short lingering read so the client
// receives it even while it is still sending a body we refused.
//
// Thread-safety: Start and Stop are called from one owner thread; port() and tls() from any
// thread. Handlers run on the io threads, several at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/base/status.h"
#include "sluice/control/http/http.h"
#include "sluice/control/http/router.h"

namespace sluice::http {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; port() reports it after Start
  int io_threads = 2;
  size_t max_header_bytes = 16 << 10;
  int64_t max_body_bytes = 16ll << 20;  // default for routes without their own limit
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // Stop waits this long for requests in flight before dropping what is left.
  std::chrono::milliseconds shutdown_grace{10'000};
  int max_connections = 1024;
  int max_connections_per_address = 128;
  // TLS: PEM files of the server's certificate (optionally followed by its chain) and its
  // unencrypted private key. Both set: the server speaks only HTTPS (TLS 1.2 or 1.3). Neither:
  // plain HTTP. One without the other is refused by Start.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Router router);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads. InvalidArgument for bad options (including a TLS
  // option without the other, or a certificate or key file that cannot be read or used: the
  // message names the option, the file and OpenSSL's reason), IoError if the address cannot be
  // bound, FailedPrecondition if called twice.
  Status Start();
  // The bound port (0 before Start).
  uint16_t port() const;
  // True when the options ask for TLS (both tls_cert_file and tls_key_file set).
  bool tls() const;
  // Stops accepting, closes idle connections, lets requests in flight finish (their responses
  // say Connection: close) for up to shutdown_grace, then closes the rest and joins the threads.
  // Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The server's request path without sockets (TLS options are ignored), for the fuzz target and
// tests: parses `raw` as one HTTP/1.1 request with Beast's parser under the limits of `options`
// (sizes only), dispatches it to `router`, and returns the finalized response — the same
// response, byte limits and problem codes the server would produce (an incomplete request gives
// 400 malformed_request where the server would wait and then send 408).
Response ServeRawRequest(std::string_view raw, const Router& router,
                         const HttpServerOptions& options);

}  // namespace sluice::http
