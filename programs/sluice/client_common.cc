// What the client verbs share (client_common.h).
#include "client_common.h"

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli_app.h"
#include "sluice/base/strings.h"
#include "sluice/client/session.h"
#include "sluice/control/metadata/run_store.h"

namespace sluice::cli {

void AddClientFlags(Command& cmd, ClientCommon& common) {
  cmd.Option("--server", common.server,
             "Server URL (default: $SLUICE_SERVER, the client config, or http://127.0.0.1:8080)");
  AddTokenFlags(cmd, common.token, common.token_file);
  cmd.Option("--ca-cert", common.ca_cert,
             "https: PEM file of the CA that signed the server's certificate (default: $SLUICE_CA_CERT, the client "
             "config's ca_file, then the system's CAs)");
  cmd.Output(common.output);
}

void AddTokenFlags(Command& cmd, std::optional<std::string>& token, std::optional<std::string>& token_file) {
  cmd.Option("--token", token,
             "Bearer token (default: $SLUICE_TOKEN or the client config). Other users of the machine can read it in "
             "the process list: prefer --token-file or $SLUICE_TOKEN")
      .Credential("use --token-file FILE or $SLUICE_TOKEN instead");
  cmd.Option("--token-file", token_file,
             "File holding the bearer token (its first line), instead of --token (default: $SLUICE_TOKEN or the "
             "client config)");
}

Result<std::optional<std::string>> TokenOfFlags(const std::optional<std::string>& token,
                                                const std::optional<std::string>& token_file) {
  if (!token_file) return token;
  if (token) return Status::InvalidArgument("give the token with --token or --token-file, not both");
  std::ifstream in(*token_file, std::ios::binary);
  if (!in) return Status::InvalidArgument("--token-file {}: cannot read it", *token_file);
  std::string line;
  std::getline(in, line);
  const std::string_view trimmed = Trim(line);
  if (trimmed.empty()) {
    return Status::InvalidArgument("--token-file {}: the file is empty; its first line must be the token", *token_file);
  }
  return std::optional<std::string>(std::string(trimmed));
}

Result<client::ClientConfig> ResolveClientConfig(const std::optional<std::string>& server,
                                                 const std::optional<std::string>& token,
                                                 const std::optional<std::string>& ca_cert) {
  client::ClientFlags flags;
  flags.server = server;
  flags.token = token;
  flags.ca_file = ca_cert;
  SLUICE_ASSIGN_OR_RETURN(auto config, client::ClientConfig::Resolve(flags));
  if (!config.refresh_token.empty()) {
    SLUICE_ASSIGN_OR_RETURN(std::string path, client::ClientConfig::DefaultPath());
    SLUICE_RETURN_IF_ERROR(client::RefreshIfExpiring(config, path, static_cast<int64_t>(std::time(nullptr))));
  }
  return config;
}

Result<client::ApiClient> Connect(const ClientCommon& common) {
  SLUICE_ASSIGN_OR_RETURN(auto token, TokenOfFlags(common.token, common.token_file));
  SLUICE_ASSIGN_OR_RETURN(auto config, ResolveClientConfig(common.server, token, common.ca_cert));
  return client::ApiClient::Create(config.ToOptions());
}

Result<std::pair<std::string, std::string>> SplitTarget(const std::string& target) {
  const size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size() ||
      target.find('/', slash + 1) != std::string::npos) {
    return Status::InvalidArgument("name the pipeline as NAMESPACE/NAME (e.g. web/clickstream), not '{}'", target);
  }
  return std::make_pair(target.substr(0, slash), target.substr(slash + 1));
}

Result<std::string> ReadInput(const std::string& file) {
  std::stringstream buf;
  if (file.empty() || file == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::NotFound("cannot read {}", file);
    buf << in.rdbuf();
  }
  return buf.str();
}

const std::string& RunHeader() {
  static const std::string header = fmt::format("{:<24} {:<28} {:>3} {:<10} {:<10} {:>3} {}\n", "RUN", "PIPELINE",
                                                "VER", "CAUSE", "STATUS", "TRY", "LOGICAL TIME");
  return header;
}

bool FinalRunStatus(const std::string& status) {
  const std::optional<metadata::RunStatus> s = metadata::ParseRunStatus(status);
  return s && metadata::IsFinal(*s);
}

std::string RunDetails(const nlohmann::ordered_json& run) {
  std::string out;
  const std::string status = run.value("status", "");
  const auto& progress = run.contains("progress") ? run["progress"] : nlohmann::ordered_json();
  const bool running = status == "running" && progress.is_object();
  if (running) {
    const auto& ck = progress.contains("checkpoint") ? progress["checkpoint"] : nlohmann::ordered_json::object();
    const auto& wm = progress.contains("watermark") ? progress["watermark"] : nlohmann::ordered_json();
    out += fmt::format("progress: {} epochs ({} records) in this run; last checkpoint: epoch {} at {}; watermark: {}\n",
                       progress.value("epochs", int64_t{0}), progress.value("records", int64_t{0}),
                       ck.value("epoch", int64_t{0}), ck.value("at", "-"),
                       wm.is_string() ? wm.get<std::string>() : "-");
    if (progress.contains("lag") && progress["lag"].is_array() && !progress["lag"].empty()) {
      out += fmt::format("  {:<24} {:>9} {:>12} {:>12} {:>12}\n", "source", "partition", "offset", "end", "lag");
      for (const auto& l : progress["lag"]) {
        out += fmt::format("  {:<24} {:>9} {:>12} {:>12} {:>12}\n", l.value("source", ""), l.value("partition", 0),
                           l.value("offset", int64_t{0}), l.value("end", int64_t{0}), l.value("lag", int64_t{0}));
      }
    }
  }
  const std::string error = run.value("error", "");
  if (!error.empty()) out += "error: " + error + "\n";
  const auto& counted = running ? progress : (run.contains("summary") ? run["summary"] : nlohmann::ordered_json());
  if (counted.is_object() && counted.contains("components") && counted["components"].is_object()) {
    out += fmt::format("\n  {:<24} {:>12} {:>12} {:>12} {:>12}\n", "component", "in", "out", "dead_letter", "dropped");
    for (const auto& [name, k] : counted["components"].items()) {
      out += fmt::format("  {:<24} {:>12} {:>12} {:>12} {:>12}\n", name, k.value("in", int64_t{0}),
                         k.value("out", int64_t{0}), k.value("dead_letter", int64_t{0}),
                         k.value("dropped", int64_t{0}));
    }
  }
  return out;
}

std::string RunRow(const nlohmann::json& r) {
  return fmt::format("{:<24} {:<28} {:>3} {:<10} {:<10} {:>3} {}\n", r.value("id", ""),
                     r.value("namespace", "") + "/" + r.value("pipeline", ""), r.value("version", 0),
                     r.value("cause", ""), r.value("status", ""), r.value("attempt", 0), r.value("logical_time", ""));
}

}  // namespace sluice::cli
