// The bridge between Beast's messages and our Request/Response, shared by the server's
// sessions and ServeRawRequest (so the fuzz target runs the server's own code). Internal to
// control/http: the only header of the module that includes Boost.
#pragma once

#include <optional>
#include <string>

#include <boost/beast/http.hpp>

#include "sluice/control/http/http.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::http::internal {

namespace bhttp = boost::beast::http;
using RequestParser = bhttp::request_parser<bhttp::string_body>;
using WireResponse = bhttp::response<bhttp::string_body>;

// A parser for a new request: the header limit from options; no body limit yet (the route's
// limit is applied once the request is admitted on its headers, see ApplyBodyLimit).
void ConfigureParser(RequestParser& parser, const HttpServerOptions& options);

// The problem for a read error that is the client's fault (431, 413, 408, 400), or nullopt when
// the connection just ended or failed (nothing to answer).
std::optional<Problem> ProblemForReadError(const boost::system::error_code& ec);

// Fills method, target/path/query, headers and remote address of `request` from the parsed
// header, and its request id (the client's X-Request-Id if it is [A-Za-z0-9._-]{1,64}, else the
// id already in `request`, else a new one). A bad target is InvalidArgument.
Status FillRequestHead(const bhttp::request<bhttp::string_body>& message, std::string remote,
                       Request& request);

// After the headers and the admission: 413 if Content-Length exceeds the admitted route's limit
// (Router::Admission::BodyLimit); else sets the parser's body limit to it (a chunked body is cut
// off there).
std::optional<Problem> ApplyBodyLimit(RequestParser& parser, int64_t limit);

// The wire form of a finalized response. Header fields with invalid names or values (CR, LF,
// NUL) and the framing fields (Content-Length, Transfer-Encoding, Connection) a handler set are
// dropped: framing is ours. For a HEAD request the body is left out (Content-Length stays).
WireResponse ToWire(Response response, bool keep_alive, unsigned version, bool head_request);

}  // namespace sluice::http::internal
