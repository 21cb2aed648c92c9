// The verbs of the `sluice` command. Each verb file declares its own subcommands and their options
// in one registration function below (through cli_app.h) and binds what they run; main.cc only
// calls them. Each verb returns the process exit code (0 success, 1 runtime failure, 2 invalid
// input) and prints its result and its errors through answer.h.
#pragma once

#include <string>
#include <vector>

#include "answer.h"
#include "sluice/base/status.h"
#include "sluice/control/worker/worker.h"
#include "sluice/pipeline/compile.h"

namespace sluice::cli {

class Command;

// The registration functions, in the order `sluice --help` lists their commands.
void AddRunVerbs(Command& app);       // validate, plan, run, dev kafka (run_verbs.cc)
void AddLakeVerbs(Command& app);      // lake ls | describe | history | read | optimize | vacuum (lake_verbs.cc)
void AddLogVerbs(Command& app);       // log produce | consume | ls (log_verbs.cc)
void AddServeVerb(Command& app);      // serve (serve_verb.cc)
void AddWorkerVerb(Command& app);     // worker (worker_verb.cc)
void AddClientVerbs(Command& app);    // apply, get, ls, describe, delete, ingest (client_verbs.cc)
void AddSecurityVerbs(Command& app);  // login, whoami, token, user, role, audit (security_verbs.cc)
void AddOpsVerbs(Command& app);       // new, secret, environment, ..., cancel, pause, resume (ops_verbs.cc)
void AddTestVerb(Command& app);       // test (test_verb.cc)
void AddVersionVerb(Command& app);    // version, and the root's --version (version_verb.cc)

// Compile options for a workdir; the warehouse is $SLUICE_WAREHOUSE_URL when set, else the
// SQLite file in the workdir.
pipeline::CompileOptions MakeCompileOptions(const std::string& workdir, const std::string& lake_root,
                                            const std::vector<std::string>& sets);

// What the warning about a password in a --metadata URL advises (serve, audit verify).
inline constexpr const char* kMetadataPasswordAdvice =
    "leave the password out of the URL and give it with $PGPASSWORD or ~/.pgpass";

// --batch-workers and --stream-workers of `serve` and `worker`, and the older flag that counted
// every run alike (serve --workers, worker --threads), now an alias of --batch-workers. -1: not
// given.
struct SlotFlags {
  int batch = -1, stream = -1, legacy = -1;
};
void AddSlotFlags(Command& cmd, SlotFlags& flags, const std::string& legacy_name, int legacy_min);
// The slots the flags ask for (worker::WorkerSlots' defaults for those not given). The old flag
// sets the batch slots, and at 0 the stream slots too (no runs at all), with a warning on stderr
// that it is deprecated; InvalidArgument when it is given with --batch-workers.
Result<worker::WorkerSlots> SlotsOfFlags(const SlotFlags& flags, const std::string& legacy_name);

}  // namespace sluice::cli
