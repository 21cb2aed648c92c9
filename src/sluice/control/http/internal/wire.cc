#include "sluice/control/http/internal/wire.h"

#include <algorithm>

#include <boost/beast/core/error.hpp>

#include "sluice/base/logging.h"
#include "sluice/control/http/internal/text.h"

namespace sluice::http::internal {
namespace {

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool ValidFieldName(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), IsTokenChar);
}

bool ValidFieldValue(std::string_view v) {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

void ConfigureParser(RequestParser& parser, const HttpServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(boost::none);
}

std::optional<Problem> ProblemForReadError(const boost::system::error_code& ec) {
  if (ec == boost::beast::error::timeout) {
    return MakeProblem(codes::kRequestTimeout, "the request was not received in time");
  }
  if (ec == bhttp::error::header_limit) {
    return MakeProblem(codes::kHeadersTooLarge, "the request header block is too large");
  }
  if (ec == bhttp::error::body_limit) {
    return MakeProblem(codes::kBodyTooLarge, "the request body is too large");
  }
  // end_of_stream and partial_message mean the client went away: nobody to answer.
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == bhttp::error::need_more) {
    return std::nullopt;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return MakeProblem(codes::kMalformedRequest,
                       fmt::format("the request is not valid HTTP/1.1: {}", ec.message()));
  }
  return std::nullopt;
}

Status FillRequestHead(const bhttp::request<bhttp::string_body>& message, std::string remote,
                       Request& request) {
  request.method = std::string(message.method_string());
  for (const auto& field : message) {
    request.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  request.remote_address = std::move(remote);
  if (auto id = request.headers.Get("X-Request-Id"); id && ValidRequestId(*id)) {
    request.request_id = std::string(*id);
  } else if (request.request_id.empty()) {
    request.request_id = NewRequestId();
  }
  std::string_view target(message.target().data(), message.target().size());
  return request.SetTarget(target);
}

std::optional<Problem> ApplyBodyLimit(RequestParser& parser, int64_t limit) {
  if (auto length = parser.content_length(); length && *length > static_cast<uint64_t>(limit)) {
    return MakeProblem(codes::kBodyTooLarge,
                       fmt::format("the request body has {} bytes; this route accepts at most {}",
                                   *length, limit));
  }
  parser.body_limit(static_cast<std::uint64_t>(limit));
  return std::nullopt;
}

WireResponse ToWire(Response response, bool keep_alive, unsigned version, bool head_request) {
  WireResponse out;
  out.version(version == 10 ? 10 : 11);
  int status = response.status;
  if (status < 100 || status > 599) status = 500;  // the Router already refuses these
  out.result(static_cast<unsigned>(status));
  for (const auto& [name, value] : response.headers.fields()) {
    if (!ValidFieldName(name) || !ValidFieldValue(value) || EqualsIgnoreCase(name, "Content-Length") ||
        EqualsIgnoreCase(name, "Transfer-Encoding") || EqualsIgnoreCase(name, "Connection")) {
      SLUICE_LOG(Warn, "http.header_dropped", {"name", name});
      continue;
    }
    out.insert(name, value);
  }
  if (!response.content_type.empty() && ValidFieldValue(response.content_type)) {
    out.set(bhttp::field::content_type, response.content_type);
  }
  // No body is allowed with these (RFC 9110 §15.2, §15.3.5, §15.4.5).
  bool bodiless = status < 200 || status == 204 || status == 304;
  if (bodiless) {
    response.body.clear();
    out.erase(bhttp::field::content_type);
  }
  out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  // A response to HEAD has no body, whatever its Content-Length says (RFC 9110 §9.3.2).
  if (head_request) out.body().clear();
  return out;
}

}  // namespace sluice::http::internal
