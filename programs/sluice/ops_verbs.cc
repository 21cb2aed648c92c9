// Client verbs (docs/cli.md) that operate a server's pipelines and runs: new (a pipeline from a
// template), secret, environment (its grants to namespaces), dead-letters, replay, logs, cancel,
// backfill, pause, resume, and `run NAMESPACE/NAME` (TriggerRun, declared through run_verbs.cc's `run`), over
// the HTTP API.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "client_common.h"
#include "sluice/base/status.h"
#include "sluice/client/api_client.h"
#include "sluice/control/metadata/run_store.h"

namespace sluice::cli {

namespace {

using json = nlohmann::json;

struct NewOptions : ClientCommon {
  std::string template_name;      // NAMESPACE/NAME
  std::vector<std::string> sets;  // parameter values NAME=VALUE
  bool apply = false;             // apply the rendered spec
  std::string environment;        // with apply: the pipeline's environment
};

struct SecretOptions : ClientCommon {
  std::string action;  // set | rm
  std::string environment, name;
};

// environment grant | revoke ENV --namespace NS, environment grants ENV.
struct EnvironmentOptions : ClientCommon {
  std::string action;  // grant | revoke | grants
  std::string environment, ns;
};

// dead-letters and replay: a pipeline and filters.
struct DeadLetterOptions : ClientCommon {
  std::string pipeline;  // NAMESPACE/NAME
  std::string run, component, error_class;
};

// logs and cancel: a run.
struct RunOptions : ClientCommon {
  std::string run;
  bool follow = false;  // logs -f: until the run ends
};

// How often `logs -f` looks for new lines (and whether the run ended).
constexpr auto kFollowInterval = std::chrono::milliseconds(500);

// pause and resume: a pipeline.
struct PipelineOptions : ClientCommon {
  std::string pipeline;  // NAMESPACE/NAME
};

struct BackfillOptions : ClientCommon {
  std::string pipeline;  // NAMESPACE/NAME
  std::string from, to;
};

int Trigger(client::ApiClient& c, const ClientCommon& common, const TriggerOptions& o) {
  auto t = SplitTarget(o.pipeline);
  if (!t.ok()) return Fail(t.status());
  json body = json::object();
  if (o.version > 0) body["version"] = o.version;
  if (!o.logical_time.empty()) body["logical_time"] = o.logical_time;
  auto r = c.Post("/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) + "/runs",
                  body);
  if (!r.ok()) return Fail(r.status());
  json run = r->json;
  std::string answer = r->body;  // the run as sent (its members in their order)
  if (!o.wait) {
    PrintDocument(run.dump(2), common.output,
                  "queued run " + run.value("id", "") + " of " + o.pipeline + " (version " +
                      std::to_string(run.value("version", 0)) + ")\n");
    return kExitOk;
  }
  // Poll until it ends, saying when the status changes.
  std::string last;
  for (;;) {
    const std::string status = run.value("status", "");
    if (status != last && common.output == OutputFormat::kTable)
      std::fprintf(stderr, "run %s: %s\n", run.value("id", "").c_str(), status.c_str());
    last = status;
    if (FinalRunStatus(status)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto next = c.Get("/api/v1/runs/" + client::UrlEncode(run.value("id", "")));
    if (!next.ok()) return Fail(next.status());
    run = next->json;
    answer = next->body;
  }
  const auto ordered_run = nlohmann::ordered_json::parse(answer, nullptr, false);
  PrintDocument(ordered_run.dump(2), common.output, RunHeader() + RunRow(run) + RunDetails(ordered_run));
  const std::string status = run.value("status", "");
  if (metadata::ParseRunStatus(status) == metadata::RunStatus::kSucceeded) return kExitOk;
  // The run is the result; that it did not succeed is the error.
  const std::string error = run.value("error", "");
  return Fail(Failure{.code = codes::kRunFailed,
                      .message = fmt::format("run {} of {} {}{}", run.value("id", ""), o.pipeline, status,
                                             error.empty() ? "" : ": " + error),
                      .exit_code = kExitFailure});
}

// The log only grows: following it prints what came after the part already printed. The run's
// status is read before its log, so the last look, after the run ended, holds its last lines.
int FollowRunLogs(client::ApiClient& c, const RunOptions& o) {
  size_t printed = 0;
  for (;;) {
    auto run = c.Get("/api/v1/runs/" + client::UrlEncode(o.run));
    if (!run.ok()) return Fail(run.status());
    const bool ended = FinalRunStatus(run->json.value("status", ""));
    auto log = c.Get("/api/v1/runs/" + client::UrlEncode(o.run) + "/logs");
    if (!log.ok()) return Fail(log.status());
    if (log->body.size() > printed) {
      std::fwrite(log->body.data() + printed, 1, log->body.size() - printed, stdout);
      std::fflush(stdout);
      printed = log->body.size();
    }
    if (ended) return kExitOk;
    std::this_thread::sleep_for(kFollowInterval);  // the polling pace
  }
}

int RunLogs(client::ApiClient& c, const RunOptions& o) {
  if (o.follow) {
    if (o.output != OutputFormat::kTable) return FailUsage("logs -f prints the log as it grows: it has no -o json");
    return FollowRunLogs(c, o);
  }
  auto r = c.Get("/api/v1/runs/" + client::UrlEncode(o.run) + "/logs");
  if (!r.ok()) return Fail(r.status());
  PrintDocument(json{{"run", o.run}, {"log", r->body}}.dump(2), o.output, r->body);
  return kExitOk;
}

int CancelRun(client::ApiClient& c, const RunOptions& o) {
  auto r = c.Post("/api/v1/runs/" + client::UrlEncode(o.run) + "/cancel", json::object());
  if (!r.ok()) return Fail(r.status());
  std::string text = "run " + o.run + ": " +
                     (r->json.value("status", "") == "cancelled" ? "cancelled" : "asked to stop") + "\n";
  if (r->json.value("pipeline_paused", false)) {
    const std::string pipeline = r->json.value("namespace", "") + "/" + r->json.value("pipeline", "");
    text += "the stream pipeline " + pipeline + " is paused, so it stays stopped; 'sluice resume " + pipeline +
            "' starts it again from its checkpoint\n";
  }
  PrintDocument(r->json.dump(2), o.output, text);
  return kExitOk;
}

int Backfill(client::ApiClient& c, const BackfillOptions& o) {
  auto t = SplitTarget(o.pipeline);
  if (!t.ok()) return Fail(t.status());
  auto r = c.Post("/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) + "/backfill",
                  json{{"from", o.from}, {"to", o.to}});
  if (!r.ok()) return Fail(r.status());
  PrintDocument(r->json.dump(2), o.output,
                fmt::format("queued {} runs of {}, one per interval in [{}, {})\n", r->json.value("count", 0),
                            o.pipeline, o.from, o.to));
  return kExitOk;
}

// POST .../pause or .../resume; the answer is the pipeline.
int SetPaused(client::ApiClient& c, const PipelineOptions& o, bool paused) {
  auto t = SplitTarget(o.pipeline);
  if (!t.ok()) return Fail(t.status());
  auto r = c.Post("/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) +
                      (paused ? "/pause" : "/resume"),
                  json::object());
  if (!r.ok()) return Fail(r.status());
  PrintDocument(r->json.dump(2), o.output,
                paused ? "pipeline " + o.pipeline +
                             " paused: its schedule and dependencies start no runs (a stream's "
                             "run is stopped) until `sluice resume " +
                             o.pipeline + "`\n"
                       : "pipeline " + o.pipeline + " resumed\n");
  return kExitOk;
}
int Pause(client::ApiClient& c, const PipelineOptions& o) { return SetPaused(c, o, true); }
int Resume(client::ApiClient& c, const PipelineOptions& o) { return SetPaused(c, o, false); }

std::string DeadLetterQuery(const DeadLetterOptions& o, bool body_form, json* body) {
  std::string q;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    if (body_form) (*body)[k] = v;
    else
      q += std::string(q.empty() ? "?" : "&") + k + "=" + client::UrlEncode(v);
  };
  add("run", o.run);
  add("component", o.component);
  add("error_class", o.error_class);
  return q;
}

// The path of a pipeline's dead letters (NAMESPACE/NAME).
Result<std::string> DeadLettersPath(const std::string& pipeline) {
  SLUICE_ASSIGN_OR_RETURN(auto t, SplitTarget(pipeline));
  return "/api/v1/pipelines/" + client::UrlEncode(t.first) + "/" + client::UrlEncode(t.second) + "/dead-letters";
}

// dead-letters NS/NAME [filters]: the envelopes.
int ListDeadLetters(client::ApiClient& c, const DeadLetterOptions& o) {
  auto base = DeadLettersPath(o.pipeline);
  if (!base.ok()) return Fail(base.status());
  auto items = c.ListAll(*base + DeadLetterQuery(o, false, nullptr));
  if (!items.ok()) return Fail(items.status());
  std::string table = fmt::format("{:<26} {:>6}  {:<14} {:<18} {}\n", "RUN", "LINE", "COMPONENT", "ERROR CLASS",
                                  "MESSAGE");
  json all = json::array();
  for (auto& e : *items) {
    table += fmt::format("{:<26} {:>6}  {:<14} {:<18} {}\n", e.value("run", ""), e.value("line", 0),
                         e.value("component", ""), e.value("error_class", ""), e.value("error_message", ""));
    all.push_back(std::move(e));
  }
  PrintDocument(all.dump(2), o.output, table);
  return kExitOk;
}

// replay NS/NAME [filters].
int Replay(client::ApiClient& c, const DeadLetterOptions& o) {
  auto base = DeadLettersPath(o.pipeline);
  if (!base.ok()) return Fail(base.status());
  json body = json::object();
  DeadLetterQuery(o, true, &body);
  auto r = c.Post(*base + "/replay", body);
  if (!r.ok()) return Fail(r.status());
  const json& j = r->json;
  if (j.contains("run")) {
    PrintDocument(j.dump(2), o.output,
                  fmt::format("{} dead letters replayed as run {}\n", j.value("replayed", 0), j.value("run", "")));
  } else {
    PrintDocument(j.dump(2), o.output,
                  fmt::format("{} dead letters sent back to {}\n", j.value("replayed", 0), j["to"].dump()));
  }
  return kExitOk;
}

// new --template NS/NAME --set k=v: renders (and with --apply, applies) a template.
int New(client::ApiClient& c, const NewOptions& o) {
  auto t = SplitTarget(o.template_name);
  if (!t.ok()) return Fail(t.status());
  json values = json::object();
  for (const auto& kv : o.sets) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Fail(Status::InvalidArgument("--set takes NAME=VALUE, not '{}'", kv));
    values[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  json body = {{"values", values}, {"apply", o.apply}};
  if (!o.environment.empty()) body["environment"] = o.environment;
  auto r = c.Request(
      "POST", "/api/v1/templates/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) + "/render",
      body.dump());
  if (!r.ok()) return Fail(r.status());
  if (!r->ok()) {
    if (r->json.is_object() && r->json.value("code", "") == "invalid_spec") {
      // The values and the rendered spec: "parameter 'x': message", "FILE:LINE: message".
      std::vector<Problem> problems;
      for (const auto& e : r->json["errors"]) problems.push_back(Problem{"", 0, e.value("message", "")});
      const std::string message = problems.size() == 1 ? problems[0].message
                                                       : r->json.value("detail", "the template's values have problems");
      return Fail(Failure{
          .code = codes::kInvalidSpec, .message = message, .exit_code = kExitInvalid, .problems = std::move(problems)});
    }
    return Fail(client::StatusFromResponse(*r));
  }
  if (o.apply) {
    PrintDocument(r->json.dump(2), o.output,
                  "pipeline " + r->json.value("namespace", "") + "/" + r->json.value("name", "") +
                      (r->json.value("created", false) ? " created" : " updated") + " from template " +
                      o.template_name + "\n");
  } else {
    PrintDocument(r->json.dump(2), o.output, r->json.value("spec", ""));
  }
  return kExitOk;
}

// secret set ENV NAME (the value from stdin, never from the command line) | secret rm ENV NAME.
int Secret(client::ApiClient& c, const SecretOptions& o) {
  const std::string path = "/api/v1/environments/" + client::UrlEncode(o.environment) + "/secrets/" +
                           client::UrlEncode(o.name);
  if (o.action == "rm") {
    auto r = c.Delete(path);
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"environment", o.environment}, {"secret", o.name}, {"deleted", true}}.dump(2), o.output,
                  "secret " + o.name + " of " + o.environment + " deleted\n");
    return kExitOk;
  }
  auto value = ReadInput("-");
  if (!value.ok()) return Fail(value.status());
  std::string v = *value;
  if (!v.empty() && v.back() == '\n') v.pop_back();
  if (v.empty())
    return Fail(
        Status::InvalidArgument("give the secret's value on stdin (e.g. sluice secret set prod db_password < file)"));
  auto r = c.Put(path, json{{"value", v}});
  if (!r.ok()) return Fail(r.status());
  PrintDocument(
      json{{"environment", o.environment}, {"secret", o.name}, {"stored", true}}.dump(2), o.output,
      "secret " + o.name + " of " + o.environment + " stored (use it in specs as ${secret." + o.name + "})\n");
  return kExitOk;
}

// Which namespaces' pipelines may use an environment (admins on '*').
int Environment(client::ApiClient& c, const EnvironmentOptions& o) {
  const std::string base = "/api/v1/environments/" + client::UrlEncode(o.environment) + "/grants";
  if (o.action == "grants") {
    if (!o.ns.empty())
      return Fail(Status::InvalidArgument("`environment grants ENV` lists every grant; drop --namespace"));
    auto r = c.Get(base);
    if (!r.ok()) return Fail(r.status());
    std::string table = fmt::format("{:<24} {:<24} {}\n", "NAMESPACE", "GRANTED BY", "AT");
    for (const auto& g : r->json.value("items", json::array())) {
      table += fmt::format("{:<24} {:<24} {}\n", g.value("namespace", ""), g.value("created_by", ""),
                           g.value("created_at", ""));
    }
    PrintDocument(r->json.value("items", json::array()).dump(2), o.output, table);
    return kExitOk;
  }
  if (o.ns.empty()) {
    return Fail(Status::InvalidArgument("name the namespace with --namespace NS ('*' for every namespace)"));
  }
  const std::string path = base + "/" + client::UrlEncode(o.ns);
  if (o.action == "grant") {
    auto r = c.Put(path, json::object());
    if (!r.ok()) return Fail(r.status());
    PrintDocument(r->json.dump(2), o.output,
                  fmt::format("environment {} {} namespace {}\n", o.environment,
                              r->status == 201 ? "granted to" : "was already granted to", o.ns));
    return kExitOk;
  }
  auto r = c.Delete(path);
  if (!r.ok()) return Fail(r.status());
  PrintDocument(json{{"environment", o.environment}, {"namespace", o.ns}, {"revoked", true}}.dump(2), o.output,
                fmt::format("environment {} revoked from namespace {}\n", o.environment, o.ns));
  return kExitOk;
}

}  // namespace

int TriggerRun(const ClientCommon& common, const TriggerOptions& o) {
  auto c = Connect(common);
  if (!c.ok()) return Fail(c.status());
  return Trigger(*c, common, o);
}

void AddOpsVerbs(Command& app) {
  auto new_opts = std::make_shared<NewOptions>();
  Command newcmd = app.Subcommand(
      "new",
      "Render a template on the server with parameter values (checked all at once); --apply creates the pipeline");
  newcmd.Option("--template", new_opts->template_name, "NAMESPACE/NAME of the template").Required();
  newcmd.Option("--set", new_opts->sets, "A parameter value NAME=VALUE (repeatable)")
      .MayHoldPassword("pass secrets as ${secret.NAME} of an environment instead");
  newcmd.Flag("--apply", new_opts->apply, "Apply the rendered spec as a pipeline (default: print it)");
  newcmd.Option("--environment", new_opts->environment, "With --apply: the pipeline's environment");
  AddClientFlags(newcmd, *new_opts);
  newcmd.Runs(Connected(new_opts, &New));

  auto secret_opts = std::make_shared<SecretOptions>();
  Command secret = app.Subcommand("secret",
                                  "Write a secret of an environment (its value from stdin; write-only) or remove one");
  secret.Option("action", secret_opts->action, "set or rm").Required().OneOf({"set", "rm"});
  secret.Option("environment", secret_opts->environment, "Environment").Required();
  secret.Option("name", secret_opts->name, "Secret name").Required();
  AddClientFlags(secret, *secret_opts);
  secret.Runs(Connected(secret_opts, &Secret));

  auto env_opts = std::make_shared<EnvironmentOptions>();
  Command env = app.Subcommand(
      "environment", "Which namespaces may use an environment (admins): environment grant ENV --namespace NS, "
                     "environment revoke ENV --namespace NS, environment grants ENV ('*': every namespace)");
  env.Option("action", env_opts->action, "grant, revoke or grants").Required().OneOf({"grant", "revoke", "grants"});
  env.Option("environment", env_opts->environment, "Environment").Required();
  env.Option("--namespace", env_opts->ns, "The namespace whose pipelines may use it, or '*' for every namespace");
  AddClientFlags(env, *env_opts);
  env.Runs(Connected(env_opts, &Environment));

  struct DeadLetterCommand {
    const char* name;
    const char* help;
    int (*verb)(client::ApiClient&, const DeadLetterOptions&);
  };
  for (const DeadLetterCommand& dc :
       {DeadLetterCommand{"dead-letters", "List a pipeline's dead letters (the rejected records with their reasons)",
                          &ListDeadLetters},
        DeadLetterCommand{"replay",
                          "Replay a pipeline's dead letters after a fix: a stream's into its topics, a batch "
                          "pipeline's as a run reading only them",
                          &Replay}}) {
    auto o = std::make_shared<DeadLetterOptions>();
    Command cmd = app.Subcommand(dc.name, dc.help);
    cmd.Option("pipeline", o->pipeline, "NAMESPACE/NAME").Required();
    cmd.Option("--run", o->run, "Only this run's (or epoch's) dead letters");
    cmd.Option("--component", o->component, "Only those this component rejected");
    cmd.Option("--error-class", o->error_class, "Only this error class (rule_failed, malformed_json, ...)");
    AddClientFlags(cmd, *o);
    cmd.Runs(Connected(o, dc.verb));
  }

  auto logs_opts = std::make_shared<RunOptions>();
  Command logs = app.Subcommand("logs", "Print a run's log");
  logs.Option("run", logs_opts->run, "Run id").Required();
  logs.Flag("-f,--follow", logs_opts->follow, "Keep printing the log as it grows until the run ends (Ctrl-C stops)");
  AddClientFlags(logs, *logs_opts);
  logs.Runs(Connected(logs_opts, &RunLogs));

  auto cancel_opts = std::make_shared<RunOptions>();
  Command cancel = app.Subcommand(
      "cancel",
      "Cancel a run: a queued one at once, a running one soon (a stream at the end of its epoch; its pipeline is "
      "paused so that it stays stopped until 'sluice resume')");
  cancel.Option("run", cancel_opts->run, "Run id").Required();
  AddClientFlags(cancel, *cancel_opts);
  cancel.Runs(Connected(cancel_opts, &CancelRun));

  struct PauseVerb {
    const char* name;
    const char* help;
    int (*verb)(client::ApiClient&, const PipelineOptions&);
  };
  for (const PauseVerb& pv : {
           PauseVerb{"pause",
                     "Pause a pipeline: its schedule and dependency triggers start no runs, and a stream's live run is "
                     "stopped (at the end of its epoch), until `sluice resume`. Runs asked for by hand still run",
                     &Pause},
           PauseVerb{"resume",
                     "Resume a paused pipeline: its schedule fires again from its next fire time (missed ones are not "
                     "made up), and a stream starts again from its checkpoint",
                     &Resume},
       }) {
    auto o = std::make_shared<PipelineOptions>();
    Command cmd = app.Subcommand(pv.name, pv.help);
    cmd.Option("pipeline", o->pipeline, "NAMESPACE/NAME").Required();
    AddClientFlags(cmd, *o);
    cmd.Runs(Connected(o, pv.verb));
  }

  auto backfill_opts = std::make_shared<BackfillOptions>();
  Command backfill = app.Subcommand("backfill", "Queue one run per schedule interval of a pipeline in [--from, --to)");
  backfill.Option("pipeline", backfill_opts->pipeline, "NAMESPACE/NAME").Required();
  backfill.Option("--from", backfill_opts->from, "First interval, e.g. 2026-10-01T00:00:00Z").Required();
  backfill.Option("--to", backfill_opts->to, "End (exclusive), e.g. 2026-11-01T00:00:00Z").Required();
  AddClientFlags(backfill, *backfill_opts);
  backfill.Runs(Connected(backfill_opts, &Backfill));
}

}  // namespace sluice::cli
