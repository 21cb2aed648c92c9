// Tests of the API client over https against a real control-plane HttpServer with TLS on
// 127.0.0.1: a throwaway CA and server certificate, verification on by default, the CA from the
// options, the client config or SLUICE_CA_CERT, and the errors that say how to fix a mismatch.
#include <stdlib.h>

#include <memory>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "sluice/control/http/http.h"
#include "sluice/control/http/internal/tls_test_util.h"
#include "sluice/control/http/router.h"
#include "sluice/control/http/server.h"

namespace sluice::client {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

std::unique_ptr<http::HttpServer> StartServer(std::string cert_file = "", std::string key_file = "") {
  std::vector<http::Route> routes;
  routes.push_back({.method = "GET", .pattern = "/api/v1/hello", .operation_id = "hello",
                    .permission = "test.read", .handler = [](const http::Request&, const http::PathParams&) {
                      return http::Response::Json(200, {{"hello", "tls"}});
                    }});
  routes.push_back({.method = "POST", .pattern = "/api/v1/echo", .operation_id = "echo",
                    .permission = "test.write", .handler = [](const http::Request& r, const http::PathParams&) {
                      return http::Response::Json(200, {{"body", r.body}});
                    }});
  auto router = http::Router::Create(std::move(routes));
  EXPECT_TRUE(router.ok()) << router.status().ToString();
  http::HttpServerOptions options;
  options.shutdown_grace = std::chrono::milliseconds(1000);
  options.tls_cert_file = std::move(cert_file);
  options.tls_key_file = std::move(key_file);
  auto server = std::make_unique<http::HttpServer>(options, std::move(*router));
  Status st = server->Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return server;
}

// Sets an environment variable for the scope, restoring its old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class ClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = StartServer(certs_.cert_file(), certs_.key_file()); }
  void TearDown() override { server_->Stop(); }

  std::string Url(std::string_view host = "127.0.0.1") const {
    return fmt::format("https://{}:{}", host, server_->port());
  }
  Result<ApiClient> Client(std::string ca_file, std::string host = "127.0.0.1") {
    ApiClientOptions options;
    options.server = Url(host);
    options.ca_file = std::move(ca_file);
    options.backoff_ms = 1;
    return ApiClient::Create(options);
  }

  http::testing::TestCertificates certs_;
  std::unique_ptr<http::HttpServer> server_;
};

TEST_F(ClientTlsTest, WithTheCaFileTheServerIsTrusted) {
  auto client = Client(certs_.ca_file());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_TRUE(client->server().tls);
  for (int i = 0; i < 3; ++i) {
    auto get = client->Get("/api/v1/hello");
    ASSERT_TRUE(get.ok()) << get.status().ToString();
    EXPECT_EQ(get->status, 200);
    EXPECT_EQ(get->json, Json({{"hello", "tls"}}));
    auto post = client->Post("/api/v1/echo", {{"i", i}});
    ASSERT_TRUE(post.ok()) << post.status().ToString();
    EXPECT_EQ(Json::parse(post->json["body"].get<std::string>()), Json({{"i", i}}));
  }
  EXPECT_EQ(client->connections_opened(), 1) << "keep-alive over TLS";
}

TEST_F(ClientTlsTest, WithoutTheCaTheCertificateDoesNotVerify) {
  auto client = Client("");
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto get = client->Get("/api/v1/hello");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), StatusCode::kFailedPrecondition) << get.status().ToString();
  EXPECT_THAT(get.status().message(), HasSubstr("the TLS certificate of the Sluice server at " + Url()));
  EXPECT_THAT(get.status().message(), HasSubstr("does not verify"));
  EXPECT_THAT(get.status().message(), HasSubstr("pass that CA's certificate with --ca-cert or SLUICE_CA_CERT"));
  EXPECT_EQ(client->connections_opened(), 1) << "a certificate that does not verify is not retried";
}

TEST_F(ClientTlsTest, TheCertificateMustNameTheHost) {
  // The certificate names 127.0.0.1 only; "localhost" reaches the same server but does not match.
  auto by_name = Client(certs_.ca_file(), "localhost");
  ASSERT_TRUE(by_name.ok());
  auto get = by_name->Get("/api/v1/hello");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), StatusCode::kFailedPrecondition) << get.status().ToString();
  EXPECT_THAT(get.status().message(), HasSubstr("is not valid for 'localhost'"));

  // A certificate for the name (DNS SAN, sent in SNI) is accepted under that name.
  http::testing::TestCertificates named({"DNS:localhost"});
  auto server = StartServer(named.cert_file(), named.key_file());
  ApiClientOptions options;
  options.server = fmt::format("https://localhost:{}", server->port());
  options.ca_file = named.ca_file();
  auto client = ApiClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto ok = client->Get("/api/v1/hello");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  server->Stop();
}

TEST_F(ClientTlsTest, TheCaComesFromTheConfigEnvironmentOrFlag) {
  std::string config = certs_.WriteFile("client.json", Json({{"ca_file", certs_.dir() + "/nowhere.pem"}}).dump());
  ClientFlags flags;
  flags.config_path = config;
  flags.server = Url();
  // The file's CA does not exist: the client refuses to start.
  auto from_file = ClientConfig::Resolve(flags);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  auto bad = ApiClient::Create(from_file->ToOptions());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("nowhere.pem"));
  // SLUICE_CA_CERT overrides the file.
  {
    ScopedEnv env("SLUICE_CA_CERT", certs_.ca_file());
    auto resolved = ClientConfig::Resolve(flags);
    ASSERT_TRUE(resolved.ok());
    EXPECT_EQ(resolved->ca_file, certs_.ca_file());
    auto client = ApiClient::Create(resolved->ToOptions());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    auto get = client->Get("/api/v1/hello");
    EXPECT_TRUE(get.ok()) << get.status().ToString();
    // ... and --ca-cert overrides both.
    flags.ca_file = certs_.cert_file();  // a chain that also holds the CA
    EXPECT_EQ(ClientConfig::Resolve(flags)->ca_file, certs_.cert_file());
  }
}

TEST_F(ClientTlsTest, BadCaFilesAreRefusedAtCreate) {
  auto missing = Client(certs_.dir() + "/missing.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("missing.pem' (--ca-cert or SLUICE_CA_CERT) cannot be read"));
  auto garbage = Client(certs_.WriteFile("garbage.pem", "not a certificate\n"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status().message(), HasSubstr("has no PEM certificate"));
  // Only https needs it.
  ApiClientOptions plain;
  plain.server = "http://127.0.0.1:1";
  plain.ca_file = certs_.dir() + "/missing.pem";
  EXPECT_TRUE(ApiClient::Create(plain).ok());
}

TEST_F(ClientTlsTest, HttpsToAPlainServerFailsTheHandshake) {
  auto plain = StartServer();
  ApiClientOptions options;
  options.server = fmt::format("https://127.0.0.1:{}", plain->port());
  options.ca_file = certs_.ca_file();
  options.retries = 0;
  auto client = ApiClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto get = client->Get("/api/v1/hello");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), StatusCode::kUnavailable) << get.status().ToString();
  EXPECT_THAT(get.status().message(), HasSubstr("TLS handshake with the Sluice server at " + options.server));
  EXPECT_THAT(get.status().message(), HasSubstr("does it serve https"));
  plain->Stop();
}

}  // namespace
}  // namespace sluice::client
