// Session: the CLI's login with a user name and password (POST /api/v1/auth/token), and the
// renewal of its short-lived access token with the refresh token kept in the client config.
// Thread-safety: free functions; they read and write the client config file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sluice/base/status.h"
#include "sluice/client/client_config.h"

namespace sluice::client {

// The `exp` of a JWT (seconds since 1970) without checking its signature (the server does);
// nullopt for a token that is not a JWT with a numeric exp (an API token never expires here).
std::optional<int64_t> JwtExpiry(const std::string& token);

// Exchanges user and password for tokens and stores them in `config` (not saved). The server's
// answer to a wrong password is FailedPrecondition ("wrong user name or password").
Status PasswordLogin(ClientConfig& config, const std::string& user, const std::string& password);

// When `config` holds a refresh token and its access token expires within a minute, trades the
// refresh token for new ones and saves the config to `path`. A refused refresh token drops both
// and says to run `sluice login` again.
Status RefreshIfExpiring(ClientConfig& config, const std::string& path, int64_t now_seconds);

}  // namespace sluice::client
