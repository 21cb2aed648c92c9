#include "sluice/control/http/internal/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace sluice::http::internal {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites with forward secrecy and authenticated encryption, strongest first; the TLS 1.3
// suites (OpenSSL's defaults) all have both already.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

// OpenSSL's reasons for the last failure, oldest first (the queue is per thread), and clears them.
std::string TakeOpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : fmt::format("OpenSSL error {:#x}", code);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// Asio reports the first OpenSSL error as the error code; what is still queued can say more.
std::string Reason(const boost::system::error_code& ec) {
  std::string reason = ec.message();
  if (ERR_peek_error() != 0) reason += " (" + TakeOpenSslErrors() + ")";
  return reason;
}

// A file we cannot open gets the system's reason rather than OpenSSL's "system lib".
Status CheckReadable(std::string_view option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::InvalidArgument("{} '{}' cannot be read: {}", option, path,
                                   std::strerror(errno));
  return Status::OK();
}

}  // namespace

bool TlsEnabled(const HttpServerOptions& options) {
  return !options.tls_cert_file.empty() && !options.tls_key_file.empty();
}

Result<std::unique_ptr<ssl::context>> MakeServerTlsContext(const HttpServerOptions& options) {
  const bool has_cert = !options.tls_cert_file.empty();
  const bool has_key = !options.tls_key_file.empty();
  if (!has_cert && !has_key) return std::unique_ptr<ssl::context>();
  if (!has_key) {
    return Status::InvalidArgument(
        "tls_cert_file is set but tls_key_file is not: TLS needs both the "
        "certificate chain and its private key");
  }
  if (!has_cert) {
    return Status::InvalidArgument(
        "tls_key_file is set but tls_cert_file is not: TLS needs both the "
        "certificate chain and its private key");
  }
  SLUICE_RETURN_IF_ERROR(CheckReadable("tls_cert_file", options.tls_cert_file));
  SLUICE_RETURN_IF_ERROR(CheckReadable("tls_key_file", options.tls_key_file));

  ERR_clear_error();
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                                  SSL_OP_NO_TLSv1_1);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    return Status::Internal("cannot configure TLS: {}", TakeOpenSslErrors());
  }
  // An encrypted key would make OpenSSL prompt for a passphrase on the terminal; refuse it instead.
  context->set_password_callback(
      [](size_t, ssl::context::password_purpose) { return std::string(); });

  boost::system::error_code ec;
  context->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) {
    return Status::InvalidArgument("tls_cert_file '{}' is not a PEM certificate chain: {}",
                                   options.tls_cert_file, Reason(ec));
  }
  context->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    return Status::InvalidArgument(
        "tls_key_file '{}' is not an unencrypted PEM private key for the certificate in '{}': {}",
        options.tls_key_file, options.tls_cert_file, Reason(ec));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Status::InvalidArgument(
        "tls_key_file '{}' does not belong to the certificate in '{}': {}", options.tls_key_file,
        options.tls_cert_file, TakeOpenSslErrors());
  }
  return context;
}

}  // namespace sluice::http::internal
