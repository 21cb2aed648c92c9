#include "sluice/client/api_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "sluice/base/strings.h"

namespace sluice::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr int kMaxBackoffMs = 5000;
constexpr uint32_t kMaxResponseHeaderBytes = 64 << 10;

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar); }

bool HasControlChar(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// "application/json; charset=utf-8" -> true; also application/problem+json and other +json types.
bool IsJsonMediaType(std::string_view content_type) {
  std::string_view media = TrimRight(content_type.substr(0, content_type.find(';')), " ");
  if (EqualsIgnoreCase(media, "application/json")) return true;
  return StartsWithIgnoreCase(media, "application/") && media.size() > 5 &&
         EqualsIgnoreCase(media.substr(media.size() - 5), "+json");
}

bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

std::optional<std::string> FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

// Retry-After as delta-seconds (RFC 9110 §10.2.3); an HTTP-date is not honoured.
std::optional<int64_t> RetryAfterMs(const ApiResponse& response) {
  auto value = response.Header("Retry-After");
  if (!value || value->empty() || value->size() > 9) return std::nullopt;
  if (!std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(*value) * 1000;
}

std::string JsonString(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// The first line of a non-problem body, shortened, for a message.
std::string BodyExcerpt(std::string_view body) {
  body = body.substr(0, body.find_first_of("\r\n"));
  std::string out(body.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (body.size() > 200) out += "...";
  return out;
}

Status MakeStatus(StatusCode code, std::string message) { return Status(code, std::move(message)); }

// The TLS settings of every https connection: TLS 1.2 or newer, the peer verified against the
// system's trust store and the options' CA file (the host name is checked per connection).
Result<std::unique_ptr<ssl::context>> MakeTlsContext(const ApiClientOptions& options) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  context->set_default_verify_paths(ec);  // a system without a store can still use ca_file
  if (!options.ca_file.empty()) {
    const std::string& file = options.ca_file;
    if (!std::ifstream(file, std::ios::binary)) {
      return Status::InvalidArgument("CA file '{}' (--ca-cert or SLUICE_CA_CERT) cannot be read: {}", file,
                                     std::strerror(errno));
    }
    context->load_verify_file(file, ec);
    if (ec) {
      return Status::InvalidArgument("CA file '{}' (--ca-cert or SLUICE_CA_CERT) has no PEM certificate: {}",
                                     file, ec.message());
    }
  }
  return context;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Values

std::optional<std::string> ApiResponse::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

std::string ServerUrl::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}{}", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", port,
                     prefix);
}

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  std::string_view rest = url;
  ServerUrl out;
  if (StartsWithIgnoreCase(rest, "https://")) {
    rest.remove_prefix(8);
    out.tls = true;
    out.port = 443;
  } else if (StartsWithIgnoreCase(rest, "http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return Status::InvalidArgument("server URL '{}': the scheme must be http:// or https://", url);
  }
  if (HasControlChar(rest) || rest.find(' ') != std::string_view::npos) {
    return Status::InvalidArgument("server URL '{}' contains spaces or control characters", url);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Status::InvalidArgument("server URL '{}' must not have a query or fragment", url);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("server URL '{}' must not contain user info; use a token (sluice login)", url);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("server URL '{}': unclosed '['", url);
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("server URL '{}': bad host", url);
      port_text = after.substr(1);
      if (port_text.empty()) return Status::InvalidArgument("server URL '{}': empty port", url);
    }
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return Status::InvalidArgument("server URL '{}': empty port", url);
    }
  }
  if (out.host.empty()) return Status::InvalidArgument("server URL '{}' has no host", url);
  if (!port_text.empty()) {
    if (port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::InvalidArgument("server URL '{}': port '{}' is not a number", url, port_text);
    }
    int port = std::stoi(std::string(port_text));
    if (port < 1 || port > 65535) {
      return Status::InvalidArgument("server URL '{}': port {} is out of range 1..65535", url, port);
    }
    out.port = static_cast<uint16_t>(port);
  }
  out.prefix = std::string(prefix);
  return out;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

Status StatusFromResponse(const ApiResponse& response) {
  if (response.ok()) return Status::OK();
  const int code = response.status;
  const nlohmann::json& problem = response.json;
  const bool is_problem = problem.is_object() && (problem.contains("detail") || problem.contains("title") ||
                                                  problem.contains("code"));
  std::string problem_code = JsonString(problem, "code");

  std::string text;
  if (is_problem) {
    text = JsonString(problem, "detail");
    if (text.empty()) text = JsonString(problem, "title");
    if (text.empty()) text = fmt::format("HTTP {}", code);
    if (auto it = problem.find("errors"); it != problem.end() && it->is_array()) {
      for (const auto& e : *it) {
        std::string field = JsonString(e, "field");
        std::string message = JsonString(e, "message");
        if (message.empty()) message = JsonString(e, "code");
        std::string item = field.empty() ? message : fmt::format("{}: {}", field, message);
        if (item.empty() || item == text) continue;  // a one-field problem repeats it in detail
        text += "; " + item;
      }
    }
  } else {
    std::string excerpt = BodyExcerpt(response.body);
    text = excerpt.empty() ? fmt::format("HTTP {} from the server (no problem details)", code)
                           : fmt::format("HTTP {} from the server: {}", code, excerpt);
  }

  StatusCode status_code = StatusCode::kInvalidArgument;
  switch (code) {
    case 401:
      status_code = StatusCode::kFailedPrecondition;
      text = fmt::format("not authenticated: {}; run `sluice login` or set SLUICE_TOKEN", text);
      break;
    case 403: {
      status_code = StatusCode::kFailedPrecondition;
      std::string permission = JsonString(problem, "permission");
      if (permission.empty()) permission = JsonString(problem, "required_permission");
      text = permission.empty()
                 ? fmt::format("permission denied: {}", text)
                 : fmt::format("permission denied: {}; missing permission '{}'", text, permission);
      break;
    }
    case 404:
      status_code = StatusCode::kNotFound;
      break;
    case 409:
      status_code = problem_code == "already_exists" ? StatusCode::kAlreadyExists
                    : problem_code == "conflict"     ? StatusCode::kAborted
                                                     : StatusCode::kFailedPrecondition;
      break;
    case 413:
      text = fmt::format("request body too large: {}", text);
      break;
    case 408:
      status_code = StatusCode::kUnavailable;
      break;
    case 429: {
      status_code = StatusCode::kUnavailable;
      auto retry_after = response.Header("Retry-After");
      text = retry_after ? fmt::format("rate limited: {}; retry after {} s (Retry-After)", text, *retry_after)
                         : fmt::format("rate limited: {}", text);
      break;
    }
    default:
      if (code == 502 || code == 503 || code == 504) {
        status_code = StatusCode::kUnavailable;
        if (auto retry_after = response.Header("Retry-After")) {
          text += fmt::format("; retry after {} s (Retry-After)", *retry_after);
        }
      } else if (code >= 500 || code < 400) {
        // 5xx, and 1xx/3xx which this client does not follow.
        status_code = code >= 500 ? StatusCode::kInternal : StatusCode::kFailedPrecondition;
      }
      break;
  }
  std::string request_id = response.request_id.empty() ? JsonString(problem, "request_id") : response.request_id;
  if (!request_id.empty()) text += fmt::format(" (request id {})", request_id);
  return MakeStatus(status_code, std::move(text));
}

// ---------------------------------------------------------------------------------------------
// The connection

class ApiClient::Impl {
 public:
  Impl(ApiClientOptions options, ServerUrl url, std::unique_ptr<ssl::context> tls_context)
      : options_(std::move(options)), url_(std::move(url)), url_text_(url_.ToString()),
        tls_context_(std::move(tls_context)), rng_(std::random_device{}()) {}
  ~Impl() { Close(); }

  Result<ApiResponse> Request(std::string_view method, std::string_view path,
                              const std::optional<std::string>& body, std::string_view content_type,
                              const HeaderList& extra_headers);

  const ServerUrl& url() const { return url_; }
  int64_t connections_opened() const { return connections_opened_.load(); }

 private:
  // kHandshake: TLS failed before the certificate was judged (e.g. the server speaks plain HTTP);
  // kVerify: the certificate does not verify.
  enum class Phase { kResolve, kConnect, kHandshake, kVerify, kSend, kReceive, kParse };
  struct TransportError {
    Phase phase;
    beast::error_code ec;
    bool reused;  // the request went out on a kept-alive connection
    long verify_result = X509_V_OK;  // kVerify: OpenSSL's reason
  };
  using Exchanged = std::variant<ApiResponse, TransportError>;

  Exchanged Exchange(const bhttp::request<bhttp::string_body>& request);
  std::optional<TransportError> Connect(SteadyClock::time_point deadline);
  std::optional<TransportError> Handshake(SteadyClock::time_point deadline);
  void Close();
  // The TCP stream of the connection (under TLS for https); only while connected.
  beast::tcp_stream& tcp_layer() {
    return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : *tcp_stream_;
  }
  bool connected() const { return tcp_stream_.has_value() || tls_stream_.has_value(); }
  // Starts `op(stream)` on the connection's stream, whichever kind it is.
  template <typename Op>
  void WithStream(Op&& op) {
    if (tls_stream_) {
      op(*tls_stream_);
    } else {
      op(*tcp_stream_);
    }
  }
  // Runs the io_context until the started operation (and its timer) finished.
  void Run() {
    ioc_.restart();
    ioc_.run();
  }
  bool ReusableConnection();
  int BackoffMs(int attempt);
  Status TransportStatus(const TransportError& e, std::string_view method, std::string_view path,
                         bool idempotent) const;

  const ApiClientOptions options_;
  const ServerUrl url_;
  const std::string url_text_;
  const std::unique_ptr<ssl::context> tls_context_;  // https only
  std::mutex mu_;  // serializes requests; guards everything below
  asio::io_context ioc_{1};
  // The connection: at most one of the two, by the URL's scheme.
  std::optional<beast::tcp_stream> tcp_stream_;
  std::optional<TlsStream> tls_stream_;
  beast::flat_buffer buffer_;
  std::mt19937 rng_;
  std::atomic<int64_t> connections_opened_{0};
};

void ApiClient::Impl::Close() {
  if (connected()) {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer().socket().close(ec);
    tls_stream_.reset();
    tcp_stream_.reset();
  }
  buffer_.consume(buffer_.size());
}

// A kept-alive connection is reused only if nothing is waiting to be read on it: a readable idle
// socket means the server closed it (EOF or reset) or sent something unexpected.
bool ApiClient::Impl::ReusableConnection() {
  if (!connected() || !tcp_layer().socket().is_open() || buffer_.size() > 0) return false;
  pollfd p{tcp_layer().socket().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

std::optional<ApiClient::Impl::TransportError> ApiClient::Impl::Connect(SteadyClock::time_point deadline) {
  Close();
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  tcp::resolver::results_type endpoints;
  asio::steady_timer timer(ioc_);
  timer.expires_at(deadline);
  bool resolved = false;
  timer.async_wait([&](beast::error_code e) {
    if (!e && !resolved) resolver.cancel();
  });
  resolver.async_resolve(url_.host, std::to_string(url_.port),
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           resolved = true;
                           ec = e;
                           endpoints = std::move(r);
                           timer.cancel();
                         });
  Run();
  if (ec == asio::error::operation_aborted) ec = beast::error::timeout;
  if (ec) return TransportError{Phase::kResolve, ec, false};

  tcp_stream_.emplace(ioc_);
  tcp_stream_->expires_at(deadline);
  tcp_stream_->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  Run();
  if (ec) {
    Close();
    return TransportError{Phase::kConnect, ec, false};
  }
  beast::error_code ignored;
  tcp_stream_->socket().set_option(tcp::no_delay(true), ignored);
  connections_opened_.fetch_add(1);
  if (url_.tls) return Handshake(deadline);
  return std::nullopt;
}

std::optional<ApiClient::Impl::TransportError> ApiClient::Impl::Handshake(SteadyClock::time_point deadline) {
  tls_stream_.emplace(std::move(*tcp_stream_), *tls_context_);
  tcp_stream_.reset();
  SSL* ssl = tls_stream_->native_handle();
  // The certificate must name the URL's host: an IP address as an IP SAN, a name as a DNS SAN
  // (and a name goes in SNI, so a server with several certificates picks the right one).
  beast::error_code not_an_address;
  auto ip = asio::ip::make_address(url_.host, not_an_address);
  const char* host = url_.host.c_str();
  bool named = not_an_address
                   ? SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1
                   : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.to_string().c_str()) == 1;
  if (!named) {
    Close();
    return TransportError{Phase::kHandshake, asio::error::invalid_argument, false};
  }
  beast::error_code ec;
  tcp_layer().expires_at(deadline);
  tls_stream_->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  Run();
  if (ec) {
    long verify_result = SSL_get_verify_result(ssl);
    Close();
    if (verify_result != X509_V_OK) return TransportError{Phase::kVerify, ec, false, verify_result};
    return TransportError{Phase::kHandshake, ec, false};
  }
  return std::nullopt;
}

ApiClient::Impl::Exchanged ApiClient::Impl::Exchange(const bhttp::request<bhttp::string_body>& request) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options_.timeout_ms);
  bool reused = ReusableConnection();
  if (!reused) {
    if (auto error = Connect(deadline)) return *error;
  }
  beast::error_code ec;
  tcp_layer().expires_at(deadline);
  WithStream([&](auto& stream) {
    bhttp::async_write(stream, request, [&](beast::error_code e, size_t) { ec = e; });
  });
  Run();
  const beast::error_code send_ec = ec;
  // A server may answer before the whole body is sent (413 for an oversized body) and close:
  // the write then fails, but its answer can still be read.
  const bool early_answer = send_ec == asio::error::broken_pipe || send_ec == asio::error::connection_reset;
  if (send_ec && !early_answer) {
    Close();
    return TransportError{Phase::kSend, send_ec, reused};
  }

  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(kMaxResponseHeaderBytes);
  parser.body_limit(static_cast<uint64_t>(options_.max_response_bytes));
  if (request.method() == bhttp::verb::head) parser.skip(true);
  tcp_layer().expires_at(early_answer ? std::min(deadline, SteadyClock::now() + std::chrono::seconds(2)) : deadline);
  WithStream([&](auto& stream) {
    bhttp::async_read(stream, buffer_, parser, [&](beast::error_code e, size_t) { ec = e; });
  });
  Run();
  if (ec && send_ec) {
    Close();
    return TransportError{Phase::kSend, send_ec, reused};
  }
  if (ec) {
    Close();
    // Beast's HTTP errors other than a connection that ended early mean a bad response.
    bool malformed = ec.category() == bhttp::make_error_code(bhttp::error::body_limit).category() &&
                     ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
    return TransportError{malformed ? Phase::kParse : Phase::kReceive, ec, reused};
  }
  tcp_layer().expires_never();

  auto message = parser.release();
  ApiResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.content_type = response.Header("Content-Type").value_or("");
  response.request_id = response.Header("X-Request-Id").value_or("");
  response.body = std::move(message.body());
  if (IsJsonMediaType(response.content_type) && !response.body.empty()) {
    response.json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (response.json.is_discarded()) response.json = nullptr;
  }
  if (response.request_id.empty()) response.request_id = JsonString(response.json, "request_id");
  // After an early answer the connection is gone all the same.
  if (send_ec || !message.keep_alive()) Close();
  return response;
}

int ApiClient::Impl::BackoffMs(int attempt) {
  int64_t base = std::max(options_.backoff_ms, 0);
  base = std::min<int64_t>(base << std::min(attempt, 20), kMaxBackoffMs);
  if (base <= 1) return static_cast<int>(base);
  std::uniform_int_distribution<int64_t> jitter(base / 2, base);
  return static_cast<int>(jitter(rng_));
}

Status ApiClient::Impl::TransportStatus(const TransportError& e, std::string_view method,
                                        std::string_view path, bool idempotent) const {
  const std::string hint = "is `sluice serve` running? (--server or SLUICE_SERVER)";
  switch (e.phase) {
    case Phase::kResolve:
      return MakeStatus(StatusCode::kUnavailable,
                        fmt::format("cannot reach the Sluice server at {}: cannot resolve host '{}': {}; "
                                    "check --server or SLUICE_SERVER",
                                    url_text_, url_.host, e.ec == beast::error::timeout ? "timed out" : e.ec.message()));
    case Phase::kConnect:
      if (e.ec == beast::error::timeout) {
        return MakeStatus(StatusCode::kUnavailable,
                          fmt::format("cannot reach the Sluice server at {}: no connection within {} ms; {}",
                                      url_text_, options_.timeout_ms, hint));
      }
      return MakeStatus(StatusCode::kUnavailable, fmt::format("cannot reach the Sluice server at {}: {}; {}",
                                                              url_text_, e.ec.message(), hint));
    case Phase::kHandshake:
      if (e.ec == beast::error::timeout) {
        return MakeStatus(StatusCode::kUnavailable,
                          fmt::format("the Sluice server at {} did not complete the TLS handshake within {} ms; {}",
                                      url_text_, options_.timeout_ms, hint));
      }
      return MakeStatus(StatusCode::kUnavailable,
                        fmt::format("TLS handshake with the Sluice server at {} failed: {}; does it serve https "
                                    "on that port? (--server or SLUICE_SERVER)",
                                    url_text_, e.ec.message()));
    case Phase::kVerify: {
      std::string reason = X509_verify_cert_error_string(e.verify_result);
      if (e.verify_result == X509_V_ERR_HOSTNAME_MISMATCH || e.verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        return MakeStatus(StatusCode::kFailedPrecondition,
                          fmt::format("the TLS certificate of the Sluice server at {} is not valid for '{}' ({}); "
                                      "use a host name or address the certificate lists in --server or "
                                      "SLUICE_SERVER",
                                      url_text_, url_.host, reason));
      }
      return MakeStatus(StatusCode::kFailedPrecondition,
                        fmt::format("the TLS certificate of the Sluice server at {} does not verify ({}); if the "
                                    "server's certificate comes from a private CA, pass that CA's certificate "
                                    "with --ca-cert or SLUICE_CA_CERT",
                                    url_text_, reason));
    }
    case Phase::kParse:
      return Status::IoError("the Sluice server at {} sent a malformed or oversized response to {} {}: {}",
                             url_text_, method, path, e.ec.message());
    case Phase::kSend:
    case Phase::kReceive:
      break;
  }
  std::string maybe_applied = idempotent ? "" : "; the request may or may not have been applied";
  if (e.ec == beast::error::timeout) {
    return MakeStatus(StatusCode::kUnavailable,
                      fmt::format("the Sluice server at {} did not answer {} {} within {} ms{}", url_text_,
                                  method, path, options_.timeout_ms, maybe_applied));
  }
  return MakeStatus(StatusCode::kUnavailable,
                    fmt::format("lost the connection to the Sluice server at {} during {} {}: {}{}", url_text_,
                                method, path, e.ec.message(), maybe_applied));
}

Result<ApiResponse> ApiClient::Impl::Request(std::string_view method, std::string_view path,
                                             const std::optional<std::string>& body,
                                             std::string_view content_type, const HeaderList& extra_headers) {
  if (!IsToken(method)) return Status::InvalidArgument("bad HTTP method '{}'", method);
  if (path.empty() || path.front() != '/' || HasControlChar(path) || path.find(' ') != std::string_view::npos) {
    return Status::InvalidArgument("bad request path '{}': it must start with '/' and have no spaces", path);
  }
  bhttp::request<bhttp::string_body> request;
  request.version(11);
  request.method_string(method);
  request.target(url_.prefix + std::string(path));
  bool v6 = url_.host.find(':') != std::string::npos;
  request.set(bhttp::field::host, fmt::format("{}{}{}:{}", v6 ? "[" : "", url_.host, v6 ? "]" : "", url_.port));
  request.set(bhttp::field::user_agent, options_.user_agent);
  request.set(bhttp::field::accept, "application/json, application/problem+json");
  for (const auto& [name, value] : extra_headers) {
    if (!IsToken(name) || HasControlChar(value)) {
      return Status::InvalidArgument("bad header '{}': a token name and a value without control characters", name);
    }
    request.insert(name, value);
  }
  if (!options_.token.empty() && !FindHeader(extra_headers, "Authorization")) {
    request.set(bhttp::field::authorization, "Bearer " + options_.token);
  }
  if (body) {
    if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
    request.body() = *body;
  }
  request.keep_alive(true);
  request.prepare_payload();

  const bool idempotent = IsIdempotent(method) || FindHeader(extra_headers, "Idempotency-Key").has_value();
  std::lock_guard lock(mu_);
  bool stale_retried = false;
  for (int attempt = 0;; ++attempt) {
    const bool may_retry = attempt < options_.retries;
    Exchanged result = Exchange(request);
    if (auto* response = std::get_if<ApiResponse>(&result)) {
      if (response->status == 503 && idempotent && may_retry) {
        auto retry_after = RetryAfterMs(*response);
        if (retry_after && *retry_after <= options_.max_retry_after_ms) {
          std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(*retry_after, BackoffMs(attempt))));
          continue;
        }
      }
      return std::move(*response);
    }
    const auto& error = std::get<TransportError>(result);
    // Safe to send again: nothing reached the server (resolve, connect, TLS handshake), a kept-alive
    // connection the server had closed refused the write, or the method is idempotent.
    bool nothing_sent = error.phase == Phase::kResolve || error.phase == Phase::kConnect ||
                        error.phase == Phase::kHandshake || (error.phase == Phase::kSend && error.reused);
    // A malformed response or a certificate that does not verify comes out the same next time.
    bool retryable =
        error.phase != Phase::kParse && error.phase != Phase::kVerify && (idempotent || nothing_sent);
    if (retryable && error.reused && !stale_retried) {
      // A kept-alive connection the server closed is expected, not a failure: reconnect at once,
      // without using up a retry.
      stale_retried = true;
      --attempt;
      continue;
    }
    if (retryable && may_retry) {
      std::this_thread::sleep_for(std::chrono::milliseconds(BackoffMs(attempt)));
      continue;
    }
    return TransportStatus(error, method, path, idempotent);
  }
}

// ---------------------------------------------------------------------------------------------
// ApiClient

Result<ApiClient> ApiClient::Create(ApiClientOptions options) {
  SLUICE_ASSIGN_OR_RETURN(ServerUrl url, ParseServerUrl(options.server));
  if (options.timeout_ms <= 0) return Status::InvalidArgument("timeout_ms must be positive, got {}", options.timeout_ms);
  if (options.retries < 0 || options.retries > 100) {
    return Status::InvalidArgument("retries must be 0..100, got {}", options.retries);
  }
  if (options.max_response_bytes <= 0) return Status::InvalidArgument("max_response_bytes must be positive");
  if (HasControlChar(options.token) || HasControlChar(options.user_agent)) {
    return Status::InvalidArgument("the token and user agent must not contain control characters");
  }
  std::unique_ptr<ssl::context> tls_context;
  if (url.tls) {
    SLUICE_ASSIGN_OR_RETURN(tls_context, MakeTlsContext(options));
  }
  return ApiClient(std::make_unique<Impl>(std::move(options), std::move(url), std::move(tls_context)));
}

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient& ApiClient::operator=(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

const ServerUrl& ApiClient::server() const { return impl_->url(); }
int64_t ApiClient::connections_opened() const { return impl_->connections_opened(); }

Result<ApiResponse> ApiClient::Request(std::string_view method, std::string_view path,
                                       std::optional<std::string> body, std::string_view content_type,
                                       const HeaderList& extra_headers) {
  return impl_->Request(method, path, body, content_type, extra_headers);
}

Result<ApiResponse> ApiClient::Checked(Result<ApiResponse> response) {
  if (!response.ok()) return response;
  SLUICE_RETURN_IF_ERROR(StatusFromResponse(*response));
  if (IsJsonMediaType(response->content_type) && !response->body.empty() && response->json.is_null()) {
    return Status::IoError("the Sluice server at {} sent a response that is not valid JSON (request id {})",
                           impl_->url().ToString(), response->request_id);
  }
  return response;
}

Result<ApiResponse> ApiClient::Get(std::string_view path, const HeaderList& extra_headers) {
  return Checked(Request("GET", path, std::nullopt, "", extra_headers));
}

Result<ApiResponse> ApiClient::Post(std::string_view path, const nlohmann::json& body,
                                    const HeaderList& extra_headers) {
  return Checked(Request("POST", path, body.dump(), "application/json", extra_headers));
}

Result<ApiResponse> ApiClient::Put(std::string_view path, const nlohmann::json& body,
                                   const HeaderList& extra_headers) {
  return Checked(Request("PUT", path, body.dump(), "application/json", extra_headers));
}

Result<ApiResponse> ApiClient::Delete(std::string_view path, const HeaderList& extra_headers) {
  return Checked(Request("DELETE", path, std::nullopt, "", extra_headers));
}

Result<ApiResponse> ApiClient::PostRaw(std::string_view path, std::string body, std::string_view content_type,
                                       const HeaderList& extra_headers) {
  return Checked(Request("POST", path, std::move(body), content_type, extra_headers));
}

Result<std::vector<nlohmann::json>> ApiClient::ListAll(std::string_view path, int limit) {
  if (limit < 1 || limit > 1000) return Status::InvalidArgument("list limit must be 1..1000, got {}", limit);
  const std::string base = fmt::format("{}{}limit={}", path, path.find('?') == std::string_view::npos ? '?' : '&', limit);
  std::vector<nlohmann::json> items;
  std::set<std::string> seen_cursors;
  std::string cursor;
  for (int page = 0; page < kMaxListPages; ++page) {
    std::string target = cursor.empty() ? base : base + "&cursor=" + UrlEncode(cursor);
    SLUICE_ASSIGN_OR_RETURN(ApiResponse response, Get(target));
    const nlohmann::json& json = response.json;
    auto page_items = json.is_object() ? json.find("items") : json.end();
    if (!json.is_object() || page_items == json.end() || !page_items->is_array()) {
      return Status::IoError("GET {} did not return a page ({{items, next_cursor}}) (request id {})", target,
                             response.request_id);
    }
    for (auto& item : *page_items) items.push_back(std::move(item));
    auto next = json.find("next_cursor");
    if (next == json.end() || next->is_null()) return items;
    if (!next->is_string() || next->get<std::string>().empty()) {
      return Status::IoError("GET {} returned a next_cursor that is not a string (request id {})", target,
                             response.request_id);
    }
    cursor = next->get<std::string>();
    if (!seen_cursors.insert(cursor).second) {
      return Status::Internal("listing {} does not end: the server returned cursor '{}' twice (request id {})",
                              path, cursor, response.request_id);
    }
  }
  return Status::Internal("listing {} did not end after {} pages", path, kMaxListPages);
}

}  // namespace sluice::client
