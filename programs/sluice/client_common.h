// What the client verbs share (client_verbs.cc, security_verbs.cc, ops_verbs.cc, and `run
// NAMESPACE/NAME` in run_verbs.cc): the flags every client verb has, the connection to the server,
// parsing NAMESPACE/NAME and reading input, the runs table. (How a failure is printed and becomes
// an exit code is answer.h's.)
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "sluice/base/status.h"
#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "verbs.h"

namespace sluice::cli {

class Command;

// --server, --token, --token-file, --ca-cert and -o of a client verb.
struct ClientCommon {
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> token_file;  // a file holding the token: keeps it off the command line
  std::optional<std::string> ca_cert;  // https: a PEM file of the CA that signed the server's certificate
  OutputFormat output = OutputFormat::kTable;
};
// Declares them on `cmd`, after the verb's own options (that is where --help lists them).
void AddClientFlags(Command& cmd, ClientCommon& common);
// Declares --token (warning when it is used: the token shows in `ps`) and --token-file on `cmd`
// (AddClientFlags does; for verbs with their own client flags).
void AddTokenFlags(Command& cmd, std::optional<std::string>& token, std::optional<std::string>& token_file);

// The token the flags give: --token's value, or the first line of the --token-file FILE
// (surrounding whitespace removed); nullopt when neither is given (SLUICE_TOKEN and the client
// config then apply). InvalidArgument for both at once, or a file that cannot be read or is empty.
Result<std::optional<std::string>> TokenOfFlags(const std::optional<std::string>& token,
                                                const std::optional<std::string>& token_file);

// The effective client config (flags, $SLUICE_SERVER/$SLUICE_TOKEN/$SLUICE_CA_CERT, the client
// config file) with a fresh access token (renewed with the refresh token when it is about to
// expire).
Result<client::ClientConfig> ResolveClientConfig(const std::optional<std::string>& server,
                                                 const std::optional<std::string>& token,
                                                 const std::optional<std::string>& ca_cert);
// A client of the server the flags name.
Result<client::ApiClient> Connect(const ClientCommon& common);

// What a client verb runs: connect (a failure is answered with Fail: exit 2 for a user error such
// as a bad --token-file, 1 for the rest), then `verb` with the client.
template <typename Options>
std::function<int()> Connected(std::shared_ptr<Options> o, int (*verb)(client::ApiClient&, const Options&)) {
  return [o, verb] {
    auto c = Connect(*o);
    if (!c.ok()) return Fail(c.status());
    return verb(*c, *o);
  };
}

// "web/clicks" -> {"web", "clicks"}; InvalidArgument for anything but NAMESPACE/NAME.
Result<std::pair<std::string, std::string>> SplitTarget(const std::string& target);
// A file's content, or stdin's for "-" or "".
Result<std::string> ReadInput(const std::string& file);

// The runs table: its header and one row per run (ls runs, get run, run --wait).
const std::string& RunHeader();
std::string RunRow(const nlohmann::json& run);
// What follows a run's row in get run, describe run and run --wait: a running run's progress
// (epochs, last checkpoint, watermark, lag), the error of one that failed, and the counts per
// component (of the progress while it runs, of the summary once it ended) in the plan's order:
// `run` is the answer parsed with its members in the order sent.
std::string RunDetails(const nlohmann::ordered_json& run);
// A run's status is final (it will not change any more).
bool FinalRunStatus(const std::string& status);

// run NAMESPACE/NAME: queues a run of a pipeline on the server (ops_verbs.cc).
struct TriggerOptions {
  std::string pipeline;      // NAMESPACE/NAME
  bool wait = false;         // until the run ends; exit 1 unless it succeeded
  int64_t version = 0;       // 0: the latest
  std::string logical_time;  // ISO-8601; empty: now
};
int TriggerRun(const ClientCommon& common, const TriggerOptions& o);

}  // namespace sluice::cli
