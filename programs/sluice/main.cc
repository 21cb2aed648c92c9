// sluice: one binary for the whole platform. This file only parses the command line.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "verbs.h"

namespace {

using sluice::cli::OutputFormat;

const std::map<std::string, OutputFormat> kFormats = {
    {"table", OutputFormat::kTable}, {"json", OutputFormat::kJson}, {"yaml", OutputFormat::kYaml}};

void AddSpecFlags(CLI::App* cmd, sluice::cli::SpecOptions& o, bool with_workdir) {
  cmd->add_option("-f,--file", o.file, "Pipeline spec (YAML)")->required()->check(CLI::ExistingFile);
  if (with_workdir) {
    cmd->add_option("--workdir", o.workdir, "Where runs keep their lake, warehouse, state and dead letters")
        ->default_val(".sluice");
  }
  cmd->add_option("--lake-root", o.lake_root, "Lake root (default <workdir>/lake)");
  cmd->add_option("--set", o.sets, "Override a spec value: --set spec.sources.raw.path=data/*.json (repeatable)");
  cmd->add_option("-o,--output", o.output, "Output format: table, json or yaml")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
      ->default_str("table");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice — declare a data pipeline once; ingest, validate, transform and land it.\n"
               "Run 'sluice COMMAND --help' for the flags of a command."};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log progress and decisions to stderr");

  sluice::cli::SpecOptions validate_opts, plan_opts, run_opts;
  auto* validate = app.add_subcommand("validate", "Check a spec: keys, types, expressions, inputs. Exit 0 if valid, 2 with FILE:LINE: COMPONENT: message per problem");
  AddSpecFlags(validate, validate_opts, true);

  auto* plan = app.add_subcommand("plan", "Compile a spec and print its plan: the DAG, the schema on every edge, state per operator");
  AddSpecFlags(plan, plan_opts, true);

  sluice::cli::RunFlags run_flags;
  auto* run = app.add_subcommand("run", "Run a spec locally, without a server (run -f SPEC): prints per-component counts (in, out, dead_letter, dropped). "
                                        "Or queue a run of a pipeline on the server (run NAMESPACE/NAME [--wait])");
  AddSpecFlags(run, run_opts, true);
  run->get_option("--file")->required(false);
  std::string remote_pipeline;
  bool remote_wait = false;
  std::optional<std::string> remote_server;
  int64_t remote_version = 0;
  run->add_option("pipeline", remote_pipeline, "NAMESPACE/NAME of a pipeline on the server (instead of -f)");
  run->add_option("--server", remote_server, "Server URL for run NAMESPACE/NAME");
  run->add_option("--version", remote_version, "run NAMESPACE/NAME: this version (default: the latest)");
  run->add_flag("--wait", remote_wait, "run NAMESPACE/NAME: wait until the run ends; exit 1 unless it succeeded");
  run->add_flag("--progress", run_flags.progress, "Print progress to stderr every 2 s (default when stderr is a terminal)");
  run->add_flag("-q,--quiet", run_flags.quiet, "Print nothing on success");
  run->add_option("--logical-time", run_flags.logical_time,
                  "The time this run stands for (ISO-8601, e.g. 2026-11-01T00:00:00Z): now(), warehouse commits and "
                  "SCD2 versions use it. Default: when the run starts");
  run->add_flag("--until-idle", run_flags.until_idle,
                "Stream specs: stop once every source has been read to its end (the last epoch closes every window). "
                "Without it a stream runs until SIGTERM/SIGINT, which finishes the current epoch and stops");
  run->add_option("--epoch-records", run_flags.epoch_records, "Stream specs: records per epoch at most (default 500000)");
  run->add_option("--epoch-interval", run_flags.epoch_interval,
                  "Stream specs: time per epoch at most, e.g. 1s or 500ms (default 1s)");
  run->add_option("--max-epochs", run_flags.max_epochs, "Stream specs: stop after this many epochs");
  run->add_option("--source-threads", run_flags.source_threads,
                  "Stream specs: threads that read and decode the sources, each a group of partitions "
                  "(default: one per core but one, at least one)");

  sluice::cli::DevKafkaOptions dev_kafka_opts;
  auto* dev = app.add_subcommand("dev", "Development helpers for laptops and tests");
  dev->require_subcommand(1);
  auto* dev_kafka = dev->add_subcommand(
      "kafka",
      "Start an IN-MEMORY development Kafka broker (librdkafka's mock cluster) on 127.0.0.1 and print its bootstrap "
      "servers. Data is lost when it stops. Commands on stdin inject faults: topic NAME N, down ID, up ID, rtt ID MS, "
      "errors API ERR..., help, quit");
  dev_kafka->add_option("--brokers", dev_kafka_opts.brokers, "Number of brokers (default 1)")->default_val(1);
  dev_kafka->add_option("--topic", dev_kafka_opts.topics, "Create a topic: NAME or NAME:PARTITIONS (repeatable)");

  sluice::cli::LakeOptions lake_opts;
  auto* lake = app.add_subcommand("lake", "Inspect and maintain lake tables (Delta Lake format) under <workdir>/lake");
  lake->require_subcommand(1);
  struct LakeVerb {
    const char* name;
    const char* help;
    bool needs_table;
  };
  const LakeVerb lake_verbs[] = {
      {"ls", "List the tables: version, files, rows, bytes, partition columns", false},
      {"describe", "A table's schema, partition columns, size and committed application versions", true},
      {"history", "A table's commits: version, time, operation, files added and removed", true},
      {"read", "Print a table's rows (a snapshot; --version for time travel)", true},
      {"optimize", "Compact small files into files of about --target-file-size (one commit)", true},
      {"vacuum", "Delete files no snapshot within --retention references (crashed writes, compacted files)", true},
  };
  std::vector<std::pair<CLI::App*, std::string>> lake_cmds;
  std::string lake_version_text, lake_target_size = "128MB";
  for (const auto& v : lake_verbs) {
    auto* cmd = lake->add_subcommand(v.name, v.help);
    lake_cmds.emplace_back(cmd, v.name);
    if (v.needs_table) cmd->add_option("table", lake_opts.table, "Table as layer.name, e.g. bronze.orders")->required();
    cmd->add_option("--workdir", lake_opts.workdir, "Working directory whose lake/ holds the tables")->default_val(".sluice");
    cmd->add_option("--lake-root", lake_opts.lake_root, "Lake root (default <workdir>/lake)");
    cmd->add_option("-o,--output", lake_opts.output, "Output format: table, json or yaml")
        ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
        ->default_str("table");
    std::string name = v.name;
    if (name == "read" || name == "describe") {
      cmd->add_option("--version", lake_version_text, "Read the table as of this version (time travel)");
    }
    if (name == "read") cmd->add_option("--limit", lake_opts.limit, "At most this many rows (default 20; -1 for all)");
    if (name == "optimize") cmd->add_option("--target-file-size", lake_target_size, "Target file size, e.g. 128MB");
    if (name == "vacuum") {
      cmd->add_option("--retention", lake_opts.retention, "Keep files referenced within this long (default 168h)");
      cmd->add_flag("--dry-run", lake_opts.dry_run, "List what would be deleted, delete nothing");
    }
  }

  sluice::cli::LogOptions log_opts;
  auto* logcmd = app.add_subcommand("log", "The embedded durable log (the default stream transport) under <workdir>/log");
  logcmd->require_subcommand(1);
  auto* log_produce = logcmd->add_subcommand("produce", "Append NDJSON records from stdin to TOPIC (durable before it returns)");
  log_produce->add_option("topic", log_opts.topic, "Topic name")->required();
  log_produce->add_option("--partitions", log_opts.partitions, "Partitions of a new topic (default 1)");
  log_produce->add_option("--key", log_opts.key, "JSON field whose value picks the partition (keeps a key in order)");
  auto* log_consume = logcmd->add_subcommand("consume", "Print the records of TOPIC from an offset");
  log_consume->add_option("topic", log_opts.topic, "Topic name")->required();
  log_consume->add_option("--partition", log_opts.partition, "Only this partition (default all)");
  log_consume->add_option("--from", log_opts.from, "First offset (default 0)");
  log_consume->add_option("--limit", log_opts.limit, "At most this many records");
  auto* log_ls = logcmd->add_subcommand("ls", "List topics with their partitions and end offsets");
  for (auto* cmd : {log_produce, log_consume, log_ls}) {
    cmd->add_option("--workdir", log_opts.workdir, "Working directory whose log/ holds the topics")->default_val(".sluice");
    cmd->add_option("-o,--output", log_opts.output, "Output format: table, json (consume: NDJSON with offsets) or yaml")
        ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
        ->default_str("table");
  }

  sluice::cli::ServeOptions serve_opts;
  auto* serve = app.add_subcommand("serve", "Run the control plane: the HTTP API (/api/v1) over the metadata database, until SIGTERM/SIGINT. Prints its base URL on stdout");
  serve->add_option("--listen", serve_opts.listen, "HOST:PORT to listen on (port 0 picks a free one)")->default_str("127.0.0.1:8080");
  serve->add_option("--workdir", serve_opts.workdir, "Where the embedded defaults live (meta.db, log/, lake/, ...)")->default_str(".sluice");
  serve->add_option("--metadata", serve_opts.metadata, "Metadata database: sqlite:PATH or postgresql://... (default sqlite:<workdir>/meta.db, or $SLUICE_METADATA_URL)");
  serve->add_option("--io-threads", serve_opts.io_threads, "Threads serving requests")->default_str("4");
  serve->add_option("--ingest-rate", serve_opts.ingest_rate, "Ingest requests per second per client (burst: twice that)")->default_str("1000");
  serve->add_option("--ingest-kafka", serve_opts.ingest_kafka, "Kafka bootstrap servers: ingest into the Kafka topics ingest.<stream> (which must exist), and http sources read them (default: the embedded log)");
  serve->add_option("--workers", serve_opts.workers, "Embedded worker threads that execute runs (0: none)")->default_str("1")->check(CLI::Range(0, 64));
  serve->add_flag("--insecure-dev", serve_opts.insecure_dev, "Turn authentication off (every caller is an admin) and allow a non-loopback address without TLS. For a laptop only: it warns at every start");
  serve->add_flag("--init-admin", serve_opts.init_admin, "Create the first admin user (--admin-user) if it does not exist; its password comes from $SLUICE_ADMIN_PASSWORD or is generated and printed once on stderr");
  serve->add_option("--admin-user", serve_opts.admin_user, "Name of the admin --init-admin creates")->default_str("admin");
  serve->add_option("--tls-cert", serve_opts.tls_cert, "PEM certificate (chain) of the API: serve HTTPS only (with --tls-key)");
  serve->add_option("--tls-key", serve_opts.tls_key, "PEM private key of --tls-cert");
  serve->add_option("--rate-limit", serve_opts.rate_limit, "Requests per second per principal (burst: twice that); over it, 429 with Retry-After")->default_str("1000");
  serve->add_option("--rate-limit-per-address", serve_opts.rate_limit_per_address, "Requests per second per client address, whoever sends them (burst: twice that)")->default_str("5000");
  serve->add_option("--access-token-ttl", serve_opts.access_token_ttl, "Lifetime of the access tokens /api/v1/auth/token issues (e.g. 15m, 1h)")->default_str("15m");
  serve->add_option("--oidc-issuer", serve_opts.oidc_issuer, "Accept JWTs of this OpenID Connect issuer (its `iss`); needs --oidc-audience and --oidc-jwks-url");
  serve->add_option("--oidc-audience", serve_opts.oidc_audience, "The `aud` the issuer's tokens must carry for this API");
  serve->add_option("--oidc-jwks-url", serve_opts.oidc_jwks_url, "URL of the issuer's JWKS (its public keys; cached, refetched when a new key id appears)");
  serve->add_option("--oidc-groups-claim", serve_opts.oidc_groups_claim, "Claim holding the caller's groups; bind roles to them as group:NAME")->default_str("groups");

  sluice::cli::WorkerVerbOptions worker_opts;
  auto* workercmd = app.add_subcommand("worker", "Execute runs for a sluice serve on this machine: claims them through the API (--server) until SIGTERM");
  workercmd->add_option("--server", worker_opts.server, "Server URL (default: $SLUICE_SERVER, the client config, or http://127.0.0.1:8080)");
  workercmd->add_option("--token", worker_opts.token, "Bearer token (default: $SLUICE_TOKEN or the client config)");
  workercmd->add_option("--ca-cert", worker_opts.ca_cert, "https: PEM file of the CA that signed the server's certificate (default: $SLUICE_CA_CERT or the client config's ca_file)");
  workercmd->add_option("--workdir", worker_opts.workdir, "Where this worker's runs keep their outputs and state")->default_str(".sluice");
  workercmd->add_option("--threads", worker_opts.threads, "Runs executed at once")->default_str("1")->check(CLI::Range(1, 64));

  sluice::cli::ClientOptions client_opts;
  auto add_client_flags = [&](CLI::App* cmd) {
    cmd->add_option("--server", client_opts.server, "Server URL (default: $SLUICE_SERVER, the client config, or http://127.0.0.1:8080)");
    cmd->add_option("--token", client_opts.token, "Bearer token (default: $SLUICE_TOKEN or the client config)");
    cmd->add_option("--ca-cert", client_opts.ca_cert, "https: PEM file of the CA that signed the server's certificate (default: $SLUICE_CA_CERT, the client config's ca_file, then the system's CAs)");
    cmd->add_option("-o,--output", client_opts.output, "Output format: table, json or yaml")
        ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
        ->default_str("table");
  };
  auto* apply = app.add_subcommand("apply", "Create a pipeline on the server, or add a version when its spec changed (applying the same spec again changes nothing)");
  apply->add_option("-f,--file", client_opts.file, "Pipeline spec (YAML)")->required()->check(CLI::ExistingFile);
  apply->add_option("-m,--message", client_opts.message, "Why it changed (kept with the version)");
  apply->add_option("--environment", client_opts.environment, "The environment whose ${config.*} and ${secret.*} the pipeline uses");
  std::vector<std::pair<CLI::App*, std::string>> client_cmds = {{apply, "apply"}};
  for (auto [verb, help] : std::vector<std::pair<std::string, std::string>>{
           {"get", "Show a pipeline or a run (get pipeline NAMESPACE/NAME, get run ID), or list them (get pipelines, get runs)"},
           {"ls", "List pipelines or runs (ls pipelines [--namespace NS], ls runs [--pipeline NAME] [--status S])"},
           {"describe", "Show a pipeline with its versions and latest spec (describe pipeline NAMESPACE/NAME)"},
           {"delete", "Delete a pipeline and its versions (delete pipeline NAMESPACE/NAME)"}}) {
    auto* cmd = app.add_subcommand(verb, help);
    cmd->add_option("resource", client_opts.resource, "pipelines, runs, templates, environments or datasets (singular works too)")->required();
    cmd->add_option("name", client_opts.target, "NAMESPACE/NAME of a pipeline or template, a run id, or an environment name");
    if (verb == "ls" || verb == "get") {
      cmd->add_option("--namespace", client_opts.ns, "Only this namespace");
      cmd->add_option("--pipeline", client_opts.pipeline_filter, "runs: only this pipeline's");
      cmd->add_option("--status", client_opts.status_filter, "runs: only queued, running, succeeded, failed or cancelled");
    }
    client_cmds.emplace_back(cmd, verb);
  }
  auto* ingest = app.add_subcommand("ingest", "Send NDJSON events (a file or stdin) to a stream through the ingest API, in batches");
  ingest->add_option("stream", client_opts.target, "Stream name (pipelines read it with an http source)")->required();
  ingest->add_option("-f,--file", client_opts.file, "NDJSON file (default: stdin)");
  ingest->add_option("--batch", client_opts.batch, "Events per request")->default_str("1000")->check(CLI::Range(1, 100000));
  client_cmds.emplace_back(ingest, "ingest");
  auto* login = app.add_subcommand("login", "Log in and keep the server URL and your tokens for the other commands (client config, mode 0600): with --user, the password is read from stdin (the access token is renewed with a refresh token); else an API token from --token or stdin");
  login->add_option("--user", client_opts.user, "Local user name: log in with its password (read from stdin, not echoed)");
  client_cmds.emplace_back(login, "login");
  auto* whoami = app.add_subcommand("whoami", "Show who the server thinks you are, your groups and your roles per namespace");
  client_cmds.emplace_back(whoami, "whoami");
  auto* token = app.add_subcommand("token", "API tokens for machines: token create NAME [--subject svc:NAME] [--days N] (shown once), token ls, token revoke ID");
  token->add_option("action", client_opts.action, "create, ls or revoke")->required()->check(CLI::IsMember({"create", "ls", "revoke"}));
  token->add_option("name", client_opts.target, "create: what the token is for; revoke: its id");
  token->add_option("--subject", client_opts.subject, "create: who the token acts as (default: you; another subject needs admin on '*'); ls: only this subject's");
  token->add_option("--days", client_opts.days, "create: days until it expires (default 90, at most 366)");
  client_cmds.emplace_back(token, "token");
  auto* user = app.add_subcommand("user", "Local users: user create NAME (password from stdin), user ls, user rm NAME, user passwd NAME");
  user->add_option("action", client_opts.action, "create, ls, rm or passwd")->required()->check(CLI::IsMember({"create", "ls", "rm", "passwd"}));
  user->add_option("name", client_opts.target, "User name");
  user->add_flag("--current", client_opts.current_password, "passwd of yourself: stdin has your current password on the first line, then the new one");
  client_cmds.emplace_back(user, "user");
  auto* role = app.add_subcommand("role", "Role bindings: role grant SUBJECT ROLE --namespace NS, role revoke SUBJECT --namespace NS, role ls --namespace NS ('*': every namespace)");
  role->add_option("action", client_opts.action, "grant, revoke or ls")->required()->check(CLI::IsMember({"grant", "revoke", "ls"}));
  role->add_option("subject", client_opts.target, "user:NAME, group:NAME, svc:NAME or oidc:SUB");
  role->add_option("role", client_opts.role, "viewer, operator, editor or admin");
  role->add_option("--namespace", client_opts.ns, "The namespace, or '*' for every namespace")->required();
  client_cmds.emplace_back(role, "role");
  auto* audit = app.add_subcommand("audit", "The audit log (admins): audit ls [--principal P] [--outcome ok|denied|failed], audit verify (exit 0: intact, 1: tampered)");
  audit->add_option("action", client_opts.action, "ls or verify")->required()->check(CLI::IsMember({"ls", "verify"}));
  audit->add_option("--principal", client_opts.subject, "ls: only this principal's rows");
  audit->add_option("--outcome", client_opts.outcome_filter, "ls: only ok, denied or failed");
  audit->add_option("--limit", client_opts.limit, "ls: newest rows to show")->default_str("50")->check(CLI::Range(1, 1000));
  audit->add_option("--metadata", client_opts.metadata, "verify: read this metadata database directly (sqlite:PATH or postgresql://...) instead of asking the server");
  audit->add_option("--workdir", client_opts.workdir, "verify --metadata: the server's workdir, whose secret.key keys the chain (or set SLUICE_SECRET_KEY)")->default_str(".sluice");
  client_cmds.emplace_back(audit, "audit");
  auto* newcmd = app.add_subcommand("new", "Render a template on the server with parameter values (checked all at once); --apply creates the pipeline");
  newcmd->add_option("--template", client_opts.template_name, "NAMESPACE/NAME of the template")->required();
  newcmd->add_option("--set", client_opts.sets, "A parameter value NAME=VALUE (repeatable)");
  newcmd->add_flag("--apply", client_opts.apply, "Apply the rendered spec as a pipeline (default: print it)");
  newcmd->add_option("--environment", client_opts.environment, "With --apply: the pipeline's environment");
  client_cmds.emplace_back(newcmd, "new");
  auto* secret = app.add_subcommand("secret", "Write a secret of an environment (its value from stdin; write-only) or remove one");
  secret->add_option("action", client_opts.secret_verb, "set or rm")->required()->check(CLI::IsMember({"set", "rm"}));
  secret->add_option("environment", client_opts.target, "Environment")->required();
  secret->add_option("name", client_opts.secret, "Secret name")->required();
  client_cmds.emplace_back(secret, "secret");
  for (auto [verb, help] : std::vector<std::pair<std::string, std::string>>{
           {"dead-letters", "List a pipeline's dead letters (the rejected records with their reasons)"},
           {"replay", "Replay a pipeline's dead letters after a fix: a stream's into its topics, a batch pipeline's as a run reading only them"}}) {
    auto* cmd = app.add_subcommand(verb, help);
    cmd->add_option("pipeline", client_opts.target, "NAMESPACE/NAME")->required();
    cmd->add_option("--run", client_opts.dl_run, "Only this run's (or epoch's) dead letters");
    cmd->add_option("--component", client_opts.dl_component, "Only those this component rejected");
    cmd->add_option("--error-class", client_opts.dl_error_class, "Only this error class (rule_failed, malformed_json, ...)");
    client_cmds.emplace_back(cmd, verb);
  }
  auto* logs = app.add_subcommand("logs", "Print a run's log");
  logs->add_option("run", client_opts.target, "Run id")->required();
  client_cmds.emplace_back(logs, "logs");
  auto* cancel = app.add_subcommand("cancel", "Cancel a run: a queued one at once, a running one soon (a stream at the end of its epoch)");
  cancel->add_option("run", client_opts.target, "Run id")->required();
  client_cmds.emplace_back(cancel, "cancel");
  auto* backfill = app.add_subcommand("backfill", "Queue one run per schedule interval of a pipeline in [--from, --to)");
  backfill->add_option("pipeline", client_opts.target, "NAMESPACE/NAME")->required();
  backfill->add_option("--from", client_opts.from, "First interval, e.g. 2026-10-01T00:00:00Z")->required();
  backfill->add_option("--to", client_opts.to, "End (exclusive), e.g. 2026-11-01T00:00:00Z")->required();
  client_cmds.emplace_back(backfill, "backfill");
  for (auto& [cmd, verb] : client_cmds) add_client_flags(cmd);

  sluice::cli::TestOptions test_opts;
  auto* test = app.add_subcommand("test", "Run spec tests kept as data: <dir>/{pipeline.yaml, input/, expected/}. Exit 0 if all pass, 1 if any fails");
  test->add_option("-f,--file,paths", test_opts.paths, "pipeline.yaml files, test directories, or a folder of test directories")->required();
  test->add_option("-o,--output", test_opts.output, "Output format: table, json or yaml")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
      ->default_str("table");
  test->add_flag("--keep", test_opts.keep, "Keep each test's working directory for inspection");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : sluice::cli::kExitInvalid;
  }
  if (verbose) sluice::log::SetLevel(sluice::log::Level::kInfo);

  if (*validate) return sluice::cli::Validate(validate_opts);
  if (*plan) return sluice::cli::Plan(plan_opts);
  if (*run) {
    if (run_opts.file.empty() == remote_pipeline.empty()) {
      std::fprintf(stderr, "run needs either -f SPEC (run locally) or NAMESPACE/NAME (queue a run on the server)\n");
      return sluice::cli::kExitInvalid;
    }
    if (!run_opts.file.empty()) return sluice::cli::Run(run_opts, run_flags);
    client_opts.verb = "trigger";
    client_opts.target = remote_pipeline;
    client_opts.server = remote_server;
    client_opts.output = run_opts.output;
    client_opts.wait = remote_wait;
    client_opts.version = remote_version;
    client_opts.logical_time = run_flags.logical_time;
    return sluice::cli::Client(client_opts);
  }
  if (*test) return sluice::cli::Test(test_opts);
  if (*serve) return sluice::cli::Serve(serve_opts);
  if (*workercmd) return sluice::cli::Worker(worker_opts);
  for (auto& [cmd, verb] : client_cmds) {
    if (*cmd) {
      client_opts.verb = verb;
      return sluice::cli::Client(client_opts);
    }
  }
  if (*dev_kafka) return sluice::cli::DevKafka(dev_kafka_opts);
  if (*logcmd) {
    log_opts.verb = *log_produce ? "produce" : *log_consume ? "consume" : "ls";
    return sluice::cli::Log(log_opts);
  }
  if (*lake) {
    for (const auto& [cmd, name] : lake_cmds) {
      if (*cmd) lake_opts.verb = name;
    }
    if (!lake_version_text.empty()) {
      try {
        lake_opts.version = std::stoll(lake_version_text);
      } catch (...) {
        std::fprintf(stderr, "--version '%s' must be a table version number\n", lake_version_text.c_str());
        return sluice::cli::kExitInvalid;
      }
    }
    auto size = sluice::ParseByteSize(lake_target_size);
    if (!size) {
      std::fprintf(stderr, "--target-file-size '%s' must be a size like 128MB\n", lake_target_size.c_str());
      return sluice::cli::kExitInvalid;
    }
    lake_opts.target_file_bytes = *size;
    return sluice::cli::Lake(lake_opts);
  }
  return sluice::cli::kExitInvalid;
}
