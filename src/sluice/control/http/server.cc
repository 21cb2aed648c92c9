#include "sluice/control/http/server.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "sluice/base/logging.h"
#include "sluice/control/http/internal/wire.h"

namespace sluice::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// After a response that closes the connection, unread input is drained for at most this long
// (and this many bytes): closing a socket with unread data sends a RST, which can destroy the
// response before the client has read it (e.g. a 413 while the client is still uploading).
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr size_t kLingerBytes = 4 << 20;

}  // namespace

class Session;

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

  // Declared before io_context_: sessions destroyed with it still reach these.
  std::mutex mu_;
  std::condition_variable idle_;  // signalled when total_ drops
  int total_ = 0;                                     // guarded by mu_
  std::unordered_map<std::string, int> per_address_;  // guarded by mu_
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions_;  // guarded by mu_
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
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore& server, tcp::socket socket, std::string address, uint64_t id,
          bool admitted)
      : server_(server),
        options_(server.options()),
        stream_(std::move(socket)),
        read_timer_(stream_.get_executor()),
        address_(std::move(address)),
        id_(id),
        admitted_(admitted),
        header_deadline_(Clock::now() + options_.header_timeout) {}

  ~Session() {
    if (admitted_) server_.Release(id_, address_);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->admitted_) {
        self->request_.request_id = NewRequestId();
        Response r = MakeProblem(codes::kUnavailable, "too many connections; retry later");
        r.headers.Set("Retry-After", "1");
        self->SendAndClose(std::move(r));
        return;
      }
      self->WaitForRequest();
    });
  }

  // Posted by Stop: an idle connection closes now; a request in progress finishes first and its
  // response closes the connection.
  void OnServerStopping() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::kIdle) self->stream_.cancel();
    });
  }

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing, kClosed };

  void ArmReadDeadline(Clock::time_point deadline) {
    stream_.expires_never();
    timed_out_ = false;
    uint64_t generation = ++read_generation_;
    read_timer_.expires_at(deadline);
    read_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      // A stale wake-up (the read finished while this was queued) must not cancel a later read.
      if (ec || generation != self->read_generation_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
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
      stream_.expires_at(header_deadline_);
    } else {
      stream_.expires_after(options_.idle_timeout);
    }
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
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
    request_.request_id = NewRequestId();
    parser_.emplace();
    internal::ConfigureParser(*parser_, options_);
    ArmReadDeadline(header_deadline_);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->DisarmReadDeadline(ec);
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    Status st = internal::FillRequestHead(parser_->get(), address_, request_);
    if (!st.ok()) return SendAndClose(MakeProblem(codes::kMalformedRequest, st.message()));
    if (auto problem = internal::ApplyBodyLimit(*parser_, request_, server_.router(), options_)) {
      return SendAndClose(std::move(*problem));
    }
    if (parser_->is_done()) return Handle();
    const auto& message = parser_->get();
    if (message.version() >= 11 &&
        beast::iequals(message[bhttp::field::expect], "100-continue")) {
      // The client waits for this before sending the body; the limits were checked above.
      auto interim = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      stream_.expires_after(options_.write_timeout);
      bhttp::async_write(stream_, *interim,
                         [self = shared_from_this(), interim](beast::error_code ec, size_t) {
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
                      [self = shared_from_this()](beast::error_code ec, size_t) {
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
    Response response = server_.router().Dispatch(request_);
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
    try {
      response_ = internal::ToWire(std::move(response), keep_alive, version, request_.method == "HEAD");
    } catch (const std::exception& e) {
      SLUICE_LOG(Error, "http.response_error", {"request_id", request_.request_id}, {"error", e.what()});
      return Close();
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    SLUICE_LOG(Info, "http.request", {"method", request_.method.empty() ? "-" : request_.method},
               {"path", request_.path.empty() ? "-" : request_.path}, {"status", status},
               {"duration_ms", fmt::format("{:.3f}", ms)}, {"request_id", request_.request_id},
               {"remote", address_});
    stream_.expires_after(options_.write_timeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
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
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    linger_bytes_ = 0;
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(linger_buffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
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
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  ServerCore& server_;
  const HttpServerOptions& options_;
  beast::tcp_stream stream_;
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
             {"io_threads", o.io_threads});
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
  auto session = std::make_shared<Session>(*this, std::move(socket), address, id, admitted);
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
  std::vector<std::shared_ptr<Session>> live;
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
  if (auto problem = internal::ApplyBodyLimit(parser, request, router, options)) {
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
  return router.Dispatch(request);
}

}  // namespace sluice::http
