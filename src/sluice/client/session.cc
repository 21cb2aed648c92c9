#include "sluice/client/session.h"

#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/client/api_client.h"

namespace sluice::client {

namespace {

// POST /api/v1/auth/token without any bearer token; the tokens go into `config`.
Status Exchange(ClientConfig& config, const nlohmann::json& body) {
  ClientConfig anonymous = config;
  anonymous.token.clear();
  SLUICE_ASSIGN_OR_RETURN(ApiClient c, ApiClient::Create(anonymous.ToOptions()));
  SLUICE_ASSIGN_OR_RETURN(ApiResponse r, c.Request("POST", "/api/v1/auth/token", body.dump()));
  if (r.status == 400 && r.json.is_object() && r.json.value("code", "") == "invalid_grant") {
    return Status::FailedPrecondition("{}", r.json.value("detail", "the server refused the credentials"));
  }
  SLUICE_RETURN_IF_ERROR(StatusFromResponse(r));
  if (!r.json.is_object() || !r.json.contains("access_token") || !r.json["access_token"].is_string()) {
    return Status::IoError("the server's token response has no access_token");
  }
  config.token = r.json["access_token"].get<std::string>();
  config.refresh_token = r.json.value("refresh_token", "");
  return Status::OK();
}

}  // namespace

std::optional<int64_t> JwtExpiry(const std::string& token) {
  const size_t a = token.find('.');
  if (a == std::string::npos) return std::nullopt;
  const size_t b = token.find('.', a + 1);
  if (b == std::string::npos) return std::nullopt;
  auto payload = Base64UrlDecode(std::string_view(token).substr(a + 1, b - a - 1));
  if (!payload) return std::nullopt;
  nlohmann::json claims = nlohmann::json::parse(*payload, nullptr, false);
  if (!claims.is_object() || !claims.contains("exp") || !claims["exp"].is_number_integer()) return std::nullopt;
  return claims["exp"].get<int64_t>();
}

Status PasswordLogin(ClientConfig& config, const std::string& user, const std::string& password) {
  return Exchange(config, {{"grant_type", "password"}, {"username", user}, {"password", password}});
}

Status RefreshIfExpiring(ClientConfig& config, const std::string& path, int64_t now_seconds) {
  if (config.refresh_token.empty()) return Status::OK();
  auto exp = JwtExpiry(config.token);
  if (exp && *exp > now_seconds + 60) return Status::OK();
  Status st = Exchange(config, {{"grant_type", "refresh_token"}, {"refresh_token", config.refresh_token}});
  if (st.code() == StatusCode::kFailedPrecondition) {
    config.token.clear();
    config.refresh_token.clear();
    (void)config.Save(path);
    return Status::FailedPrecondition("your session has ended ({}); run `sluice login --user NAME` again", st.message());
  }
  SLUICE_RETURN_IF_ERROR(st);
  return config.Save(path);
}

}  // namespace sluice::client
