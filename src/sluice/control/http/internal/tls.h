// TLS for the HTTP server: the OpenSSL context built from HttpServerOptions' certificate and
// key. Internal to control/http: includes Boost.Asio's ssl (and so OpenSSL).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "sluice/base/status.h"
#include "sluice/control/http/server.h"

namespace sluice::http::internal {

// True when both tls_cert_file and tls_key_file are set.
bool TlsEnabled(const HttpServerOptions& options);

// The server's TLS context, or nullptr when neither tls option is set. The context allows TLS 1.2
// and 1.3 only, forward-secret AEAD ciphers for 1.2 in the server's order of preference, no
// compression and no renegotiation. InvalidArgument naming the option and the file when only one
// of the two is set, a file cannot be read, is not PEM of the right kind (OpenSSL's reason is
// quoted), the key is encrypted, or the key does not belong to the certificate.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const HttpServerOptions& options);

}  // namespace sluice::http::internal
