#include "sluice/control/http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "sluice/base/logging.h"
#include "sluice/control/http/internal/tls.h"
#include "sluice/control/http/internal/wire.h"

namespace sluice::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

namespace {

// After a response that closes the connection, unread input is drained for at most this long
// (and this many bytes): closing a socket with unread data sends a RST, which can destroy the
// response before the client has read it (e.g. a 413 while the client is still uploading).
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr size_t kLingerBytes = 4 << 20;

// Once a read deadline has passed, the read is cancelled again at this interval until it ends
// (see WaitForReadDeadline).
constexpr std::chrono::milliseconds kRecancelInterval{20};

}  // namespace

// What the server needs from a session, whatever its transport.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Start() = 0;
  // Posted by Stop: an idle connection closes now; a request in progress finishes first and its
  // response closes the connection.
  virtual void OnServerStopping() = 0;
};

// The server proper (HttpServer::Impl is a private name, so the sessions refer to this).
class ServerCore {
 public:
  ServerCore(HttpServerOptions options, Router router)
      : options_(std::move(options)), router_(std::move(router)) {}
  ~ServerCore() { Stop(); }

  Status Start();
  void Stop();
  uint16_t port() const { return port_.load(); }

  const HttpServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  bool stopping() const { return stopping_.load(); }
  // Called by an admitted session's destructor.
  void Release(uint64_t id, const std::string& address);

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  bool Admit(const std::string& address);

  const HttpServerOptions options_;
  const Router router_;
  // Set by Start when the options ask for TLS; read-only afterwards.
  std::unique_ptr<ssl::context> tls_context_;

  // Declared before io_context_: sessions destroyed with it still reach these.
  std::mutex mu_;
  std::condition_variable idle_;  // signalled when total_ drops
  int total_ = 0;                                     // guarded by mu_
  std::unordered_map<std::string, int> per_address_;  // guarded by mu_
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions_;  // guarded by mu_
  uint64_t next_session_id_ = 0;                      // guarded by mu_
  bool started_ = false;                              // guarded by mu_
  bool stopped_ = false;                              // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::atomic<uint16_t> port_{0};

  net::io_context io_context_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> accept_retry_;
  std::vector<std::thread> threads_;
};

// One connection: reads requests one at a time, answers each, until the client or a limit ends it.
// All of a session's handlers run on its strand, so its members need no lock.
//
// Stream is beast::tcp_stream (plain HTTP) or TlsStream (HTTPS); the HTTP logic is the same, the
// differences are the handshake before the first request and the close after the last. Timeouts,
// cancellation and closing act on the TCP stream underneath (tcp_layer()).
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `stream_args` construct the Stream: the accepted socket, and for TLS the context.
  template <typename... StreamArgs>
  Session(ServerCore& server, std::string address, uint64_t id, bool admitted,
          StreamArgs&&... stream_args)
      : server_(server),
        options_(server.options()),
        stream_(std::forward<StreamArgs>(stream_args)...),
        read_timer_(stream_.get_executor()),
        address_(std::move(address)),
        id_(id),
        admitted_(admitted),
        header_deadline_(Clock::now() + options_.header_timeout) {}

  ~Session() override {
    if (admitted_) server_.Release(id_, address_);
  }

  void Start() override {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->BeginServing();
      }
    });
  }

  void OnServerStopping() override {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->phase_ == Phase::kIdle || self->phase_ == Phase::kHandshake) {
        self->tcp_layer().cancel();
      }
    });
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing, kClosed };

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  // After the connection is set up (and, for TLS, the handshake done): serve, or refuse.
  void BeginServing() {
    if (!admitted_) {
      request_.request_id = NewRequestId();
      Response r = MakeProblem(codes::kUnavailable, "too many connections; retry later");
      r.headers.Set("Retry-After", "1");
      return SendAndClose(std::move(r));
    }
    WaitForRequest();
  }

  // The handshake shares the first request's header deadline: a client that connects and never
  // finishes it is dropped like one that never finishes its headers (without an answer: there is
  // no channel to send one on). A refused connection gets at most kLingerTime for it.
  void Handshake() {
    phase_ = Phase::kHandshake;
    if (server_.stopping()) return Close();
    auto deadline = header_deadline_;
    if (!admitted_) deadline = std::min(deadline, Clock::now() + kLingerTime);
    tcp_layer().expires_at(deadline);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = this->shared_from_this()](beast::error_code ec) {
                              if (ec) {
                                SLUICE_LOG(Info, "http.tls_handshake_failed",
                                           {"remote", self->address_},
                                           {"error", ec == beast::error::timeout ? "timed out"
                                                                                 : ec.message()});
                                return self->Close();
                              }
                              self->tcp_layer().expires_never();
                              self->BeginServing();
                            });
  }

  void ArmReadDeadline(Clock::time_point deadline) {
    tcp_layer().expires_never();
    timed_out_ = false;
    WaitForReadDeadline(++read_generation_, deadline);
  }

  // At `when`, cancels the read. One cancel can miss: Beast's composed reads start their next
  // socket read from the completion handler of the previous one, and this handler can run in
  // between (after a read completed, before its handler ran), when there is nothing to cancel.
  // A client trickling bytes would then never time out; so once the deadline has passed the
  // read is cancelled again every kRecancelInterval until it has ended.
  void WaitForReadDeadline(uint64_t generation, Clock::time_point when) {
    read_timer_.expires_at(when);
    read_timer_.async_wait([self = this->shared_from_this(), generation](beast::error_code ec) {
      // A stale wake-up (the read finished while this was queued) must not cancel a later read.
      if (ec || generation != self->read_generation_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->tcp_layer().socket().cancel(ignored);
      self->WaitForReadDeadline(generation, Clock::now() + kRecancelInterval);
    });
  }

  // Ends the current read deadline; a read that failed because it fired reports timeout.
  void DisarmReadDeadline(beast::error_code& ec) {
    ++read_generation_;
    read_timer_.cancel();
    if (ec && timed_out_) ec = beast::error::timeout;
  }

  void WaitForRequest() {
    phase_ = Phase::kIdle;
    if (server_.stopping()) return Close();
    if (buffer_.size() > 0) return ReadHeader();  // a pipelined request is already here
    // The first request's header deadline runs from the connect; later ones from their first
    // byte, with idle_timeout to wait for it.
    if (first_request_) {
      tcp_layer().expires_at(header_deadline_);
    } else {
      tcp_layer().expires_after(options_.idle_timeout);
    }
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->Close();  // idle timeout, EOF, stop
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    phase_ = Phase::kReading;
    started_ = Clock::now();
    if (!first_request_) header_deadline_ = started_ + options_.header_timeout;
    request_ = Request{};
    admission_ = {};
    request_.request_id = NewRequestId();
    parser_.emplace();
    internal::ConfigureParser(*parser_, options_);
    ArmReadDeadline(header_deadline_);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->DisarmReadDeadline(ec);
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    Status st = internal::FillRequestHead(parser_->get(), address_, request_);
    if (!st.ok()) return SendAndClose(MakeProblem(codes::kMalformedRequest, st.message()));
    // Authentication, rate limits and the route are decided on the headers: a refused request is
    // answered without reading its body (the connection closes if one is on its way).
    admission_ = server_.router().Admit(request_);
    if (auto& refusal = admission_.refusal()) {
      const bool keep_alive = parser_->is_done() && parser_->get().keep_alive() && !server_.stopping();
      return Send(std::move(*refusal), keep_alive);
    }
    if (auto problem = internal::ApplyBodyLimit(*parser_, admission_.BodyLimit(options_.max_body_bytes))) {
      return SendAndClose(std::move(*problem));
    }
    if (parser_->is_done()) return Handle();
    const auto& message = parser_->get();
    if (message.version() >= 11 &&
        beast::iequals(message[bhttp::field::expect], "100-continue")) {
      // The client waits for this before sending the body; the limits were checked above.
      auto interim = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      tcp_layer().expires_after(options_.write_timeout);
      bhttp::async_write(stream_, *interim,
                         [self = this->shared_from_this(), interim](beast::error_code ec, size_t) {
                           if (ec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    ArmReadDeadline(Clock::now() + options_.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->DisarmReadDeadline(ec);
                        if (ec) return self->OnReadError(ec);
                        self->Handle();
                      });
  }

  void OnReadError(beast::error_code ec) {
    auto problem = internal::ProblemForReadError(ec);
    if (!problem) return Close();
    SendAndClose(std::move(*problem));
  }

  void Handle() {
    phase_ = Phase::kHandling;
    request_.body = std::move(parser_->get().body());
    Response response = server_.router().Handle(request_, admission_);
    bool keep_alive = parser_->get().keep_alive() && !server_.stopping();
    Send(std::move(response), keep_alive);
  }

  void SendAndClose(Response response) {
    if (request_.request_id.empty()) request_.request_id = NewRequestId();
    FinalizeResponse(response, request_);
    Send(std::move(response), /*keep_alive=*/false);
  }

  void Send(Response response, bool keep_alive) {
    phase_ = Phase::kWriting;
    unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    int status = response.status;
    // The principal: the authenticated caller, or who a login turned out to be.
    std::string principal = request_.caller.subject.empty() ? response.audit_subject : request_.caller.subject;
    try {
      response_ = internal::ToWire(std::move(response), keep_alive, version, request_.method == "HEAD");
    } catch (const std::exception& e) {
      SLUICE_LOG(Error, "http.response_error", {"request_id", request_.request_id}, {"error", e.what()});
      return Close();
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    // The route's pattern, not the path: a path parameter or the query string (never logged) may
    // hold what the log must not; an unmatched request shows its path (still without the query).
    const RouteInfo* route = admission_.route();
    SLUICE_LOG(Info, "http.request", {"method", request_.method.empty() ? "-" : request_.method},
               {"route", route ? route->pattern : (request_.path.empty() ? "-" : request_.path)}, {"status", status},
               {"duration_ms", fmt::format("{:.3f}", ms)}, {"request_id", request_.request_id},
               {"principal", principal.empty() ? "-" : principal}, {"remote", address_});
    tcp_layer().expires_after(options_.write_timeout);
    bhttp::async_write(stream_, response_,
                       [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         self->response_ = {};
                         if (ec) return self->Close();
                         if (!keep_alive) return self->LingerAndClose();
                         self->first_request_ = false;
                         self->parser_.reset();
                         self->WaitForRequest();
                       });
  }

  void LingerAndClose() {
    phase_ = Phase::kClosing;
    tcp_layer().expires_after(kLingerTime);  // for all of the steps below
    if constexpr (kTls) {
      // Our close_notify first. OpenSSL then waits for the client's and fails if application
      // data comes instead ("application data after close notify"); either way the TLS session
      // is over, and what the client still sends is drained below as raw bytes.
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->DrainAndClose(); });
    } else {
      DrainAndClose();
    }
  }

  void DrainAndClose() {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    linger_bytes_ = 0;
    Drain();
  }

  // Reads below TLS (if any): after a close the bytes are discarded unread.
  void Drain() {
    tcp_layer().async_read_some(net::buffer(linger_buffer_),
                                [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                                  self->linger_bytes_ += n;
                                  if (ec || self->linger_bytes_ > kLingerBytes) return self->Close();
                                  self->Drain();
                                });
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    ++read_generation_;
    read_timer_.cancel();
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer().close();
  }

  ServerCore& server_;
  const HttpServerOptions& options_;
  Stream stream_;
  // Deadline of the request being read. Not the stream's own timeout: that closes the socket,
  // and a timed-out request should still get its 408.
  net::steady_timer read_timer_;
  uint64_t read_generation_ = 0;
  bool timed_out_ = false;
  const std::string address_;
  const uint64_t id_;
  const bool admitted_;
  beast::flat_buffer buffer_;
  std::optional<internal::RequestParser> parser_;
  Request request_;
  Router::Admission admission_;  // of request_, once its headers are in
  internal::WireResponse response_;
  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;
  Clock::time_point header_deadline_;
  Clock::time_point started_ = Clock::now();
  std::array<char, 16384> linger_buffer_;
  size_t linger_bytes_ = 0;
};

Status ServerCore::Start() {
  std::lock_guard lock(mu_);
  if (started_) return Status::FailedPrecondition("the HTTP server was already started");
  const auto& o = options_;
  SLUICE_USER_CHECK(o.io_threads >= 1 && o.io_threads <= 256, "io_threads must be 1..256");
  SLUICE_USER_CHECK(o.max_header_bytes >= 256, "max_header_bytes must be at least 256");
  SLUICE_USER_CHECK(o.max_body_bytes >= 0, "max_body_bytes must not be negative");
  SLUICE_USER_CHECK(o.header_timeout.count() > 0 && o.body_timeout.count() > 0 &&
                        o.write_timeout.count() > 0 && o.idle_timeout.count() > 0,
                    "timeouts must be positive");
  SLUICE_USER_CHECK(o.max_connections >= 1 && o.max_connections_per_address >= 1,
                    "connection limits must be at least 1");
  beast::error_code ec;
  auto address = net::ip::make_address(o.address, ec);
  if (ec) return Status::InvalidArgument("'{}' is not an IP address", o.address);
  SLUICE_ASSIGN_OR_RETURN(tls_context_, internal::MakeServerTlsContext(o));
  tcp::endpoint endpoint(address, o.port);
  acceptor_.emplace(net::make_strand(io_context_));
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    return Status::IoError("cannot listen on {}:{}: {}", o.address, o.port, ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  started_ = true;
  work_.emplace(io_context_.get_executor());
  accept_retry_.emplace(acceptor_->get_executor());
  Accept();
  for (int i = 0; i < o.io_threads; ++i) {
    threads_.emplace_back([this] {
      // A handler that escapes an exception is our bug; keep the thread serving the others.
      while (true) {
        try {
          io_context_.run();
          return;
        } catch (const std::exception& e) {
          SLUICE_LOG(Error, "http.io_thread_error", {"error", e.what()});
        }
      }
    });
  }
  SLUICE_LOG(Info, "http.listening", {"address", o.address}, {"port", port_.load()},
             {"io_threads", o.io_threads}, {"tls", tls_context_ != nullptr});
  return Status::OK();
}

void ServerCore::Accept() {
  acceptor_->async_accept(net::make_strand(io_context_),
                          [this](beast::error_code ec, tcp::socket socket) {
                            OnAccept(ec, std::move(socket));
                          });
}

void ServerCore::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping() || !acceptor_->is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: back off instead of spinning on the error.
    SLUICE_LOG(Warn, "http.accept_error", {"error", ec.message()});
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping()) Accept();
    });
    return;
  }
  beast::error_code addr_ec;
  auto remote = socket.remote_endpoint(addr_ec);
  std::string address = addr_ec ? "unknown" : remote.address().to_string();
  bool admitted = Admit(address);
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_session_id_++;
  }
  std::shared_ptr<SessionBase> session;
  if (tls_context_) {
    session = std::make_shared<Session<TlsStream>>(*this, address, id, admitted, std::move(socket),
                                                   *tls_context_);
  } else {
    session = std::make_shared<Session<beast::tcp_stream>>(*this, address, id, admitted,
                                                           std::move(socket));
  }
  if (admitted) {
    std::lock_guard lock(mu_);
    sessions_[id] = session;
  } else {
    SLUICE_LOG(Warn, "http.connection_rejected", {"remote", address});
  }
  session->Start();
  Accept();
}

bool ServerCore::Admit(const std::string& address) {
  std::lock_guard lock(mu_);
  int& mine = per_address_[address];
  if (total_ >= options_.max_connections || mine >= options_.max_connections_per_address) {
    if (mine == 0) per_address_.erase(address);
    return false;
  }
  ++total_;
  ++mine;
  return true;
}

void ServerCore::Release(uint64_t id, const std::string& address) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
  --total_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  idle_.notify_all();
}

void ServerCore::Stop() {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  net::post(acceptor_->get_executor(), [this] {
    beast::error_code ec;
    acceptor_->close(ec);
    accept_retry_->cancel();
  });
  for (auto& s : live) s->OnServerStopping();
  live.clear();  // our references must not keep sessions (and the count) alive
  work_.reset();
  {
    std::unique_lock lock(mu_);
    bool drained = idle_.wait_for(lock, options_.shutdown_grace, [this] { return total_ == 0; });
    if (!drained) {
      SLUICE_LOG(Warn, "http.shutdown_forced", {"connections", total_});
    }
  }
  io_context_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  SLUICE_LOG(Info, "http.stopped", {"port", port_.load()});
}

class HttpServer::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(HttpServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() { return impl_->Start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
bool HttpServer::tls() const { return internal::TlsEnabled(impl_->options()); }
void HttpServer::Stop() { impl_->Stop(); }

Response ServeRawRequest(std::string_view raw, const Router& router,
                         const HttpServerOptions& options) {
  Request request;
  request.request_id = NewRequestId();
  auto answer = [&](Problem problem) {
    Response r(std::move(problem));
    FinalizeResponse(r, request);
    return r;
  };
  internal::RequestParser parser;
  internal::ConfigureParser(parser, options);
  beast::error_code ec;
  size_t used = 0;
  // Beast's parser takes the whole header at once, then the body piece by piece.
  auto feed = [&](bool until_done) {
    while (until_done ? !parser.is_done() : !parser.is_header_done()) {
      size_t n = parser.put(net::buffer(raw.data() + used, raw.size() - used), ec);
      used += n;
      if (ec || n == 0) return;
    }
  };
  parser.eager(false);
  feed(false);
  auto incomplete = [&] {
    return answer(MakeProblem(codes::kMalformedRequest, "the request is incomplete"));
  };
  if (ec == bhttp::error::need_more || (!ec && !parser.is_header_done())) return incomplete();
  if (ec) {
    auto problem = internal::ProblemForReadError(ec);
    return problem ? answer(std::move(*problem)) : incomplete();
  }
  Status st = internal::FillRequestHead(parser.get(), "", request);
  if (!st.ok()) return answer(MakeProblem(codes::kMalformedRequest, st.message()));
  Router::Admission admission = router.Admit(request);
  if (auto& refusal = admission.refusal()) return std::move(*refusal);
  if (auto problem = internal::ApplyBodyLimit(parser, admission.BodyLimit(options.max_body_bytes))) {
    return answer(std::move(*problem));
  }
  parser.eager(true);
  feed(true);
  if (ec == bhttp::error::need_more || (!ec && !parser.is_done())) return incomplete();
  if (ec) {
    auto problem = internal::ProblemForReadError(ec);
    return problem ? answer(std::move(*problem)) : incomplete();
  }
  request.body = std::move(parser.get().body());
  return router.Handle(request, admission);
}

}  // namespace sluice::http
