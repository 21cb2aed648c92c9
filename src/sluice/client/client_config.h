// ClientConfig: where the CLI finds the server and its token. One small JSON file,
// `$SLUICE_CONFIG` or else `~/.config/sluice/client.json`:
//   {"server": "http://127.0.0.1:8080", "token": "...", "refresh_token": "..."}
// Precedence, lowest first: built-in default < the file < SLUICE_SERVER / SLUICE_TOKEN <
// explicit flags (--server, --token). `sluice login` writes the file with Save (mode 0600: it
// holds a credential). For an https server whose certificate comes from a private CA, "ca_file"
// names that CA's PEM certificate (overridden by SLUICE_CA_CERT, then --ca-cert).
//
// Thread-safety: plain values; Resolve and DefaultPath read the environment.
#pragma once

#include <optional>
#include <string>

#include "sluice/base/status.h"
#include "sluice/client/api_client.h"

namespace sluice::client {

// Values given on the command line; they win over the file and the environment.
struct ClientFlags {
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> ca_file;      // --ca-cert
  std::optional<std::string> config_path;  // --config; else $SLUICE_CONFIG, else the default
};

struct ClientConfig {
  std::string server;  // empty: not set at this level
  std::string token;
  // From `sluice login --user`: exchanged for a new access token when `token` expires. Only used
  // with the file's own token (an overriding SLUICE_TOKEN or --token drops it).
  std::string refresh_token;
  // https: PEM CA certificate(s) trusted besides the system's store.
  std::string ca_file;

  // $SLUICE_CONFIG, else $HOME/.config/sluice/client.json; InvalidArgument without HOME.
  static Result<std::string> DefaultPath();
  // The file's contents; a missing file is an empty config. InvalidArgument naming the path for
  // malformed JSON, an unknown member or a member that is not a string.
  static Result<ClientConfig> Load(const std::string& path);
  // Writes the file atomically (temp file + rename) with mode 0600, creating its directory
  // (mode 0700) if needed. Empty members are left out.
  Status Save(const std::string& path) const;

  // The effective configuration: file < environment < flags (an empty flag value counts as
  // set: `--token ""` sends no token). The server defaults to ApiClientOptions's.
  static Result<ClientConfig> Resolve(const ClientFlags& flags = {});
  // Options for an ApiClient: server, token and ca_file (timeouts and retries keep their
  // defaults).
  ApiClientOptions ToOptions() const;
};

}  // namespace sluice::client
