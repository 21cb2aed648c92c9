#include "sluice/client/client_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sluice/io/file_system.h"

namespace sluice::client {
namespace {

std::optional<std::string> Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

Result<std::string> ClientConfig::DefaultPath() {
  if (auto path = Env("SLUICE_CONFIG"); path && !path->empty()) return *path;
  auto home = Env("HOME");
  if (!home || home->empty()) {
    return Status::InvalidArgument("cannot find the client config: set SLUICE_CONFIG or HOME");
  }
  return *home + "/.config/sluice/client.json";
}

Result<ClientConfig> ClientConfig::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return ClientConfig{};
    return Status::IoError("cannot read the client config {}: {}", path, std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::InvalidArgument("client config {} is not a JSON object like {{\"server\": \"http://...\", "
                                   "\"token\": \"...\"}}",
                                   path);
  }
  ClientConfig config;
  for (const auto& [key, value] : json.items()) {
    std::string* target = key == "server"          ? &config.server
                          : key == "token"         ? &config.token
                          : key == "refresh_token" ? &config.refresh_token
                          : key == "ca_file"       ? &config.ca_file
                                                   : nullptr;
    if (target == nullptr) {
      return Status::InvalidArgument(
          "client config {}: unknown member '{}' (known: server, token, refresh_token, ca_file)", path, key);
    }
    if (!value.is_string()) return Status::InvalidArgument("client config {}: '{}' must be a string", path, key);
    *target = value.get<std::string>();
  }
  return config;
}

Status ClientConfig::Save(const std::string& path) const {
  std::filesystem::path file(path);
  std::error_code ec;
  if (file.has_parent_path() && !std::filesystem::exists(file.parent_path(), ec)) {
    SLUICE_RETURN_IF_ERROR(io::MakeDirs(file.parent_path().string()));
    std::filesystem::permissions(file.parent_path(), std::filesystem::perms::owner_all, ec);
  }
  nlohmann::json json = nlohmann::json::object();
  if (!server.empty()) json["server"] = server;
  if (!token.empty()) json["token"] = token;
  if (!refresh_token.empty()) json["refresh_token"] = refresh_token;
  if (!ca_file.empty()) json["ca_file"] = ca_file;
  std::string text = json.dump(2) + "\n";

  return io::WriteFileAtomic(path, text, 0600);  // it holds tokens: owner only
}

Result<ClientConfig> ClientConfig::Resolve(const ClientFlags& flags) {
  std::string path;
  if (flags.config_path) {
    path = *flags.config_path;
  } else {
    SLUICE_ASSIGN_OR_RETURN(path, DefaultPath());
  }
  SLUICE_ASSIGN_OR_RETURN(ClientConfig config, Load(path));
  if (auto server = Env("SLUICE_SERVER"); server && !server->empty()) config.server = *server;
  if (auto token = Env("SLUICE_TOKEN"); token && !token->empty()) {
    config.token = *token;
    config.refresh_token.clear();
  }
  if (auto ca_file = Env("SLUICE_CA_CERT"); ca_file && !ca_file->empty()) config.ca_file = *ca_file;
  if (flags.server) config.server = *flags.server;
  if (flags.token) {
    config.token = *flags.token;
    config.refresh_token.clear();
  }
  if (flags.ca_file) config.ca_file = *flags.ca_file;
  if (config.server.empty()) config.server = ApiClientOptions{}.server;
  return config;
}

ApiClientOptions ClientConfig::ToOptions() const {
  ApiClientOptions options;
  if (!server.empty()) options.server = server;
  options.token = token;
  options.ca_file = ca_file;
  return options;
}

}  // namespace sluice::client
