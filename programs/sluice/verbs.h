// The verbs of the `sluice` command. main.cc parses flags (and is the only file that sees CLI11);
// each verb takes plain options and returns the process exit code:
//   0 success, 1 runtime failure, 2 invalid input (spec, flags, request).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/client/client_config.h"
#include "sluice/pipeline/compile.h"
#include "sluice/types/schema.h"

namespace sluice::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitInvalid = 2;

enum class OutputFormat { kTable, kJson, kYaml };

struct SpecOptions {
  std::string file;
  std::string workdir = ".sluice";
  std::string lake_root;
  std::vector<std::string> sets;
  OutputFormat output = OutputFormat::kTable;
};

int Validate(const SpecOptions& o);
int Plan(const SpecOptions& o);
struct RunFlags {
  bool progress = false;
  bool quiet = false;
  std::string logical_time;  // ISO-8601; empty = now
  // Streams.
  bool until_idle = false;
  int64_t epoch_records = 500000;
  int source_threads = 0;
  std::string epoch_interval = "1s";
  int64_t max_epochs = -1;
};
int Run(const SpecOptions& o, const RunFlags& flags);

struct DevKafkaOptions {
  int brokers = 1;
  std::vector<std::string> topics;  // NAME or NAME:PARTITIONS
};
int DevKafka(const DevKafkaOptions& o);

struct TestOptions {
  std::vector<std::string> paths;  // spec files or directories holding tests/pipelines/<name>/
  OutputFormat output = OutputFormat::kTable;
  bool keep = false;  // keep each test's workdir for inspection
};
int Test(const TestOptions& o);

struct LakeOptions {
  std::string verb;  // ls, describe, history, read, optimize, vacuum
  std::string table;
  std::string workdir = ".sluice";
  std::string lake_root;  // default <workdir>/lake
  std::optional<int64_t> version;
  int64_t limit = 20;
  int64_t target_file_bytes = 128ll << 20;
  std::string retention = "168h";
  bool dry_run = false;
  OutputFormat output = OutputFormat::kTable;
};
int Lake(const LakeOptions& o);
// Compile options for a workdir; the warehouse is $SLUICE_WAREHOUSE_URL when set, else the
// SQLite file in the workdir.
pipeline::CompileOptions MakeCompileOptions(const std::string& workdir, const std::string& lake_root,
                                            const std::vector<std::string>& sets);

struct LogOptions {
  std::string verb;  // produce, consume, ls
  std::string topic;
  std::string workdir = ".sluice";
  int partitions = 0;   // produce: for a new topic (0: keep an existing topic's count, 1 for a new one)
  std::string key;      // produce: JSON field whose value picks the partition
  int partition = -1;   // consume: one partition, or all
  int64_t from = 0;     // consume: first offset
  int64_t limit = -1;   // consume: at most this many records
  OutputFormat output = OutputFormat::kTable;
};
int Log(const LogOptions& o);

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string workdir = ".sluice";
  std::string metadata;  // default sqlite:<workdir>/meta.db, or $SLUICE_METADATA_URL
  int io_threads = 4;
  double ingest_rate = 1000;  // requests per second per principal
  int workers = 1;            // embedded worker threads (0: none; runs wait for `sluice worker`)
  std::string ingest_kafka;   // Kafka brokers: the ingest transport (default: the embedded log)
  bool insecure_dev = false;  // no authentication (every caller is admin); warns at every start
  bool init_admin = false;    // create the first admin (SLUICE_ADMIN_PASSWORD, or a generated one)
  std::string admin_user = "admin";
  std::string tls_cert, tls_key;  // PEM files: serve HTTPS only
  double rate_limit = 1000;       // requests per second per principal (burst: twice that)
  double rate_limit_per_address = 5000;  // requests per second per client address (burst: twice that)
  std::string access_token_ttl = "15m";
  // OIDC: tokens of an external identity provider, checked against its JWKS.
  std::string oidc_issuer, oidc_audience, oidc_jwks_url, oidc_groups_claim = "groups";
};
// The control plane: the /api/v1 HTTP API over the metadata store, until SIGTERM/SIGINT.
int Serve(const ServeOptions& o);

// Client verbs: talk to `sluice serve` (--server, $SLUICE_SERVER, or the client config file).
struct ClientOptions {
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> ca_cert;  // https: a PEM file of the CA that signed the server's certificate
  OutputFormat output = OutputFormat::kTable;
  std::string verb;      // apply | get | ls | describe | delete | ingest
  std::string resource;  // pipelines (pipeline), versions
  std::string target;    // NAMESPACE/NAME, or the stream of ingest
  std::string file;      // apply: the spec; ingest: NDJSON ('-' or empty: stdin)
  std::string message;   // apply: why it changed
  std::string ns;        // ls: only this namespace
  int64_t batch = 1000;  // ingest: events per request
  std::string pipeline_filter, status_filter;  // ls runs
  bool wait = false;                           // trigger: until the run ends
  int64_t version = 0;                         // trigger: 0 = latest
  std::string logical_time;                    // trigger
  std::string from, to;                        // backfill
  std::string environment;                     // apply, new: the pipeline's environment
  std::string template_name;                   // new: NAMESPACE/NAME
  std::vector<std::string> sets;               // new: parameter values NAME=VALUE
  bool apply = false;                          // new: apply the rendered spec
  std::string secret_verb, secret;             // secret set|rm ENV NAME
  std::string dl_run, dl_component, dl_error_class;  // dead-letters, replay: filters
  // Security verbs (security_verbs.cc): login --user, whoami, token, user, role, audit.
  std::string action;          // token create|ls|revoke, user create|ls|rm|passwd, role grant|revoke|ls, audit ls|verify
  std::string user;            // login --user
  std::string subject;         // token create --subject, role grant SUBJECT, audit ls --principal
  std::string role;            // role grant SUBJECT ROLE
  int64_t days = 0;            // token create --days
  bool current_password = false;  // user passwd --current: stdin has the current password first
  std::string outcome_filter;  // audit ls --outcome
  int64_t limit = 50;          // audit ls --limit
  std::string metadata;        // audit verify --metadata URL: read the database directly
  std::string workdir = ".sluice";  // audit verify --metadata: where the secret key file is
};
int Client(const ClientOptions& o);
// Prints a client verb's failure on stderr; its exit code: 2 for a user error (bad request, not
// found, refused), 1 for the rest (unreachable, server error).
int PrintFailure(const Status& st);
int ExitCodeFor(const Status& st);
// The security verbs; Client() hands them over.
int SecurityClient(const ClientOptions& o);
int LoginWithPassword(const ClientOptions& o);
// The effective client config with a fresh access token (renewed with the refresh token when
// it is about to expire).
Result<client::ClientConfig> ResolveClientConfig(const std::optional<std::string>& server,
                                                 const std::optional<std::string>& token,
                                                 const std::optional<std::string>& ca_cert);

struct WorkerVerbOptions {
  std::optional<std::string> server, token, ca_cert;
  std::string workdir = ".sluice";
  int threads = 1;
};
// A remote worker: executes runs claimed from `sluice serve` through its API until SIGTERM.
int Worker(const WorkerVerbOptions& o);

// Prints a JSON document in the chosen format (json as is, yaml converted, table as given text).
void PrintDocument(const std::string& json, OutputFormat format, const std::string& table_text);

}  // namespace sluice::cli
