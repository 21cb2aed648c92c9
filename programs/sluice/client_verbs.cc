// Client verbs (docs/cli.md) for what a server keeps: apply, get, ls, describe, delete
// (pipelines, runs, templates, environments, datasets) and ingest, over the HTTP API.
#include <functional>
#include <memory>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli_app.h"
#include "client_common.h"
#include "sluice/base/status.h"
#include "sluice/base/strings.h"
#include "sluice/client/api_client.h"

namespace sluice::cli {

namespace {

using json = nlohmann::json;

struct ApplyOptions : ClientCommon {
  std::string file;     // the spec (or a Template or Environment document)
  std::string message;  // why it changed
  std::string environment;
};

// get, ls, describe and delete take a resource and a name; each is one of these.
enum class ResourceVerb { kGet, kList, kDescribe, kDelete };
struct ResourceOptions : ClientCommon {
  std::string resource;  // pipelines, runs, templates, environments or datasets (singular works too)
  std::string target;    // NAMESPACE/NAME, a run id, an environment or dataset name
  std::string ns, pipeline_filter, status_filter;  // get, ls: --namespace, --pipeline, --status
};

struct IngestOptions : ClientCommon {
  std::string stream;
  std::string file;      // NDJSON ('-' or empty: stdin)
  int64_t batch = 1000;  // events per request
  bool all_or_nothing = false;  // one request: every event accepted, or none
};

std::string PipelineRow(const json& p) {
  return fmt::format("{:<32} {:<7} {:>7} {:<7} {}\n", p.value("namespace", "") + "/" + p.value("name", ""),
                     p.value("mode", ""), p.value("latest_version", 0), p.value("paused", false) ? "paused" : "active",
                     p.value("updated_at", ""));
}
const std::string kPipelineHeader = fmt::format("{:<32} {:<7} {:>7} {:<7} {}\n", "PIPELINE", "MODE", "VERSION", "STATE", "UPDATED");

// YAML (an Environment document's config) as JSON.
json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json j = json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      json j = json::array();
      for (const auto& v : n) j.push_back(YamlToJson(v));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string v = n.Scalar();
      if (n.Tag() != "!") {  // plain scalars: numbers and booleans keep their type
        json parsed = json::parse(v, nullptr, false);
        if (!parsed.is_discarded() && !parsed.is_string() && !parsed.is_object() && !parsed.is_array()) return parsed;
      }
      return v;
    }
    default:
      return nullptr;
  }
}

// kind: Environment -> PUT /api/v1/environments/{name}.
int ApplyEnvironment(client::ApiClient& c, const ApplyOptions& o, const YAML::Node& doc) {
  const std::string name = doc["metadata"] && doc["metadata"]["name"] ? doc["metadata"]["name"].as<std::string>() : "";
  if (name.empty()) return Fail(Status::InvalidArgument("{}: an Environment needs metadata.name", o.file));
  json body = json::object();
  if (doc["parent"]) body["parent"] = doc["parent"].as<std::string>();
  body["config"] = doc["config"] ? YamlToJson(doc["config"]) : json::object();
  auto r = c.Put("/api/v1/environments/" + client::UrlEncode(name), body);
  if (!r.ok()) return Fail(r.status());
  PrintDocument(r->json.dump(2), o.output, "environment " + name + (r->status == 201 ? " created\n" : " updated\n"));
  return kExitOk;
}

// The server's invalid_spec problem: one FILE:LINE: message per entry of its `errors`, as
// `sluice validate` prints them.
int FailSpecProblem(const client::ApiResponse& r, const std::string& file) {
  std::vector<Problem> problems;
  for (const auto& e : r.json["errors"]) {
    Problem p;
    p.file = file;
    if (e.contains("line") && e["line"].is_number_integer()) p.line = e["line"].get<int64_t>();
    p.message = e.value("message", "");
    problems.push_back(std::move(p));
  }
  std::string message = r.json.value("detail", "the spec has problems");
  if (problems.size() == 1)
    message = file + (problems[0].line > 0 ? ":" + std::to_string(problems[0].line) : "") + ": " + problems[0].message;
  return Fail(Failure{
      .code = codes::kInvalidSpec, .message = message, .exit_code = kExitInvalid, .problems = std::move(problems)});
}

int Apply(client::ApiClient& c, const ApplyOptions& o) {
  auto spec = ReadInput(o.file);
  if (!spec.ok()) return Fail(spec.status());
  std::string kind = "Pipeline";
  YAML::Node doc;
  try {
    doc = YAML::Load(*spec);
    if (doc.IsMap() && doc["kind"]) kind = doc["kind"].as<std::string>();
  } catch (const std::exception&) {
    // Not YAML: the server says what is wrong with it.
  }
  if (kind == "Environment") return ApplyEnvironment(c, o, doc);
  if (kind == "Template") {
    auto r = c.Request("POST", "/api/v1/templates", json{{"template", *spec}}.dump());
    if (!r.ok()) return Fail(r.status());
    if (!r->ok()) {
      if (r->json.is_object() && r->json.value("code", "") == "invalid_spec") return FailSpecProblem(*r, o.file);
      return Fail(client::StatusFromResponse(*r));
    }
    PrintDocument(r->json.dump(2), o.output,
                  "template " + r->json.value("namespace", "") + "/" + r->json.value("name", "") +
                      (r->status == 201 ? " created\n" : " updated\n"));
    return kExitOk;
  }
  json body = {{"spec", *spec}, {"message", o.message}};
  if (!o.environment.empty()) body["environment"] = o.environment;
  auto r = c.Request("POST", "/api/v1/pipelines", body.dump());
  if (!r.ok()) return Fail(r.status());
  if (!r->ok()) {
    // A spec error: one FILE:LINE: message per problem, as `sluice validate` prints them.
    if (r->json.is_object() && r->json.value("code", "") == "invalid_spec") return FailSpecProblem(*r, o.file);
    return Fail(client::StatusFromResponse(*r));
  }
  const json& j = r->json;
  const std::string name = j.value("namespace", "") + "/" + j.value("name", "");
  const std::string what = j.value("created", false) ? fmt::format("created (version {})", j.value("version", 0))
                           : j.value("changed", false) ? fmt::format("updated to version {}", j.value("version", 0))
                                                       : fmt::format("unchanged (version {})", j.value("version", 0));
  PrintDocument(j.dump(2), o.output, "pipeline " + name + " " + what + "\n");
  return kExitOk;
}

int ListPipelines(client::ApiClient& c, const ResourceOptions& o) {
  std::string path = "/api/v1/pipelines";
  if (!o.ns.empty()) path += "?namespace=" + client::UrlEncode(o.ns);
  auto items = c.ListAll(path);
  if (!items.ok()) return Fail(items.status());
  json all = json::array();
  std::string table = kPipelineHeader;
  for (auto& p : *items) {
    table += PipelineRow(p);
    all.push_back(std::move(p));
  }
  PrintDocument(all.dump(2), o.output, table);
  return kExitOk;
}

int GetPipeline(client::ApiClient& c, const ResourceOptions& o, bool describe) {
  auto t = SplitTarget(o.target);
  if (!t.ok()) return Fail(t.status());
  const std::string base = "/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second);
  auto r = c.Get(base);
  if (!r.ok()) return Fail(r.status());
  json doc = r->json;
  std::string table = kPipelineHeader + PipelineRow(doc);
  if (describe) {
    auto versions = c.ListAll(base + "/versions");
    if (!versions.ok()) return Fail(versions.status());
    doc["versions"] = *versions;
    table += "\nVERSIONS\n";
    for (const auto& v : *versions) {
      table += fmt::format("  {:>4}  {}  {:<12}  {}\n", v.value("version", 0), v.value("created_at", ""),
                           v.value("author", ""), v.value("message", ""));
    }
    table += "\nSPEC\n" + doc.value("spec", "");
  }
  PrintDocument(doc.dump(2), o.output, table);
  return kExitOk;
}

int DeletePipeline(client::ApiClient& c, const ResourceOptions& o) {
  auto t = SplitTarget(o.target);
  if (!t.ok()) return Fail(t.status());
  auto r = c.Delete("/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second));
  if (!r.ok()) return Fail(r.status());
  PrintDocument(json{{"deleted", o.target}}.dump(2), o.output, "pipeline " + o.target + " deleted\n");
  return kExitOk;
}

// One request of `ingest`: lines [first_line, last_line] of the input.
struct IngestBatch {
  int64_t first_line = 0, last_line = 0;
  int64_t events = 0;               // non-blank lines
  std::string status = "not sent";  // accepted, refused or not sent
  int64_t accepted = 0, refused = 0;
  std::string reason;                     // why it was refused (or not sent)
  std::vector<int64_t> bad_lines;         // lines of the input the server named (at most 20 a request)
  std::vector<std::string> bad_messages;  // what is wrong with each of them
};

// Sends NDJSON in batches of o.batch lines (with --all-or-nothing: as one request, which the
// ingest API accepts or refuses whole), each with an idempotency key of this invocation (so a
// batch the client retries lands once). A batch refused for its events does not stop the
// others; any other failure does (the rest are "not sent"). The report, per batch, is the
// result, printed before the error.
int Ingest(client::ApiClient& c, const IngestOptions& o) {
  auto text = ReadInput(o.file);
  if (!text.ok()) return Fail(text.status());
  std::random_device rd;
  const std::string run_key = fmt::format("cli-{:016x}{:08x}", (static_cast<uint64_t>(rd()) << 32) | rd(), rd());
  const std::string path = "/api/v1/ingest/" + client::UrlEncode(o.stream);

  // The batches and their bodies, cut before anything is sent.
  std::vector<IngestBatch> batches;
  std::vector<std::string> bodies;
  {
    std::istringstream in(*text);
    int64_t line_no = 0, in_body = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      if (in_body == 0) {
        batches.push_back(IngestBatch{.first_line = line_no});
        bodies.emplace_back();
      }
      bodies.back() += line;
      bodies.back() += '\n';
      batches.back().last_line = line_no;
      if (line.find_first_not_of(" \t\r") != std::string::npos) ++batches.back().events;
      if (++in_body >= o.batch && !o.all_or_nothing) in_body = 0;
    }
  }

  Status failure;        // the first failure: the error after the report
  bool stopped = false;  // a failure other than bad events: the rest is not sent
  for (size_t i = 0; i < batches.size(); ++i) {
    IngestBatch& b = batches[i];
    if (stopped) {
      b.reason = "not sent after the failure above";
      continue;
    }
    if (b.events == 0) {  // blank lines only: nothing to send
      b.status = "accepted";
      continue;
    }
    auto r = c.Request("POST", path, std::move(bodies[i]), "application/x-ndjson",
                       {{"Idempotency-Key", run_key + "-" + std::to_string(i)}});
    Status st = r.ok() ? (r->ok() ? Status::OK() : client::StatusFromResponse(*r)) : r.status();
    if (st.ok()) {
      b.status = "accepted";
      b.accepted = r->json.value("accepted", int64_t{0});
      continue;
    }
    b.reason = st.message();
    if (!r.ok()) {  // no answer: whether it landed is unknown, and so is the server's state
      stopped = true;
      if (failure.ok()) failure = st.WithContext(fmt::format("lines {}-{}", b.first_line, b.last_line));
      continue;
    }
    b.status = "refused";
    b.refused = b.events;
    if (r->json.is_object() && r->json.value("code", "") == "malformed_json") {
      // The server numbers the lines of the request; the report numbers those of the input.
      for (const auto& e : r->json.value("errors", json::array())) {
        const std::string field = e.value("field", "");
        if (field.rfind("line ", 0) != 0) continue;
        b.bad_lines.push_back(b.first_line - 1 + std::stoll(field.substr(5)));
        b.bad_messages.push_back(e.value("message", ""));
      }
      std::vector<std::string> lines;
      for (int64_t l : b.bad_lines) lines.push_back(std::to_string(l));
      b.reason = fmt::format("{} event(s) are not JSON objects (line{} {}); nothing of this batch was accepted",
                             b.bad_lines.size() >= 20 ? "20 or more" : std::to_string(b.bad_lines.size()),
                             lines.size() == 1 ? "" : "s", Join(lines, ", "));
    } else {
      stopped = true;  // not the events' fault (a token, a limit): the next batches would fail alike
    }
    if (failure.ok()) {
      failure = stopped ? st.WithContext(fmt::format("lines {}-{}", b.first_line, b.last_line))
                        : Status(st.code(), fmt::format("lines {}-{}: {}", b.first_line, b.last_line, b.reason));
    }
  }

  int64_t accepted = 0, refused = 0, not_sent = 0;
  json rows = json::array();
  std::string table = fmt::format("  {:>5} {:>15} {:>8} {:>8} {:>8}  {}\n", "batch", "lines", "events", "accepted",
                                  "refused", "status");
  for (size_t i = 0; i < batches.size(); ++i) {
    const IngestBatch& b = batches[i];
    accepted += b.accepted;
    refused += b.refused;
    if (b.status == "not sent") not_sent += b.events;
    json row = {{"batch", i + 1},     {"first_line", b.first_line}, {"last_line", b.last_line}, {"events", b.events},
                {"status", b.status}, {"accepted", b.accepted},     {"refused", b.refused}};
    if (!b.reason.empty()) row["reason"] = b.reason;
    if (b.status == "refused") {
      row["bad_lines"] = b.bad_lines;
      json errors = json::array();
      for (size_t k = 0; k < b.bad_lines.size(); ++k)
        errors.push_back({{"line", b.bad_lines[k]}, {"message", b.bad_messages[k]}});
      row["errors"] = std::move(errors);
    }
    rows.push_back(std::move(row));
    table += fmt::format("  {:>5} {:>15} {:>8} {:>8} {:>8}  {}\n", i + 1,
                         fmt::format("{}-{}", b.first_line, b.last_line), b.events, b.accepted, b.refused, b.status);
    if (!b.reason.empty()) table += fmt::format("        {}\n", b.reason);
  }
  json doc = {
      {"stream", o.stream},   {"all_or_nothing", o.all_or_nothing}, {"accepted", accepted},      {"refused", refused},
      {"not_sent", not_sent}, {"requests", batches.size()},         {"batches", std::move(rows)}};
  table = fmt::format("{} events into stream {} ({} requests){}\n", accepted, o.stream, batches.size(),
                      refused + not_sent > 0 ? fmt::format("; {} refused, {} not sent", refused, not_sent) : "") +
          table;
  // A report when events were accepted or refused for what they hold; else (unreachable, a bad
  // token) nothing was done, and the error says why.
  bool reported = accepted > 0;
  for (const IngestBatch& b : batches) reported |= !b.bad_lines.empty();
  if (reported || failure.ok()) PrintDocument(doc.dump(2), o.output, table);
  if (failure.ok()) return kExitOk;
  Failure f{.code = CodeOf(failure.code()), .message = failure.message(), .exit_code = ExitCodeFor(failure)};
  f.hint = o.all_or_nothing ? "nothing was accepted; fix the lines named above and send the file again"
                            : "the accepted batches are in the stream; fix the refused lines and send only the refused "
                              "and unsent batches again (the lines are listed above), or use --all-or-nothing";
  return Fail(f);
}

int ListRuns(client::ApiClient& c, const ResourceOptions& o) {
  std::string query;
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) query += std::string(query.empty() ? "?" : "&") + k + "=" + client::UrlEncode(v);
  };
  add("namespace", o.ns);
  add("pipeline", o.pipeline_filter);
  add("status", o.status_filter);
  auto items = c.ListAll("/api/v1/runs" + query);
  if (!items.ok()) return Fail(items.status());
  json all = json::array();
  std::string table = RunHeader();
  for (auto& r : *items) {
    table += RunRow(r);
    all.push_back(std::move(r));
  }
  PrintDocument(all.dump(2), o.output, table);
  return kExitOk;
}

int GetRun(client::ApiClient& c, const ResourceOptions& o) {
  auto r = c.Get("/api/v1/runs/" + client::UrlEncode(o.target));
  if (!r.ok()) return Fail(r.status());
  // Parsed again keeping the members' order: the components are in the plan's order.
  const auto run = nlohmann::ordered_json::parse(r->body, nullptr, false);
  if (!run.is_object()) return Fail(Status::Internal("the server's answer for run {} is not a JSON object", o.target));
  PrintDocument(run.dump(2), o.output, RunHeader() + RunRow(r->json) + RunDetails(run));
  return kExitOk;
}

// Templates and environments: list, show, delete (the same shape for both).
int Simple(client::ApiClient& c, const ResourceOptions& o, const std::string& collection, bool remove) {
  const bool templates = collection == "templates";
  std::string path = "/api/v1/" + collection;
  if (!o.target.empty()) {
    if (templates) {
      auto t = SplitTarget(o.target);
      if (!t.ok()) return Fail(t.status());
      path += "/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second);
    } else {
      path += "/" + client::UrlEncode(o.target);
    }
  }
  if (remove) {
    if (o.target.empty()) return Fail(Status::InvalidArgument("delete needs a name"));
    auto r = c.Delete(path);
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"deleted", o.target}}.dump(2), o.output, collection.substr(0, collection.size() - 1) + " " + o.target + " deleted\n");
    return kExitOk;
  }
  if (o.target.empty()) {
    auto items = c.ListAll(path);
    if (!items.ok()) return Fail(items.status());
    std::string table = templates ? fmt::format("{:<40} {}\n", "TEMPLATE", "DESCRIPTION") : fmt::format("{:<24} {:<24} {}\n", "ENVIRONMENT", "PARENT", "UPDATED");
    json all = json::array();
    for (auto& i : *items) {
      table += templates ? fmt::format("{:<40} {}\n", i.value("namespace", "") + "/" + i.value("name", ""), i.value("description", ""))
                         : fmt::format("{:<24} {:<24} {}\n", i.value("name", ""), i["parent"].is_string() ? i["parent"].get<std::string>() : "-",
                                       i.value("updated_at", ""));
      all.push_back(std::move(i));
    }
    PrintDocument(all.dump(2), o.output, table);
    return kExitOk;
  }
  auto r = c.Get(path);
  if (!r.ok()) return Fail(r.status());
  std::string table;
  if (templates) {
    table = r->json.value("namespace", "") + "/" + r->json.value("name", "") + ": " + r->json.value("description", "") + "\n";
    for (const auto& p : r->json["parameters"]) {
      table += fmt::format("  {:<20} {:<7} {}{}\n", p.value("name", ""), p.value("type", ""), p.value("description", ""),
                           p["default"].is_null() ? " (required)" : " (default " + p["default"].dump() + ")");
    }
  } else {
    table = "environment " + r->json.value("name", "") + (r->json["parent"].is_string() ? " (inherits " + r->json["parent"].get<std::string>() + ")" : "") +
            "\neffective config: " + r->json["effective_config"].dump(2) + "\nsecrets:";
    for (const auto& sec : r->json["secrets"]) table += " " + sec.value("name", "");
    table += "\n";
  }
  PrintDocument(r->json.dump(2), o.output, table);
  return kExitOk;
}

// Datasets: ls datasets | get|describe dataset NAME (schema history, producers, consumers).
int Datasets(client::ApiClient& c, const ResourceOptions& o) {
  if (o.target.empty()) {
    auto items = c.ListAll("/api/v1/datasets");
    if (!items.ok()) return Fail(items.status());
    std::string table = fmt::format("{:<48} {:<10} {}\n", "DATASET", "KIND", "UPDATED");
    json all = json::array();
    for (auto& d : *items) {
      table += fmt::format("{:<48} {:<10} {}\n", d.value("name", ""), d.value("kind", ""), d.value("updated_at", ""));
      all.push_back(std::move(d));
    }
    PrintDocument(all.dump(2), o.output, table);
    return kExitOk;
  }
  auto r = c.Get("/api/v1/datasets/" + client::UrlEncode(o.target));
  if (!r.ok()) return Fail(r.status());
  const json& d = r->json;
  std::string table = "dataset " + o.target + "\nproducers: " + d["producers"].dump() + "\nconsumers: " + d["consumers"].dump() + "\n";
  for (const auto& v : d["schemas"]) {
    table += fmt::format("schema v{} ({} version {}, {}):", v.value("version", 0), v.value("pipeline", ""), v.value("pipeline_version", 0),
                         v.value("created_at", ""));
    for (const auto& f : v["fields"]) table += " " + f.value("name", "") + " " + f.value("type", "");
    table += "\n";
  }
  PrintDocument(d.dump(2), o.output, table);
  return kExitOk;
}

// get, ls, describe, delete RESOURCE [NAME]: what each does depends on the resource.
int Resource(ResourceVerb verb, const ResourceOptions& o) {
  auto c = Connect(o);
  if (!c.ok()) return Fail(c.status());
  const std::string& r = o.resource;
  const bool list = verb == ResourceVerb::kList || (verb == ResourceVerb::kGet && o.target.empty());
  if (r == "templates" || r == "template") return Simple(*c, o, "templates", verb == ResourceVerb::kDelete);
  if (r == "datasets" || r == "dataset") {
    if (verb == ResourceVerb::kDelete) {
      return Fail(Status::InvalidArgument("datasets follow their pipelines: delete those instead"));
    }
    return Datasets(*c, o);
  }
  if (r == "environments" || r == "environment") return Simple(*c, o, "environments", verb == ResourceVerb::kDelete);
  if (r == "runs" || r == "run") {
    if (list) return ListRuns(*c, o);
    if (verb != ResourceVerb::kDelete) return GetRun(*c, o);
    return FailUsage("runs cannot be deleted (they are history); cancel a run with `sluice cancel RUN`");
  }
  if (r != "pipelines" && r != "pipeline") {
    return FailUsage("unknown resource '" + r + "'" +
                     DidYouMeanSuffix(r, {"pipelines", "runs", "templates", "environments", "datasets"}) +
                     ": pipelines, runs, templates, environments or datasets");
  }
  if (list) return ListPipelines(*c, o);
  switch (verb) {
    case ResourceVerb::kDescribe: return GetPipeline(*c, o, true);
    case ResourceVerb::kDelete: return DeletePipeline(*c, o);
    default: return GetPipeline(*c, o, false);
  }
}

}  // namespace

void AddClientVerbs(Command& app) {
  auto apply_opts = std::make_shared<ApplyOptions>();
  Command apply = app.Subcommand("apply", "Create a pipeline on the server, or add a version when its spec changed "
                                          "(applying the same spec again changes nothing)");
  apply.Option("-f,--file", apply_opts->file, "Pipeline spec (YAML)").Required().ExistingFile();
  apply.Option("-m,--message", apply_opts->message, "Why it changed (kept with the version)");
  apply.Option("--environment", apply_opts->environment,
               "The environment whose ${config.*} and ${secret.*} the pipeline uses");
  AddClientFlags(apply, *apply_opts);
  apply.Runs(Connected(apply_opts, &Apply));

  struct ResourceCommand {
    const char* name;
    ResourceVerb verb;
    const char* help;
  };
  for (const ResourceCommand& rc :
       {ResourceCommand{"get", ResourceVerb::kGet,
                        "Show a pipeline or a run (get pipeline NAMESPACE/NAME, get run ID), or list them (get "
                        "pipelines, get runs)"},
        ResourceCommand{
            "ls", ResourceVerb::kList,
            "List pipelines or runs (ls pipelines [--namespace NS], ls runs [--pipeline NAME] [--status S])"},
        ResourceCommand{"describe", ResourceVerb::kDescribe,
                        "Show a pipeline with its versions and latest spec (describe pipeline NAMESPACE/NAME)"},
        ResourceCommand{"delete", ResourceVerb::kDelete,
                        "Delete a pipeline and its versions (delete pipeline NAMESPACE/NAME)"}}) {
    auto o = std::make_shared<ResourceOptions>();
    Command cmd = app.Subcommand(rc.name, rc.help);
    cmd.Option("resource", o->resource, "pipelines, runs, templates, environments or datasets (singular works too)")
        .Required();
    cmd.Option("name", o->target, "NAMESPACE/NAME of a pipeline or template, a run id, or an environment name");
    if (rc.verb == ResourceVerb::kList || rc.verb == ResourceVerb::kGet) {
      cmd.Option("--namespace", o->ns, "Only this namespace");
      cmd.Option("--pipeline", o->pipeline_filter, "runs: only this pipeline's");
      cmd.Option("--status", o->status_filter, "runs: only queued, running, succeeded, failed or cancelled");
    }
    AddClientFlags(cmd, *o);
    cmd.Runs([o, verb = rc.verb] { return Resource(verb, *o); });
  }

  auto ingest_opts = std::make_shared<IngestOptions>();
  Command ingest = app.Subcommand(
      "ingest", "Send NDJSON events (a file or stdin) to a stream through the ingest API, in batches");
  ingest.Option("stream", ingest_opts->stream, "Stream name (pipelines read it with an http source)").Required();
  ingest.Option("-f,--file", ingest_opts->file, "NDJSON file (default: stdin)");
  ingest.Option("--batch", ingest_opts->batch, "Events per request").DefaultStr("1000").InRange(1, 100000);
  ingest.Flag("--all-or-nothing", ingest_opts->all_or_nothing,
              "Send the whole input as one request: the server checks every event first and accepts all of them or "
              "none (up to its request limit, 64 MiB by default; --batch does not apply)");
  AddClientFlags(ingest, *ingest_opts);
  ingest.Runs(Connected(ingest_opts, &Ingest));
}

}  // namespace sluice::cli
