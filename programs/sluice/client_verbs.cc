// Client verbs (docs/cli.md): apply, get, ls, describe, delete, ingest — over the HTTP API.
#include <fstream>
#include <random>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sluice/base/status.h"
#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "verbs.h"

namespace sluice::cli {

int PrintFailure(const Status& st) {
  std::fprintf(stderr, "%s\n", st.message().c_str());
  return ExitCodeFor(st);
}

int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kDataError:
      return kExitInvalid;
    default:
      return kExitFailure;
  }
}

namespace {

using json = nlohmann::json;

int Fail(const Status& st) { return PrintFailure(st); }

Result<client::ApiClient> Connect(const ClientOptions& o) {
  SLUICE_ASSIGN_OR_RETURN(auto config, ResolveClientConfig(o.server, o.token, o.ca_cert));
  return client::ApiClient::Create(config.ToOptions());
}

// "web/clicks" -> {"web", "clicks"}.
Result<std::pair<std::string, std::string>> SplitTarget(const std::string& target) {
  const size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size() || target.find('/', slash + 1) != std::string::npos) {
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
int ApplyEnvironment(client::ApiClient& c, const ClientOptions& o, const YAML::Node& doc) {
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

int PrintSpecErrors(const client::ApiResponse& r, const std::string& file) {
  for (const auto& e : r.json["errors"]) {
    if (e.contains("line")) std::fprintf(stderr, "%s:%lld: %s\n", file.c_str(), static_cast<long long>(e["line"].get<int64_t>()), e.value("message", "").c_str());
    else std::fprintf(stderr, "%s: %s\n", file.c_str(), e.value("message", "").c_str());
  }
  return kExitInvalid;
}

int Apply(client::ApiClient& c, const ClientOptions& o) {
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
      if (r->json.is_object() && r->json.value("code", "") == "invalid_spec") return PrintSpecErrors(*r, o.file);
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
    if (r->json.is_object() && r->json.value("code", "") == "invalid_spec") return PrintSpecErrors(*r, o.file);
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

int ListPipelines(client::ApiClient& c, const ClientOptions& o) {
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

int GetPipeline(client::ApiClient& c, const ClientOptions& o, bool describe) {
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

int DeletePipeline(client::ApiClient& c, const ClientOptions& o) {
  auto t = SplitTarget(o.target);
  if (!t.ok()) return Fail(t.status());
  auto r = c.Delete("/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second));
  if (!r.ok()) return Fail(r.status());
  PrintDocument(json{{"deleted", o.target}}.dump(2), o.output, "pipeline " + o.target + " deleted\n");
  return kExitOk;
}

// Sends NDJSON in batches of o.batch lines, each with an idempotency key of this invocation (so
// a batch the client retries lands once).
int Ingest(client::ApiClient& c, const ClientOptions& o) {
  auto text = ReadInput(o.file);
  if (!text.ok()) return Fail(text.status());
  std::random_device rd;
  const std::string run_key = fmt::format("cli-{:016x}{:08x}", (static_cast<uint64_t>(rd()) << 32) | rd(), rd());
  int64_t accepted = 0, batches = 0, line_no = 0, first_line = 1;
  std::string body;
  int64_t in_body = 0;
  auto flush = [&]() -> int {
    if (in_body == 0) return kExitOk;
    auto r = c.PostRaw("/api/v1/ingest/" + client::UrlEncode(o.target), body, "application/x-ndjson",
                       {{"Idempotency-Key", run_key + "-" + std::to_string(batches)}});
    if (!r.ok()) {
      std::fprintf(stderr, "lines %lld-%lld: %s\n", static_cast<long long>(first_line), static_cast<long long>(line_no),
                   r.status().message().c_str());
      return ExitCodeFor(r.status());
    }
    accepted += r->json.value("accepted", int64_t{0});
    ++batches;
    body.clear();
    in_body = 0;
    first_line = line_no + 1;
    return kExitOk;
  };
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    body += line;
    body += '\n';
    if (++in_body >= o.batch) {
      if (int rc = flush(); rc != kExitOk) return rc;
    }
  }
  if (int rc = flush(); rc != kExitOk) return rc;
  PrintDocument(json{{"stream", o.target}, {"accepted", accepted}, {"requests", batches}}.dump(2), o.output,
                fmt::format("{} events into stream {} ({} requests)\n", accepted, o.target, batches));
  return kExitOk;
}

const std::string kRunHeader =
    fmt::format("{:<24} {:<28} {:>3} {:<10} {:<10} {:>3} {}\n", "RUN", "PIPELINE", "VER", "CAUSE", "STATUS", "TRY", "LOGICAL TIME");
std::string RunRow(const json& r) {
  return fmt::format("{:<24} {:<28} {:>3} {:<10} {:<10} {:>3} {}\n", r.value("id", ""),
                     r.value("namespace", "") + "/" + r.value("pipeline", ""), r.value("version", 0), r.value("cause", ""),
                     r.value("status", ""), r.value("attempt", 0), r.value("logical_time", ""));
}

bool Final(const std::string& status) { return status == "succeeded" || status == "failed" || status == "cancelled"; }

int Trigger(client::ApiClient& c, const ClientOptions& o) {
  auto t = SplitTarget(o.target);
  if (!t.ok()) return Fail(t.status());
  json body = json::object();
  if (o.version > 0) body["version"] = o.version;
  if (!o.logical_time.empty()) body["logical_time"] = o.logical_time;
  auto r = c.Post("/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) + "/runs", body);
  if (!r.ok()) return Fail(r.status());
  json run = r->json;
  if (!o.wait) {
    PrintDocument(run.dump(2), o.output, "queued run " + run.value("id", "") + " of " + o.target + " (version " +
                                             std::to_string(run.value("version", 0)) + ")\n");
    return kExitOk;
  }
  // Poll until it ends, saying when the status changes.
  std::string last;
  for (;;) {
    const std::string status = run.value("status", "");
    if (status != last && o.output == OutputFormat::kTable) std::fprintf(stderr, "run %s: %s\n", run.value("id", "").c_str(), status.c_str());
    last = status;
    if (Final(status)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto next = c.Get("/api/v1/runs/" + client::UrlEncode(run.value("id", "")));
    if (!next.ok()) return Fail(next.status());
    run = next->json;
  }
  std::string table = kRunHeader + RunRow(run);
  if (run.contains("summary") && run["summary"].is_object() && run["summary"].contains("components")) {
    table += fmt::format("\n  {:<24} {:>12} {:>12} {:>12} {:>12}\n", "component", "in", "out", "dead_letter", "dropped");
    for (const auto& [name, k] : run["summary"]["components"].items()) {
      table += fmt::format("  {:<24} {:>12} {:>12} {:>12} {:>12}\n", name, k.value("in", 0), k.value("out", 0),
                           k.value("dead_letter", 0), k.value("dropped", 0));
    }
  }
  if (!run.value("error", "").empty()) table += "\nerror: " + run.value("error", "") + "\n";
  PrintDocument(run.dump(2), o.output, table);
  return run.value("status", "") == "succeeded" ? kExitOk : kExitFailure;
}

int ListRuns(client::ApiClient& c, const ClientOptions& o) {
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
  std::string table = kRunHeader;
  for (auto& r : *items) {
    table += RunRow(r);
    all.push_back(std::move(r));
  }
  PrintDocument(all.dump(2), o.output, table);
  return kExitOk;
}

int GetRun(client::ApiClient& c, const ClientOptions& o) {
  auto r = c.Get("/api/v1/runs/" + client::UrlEncode(o.target));
  if (!r.ok()) return Fail(r.status());
  PrintDocument(r->json.dump(2), o.output, kRunHeader + RunRow(r->json) +
                                               (r->json.value("error", "").empty() ? "" : "error: " + r->json.value("error", "") + "\n"));
  return kExitOk;
}

int RunLogs(client::ApiClient& c, const ClientOptions& o) {
  auto r = c.Get("/api/v1/runs/" + client::UrlEncode(o.target) + "/logs");
  if (!r.ok()) return Fail(r.status());
  std::fputs(r->body.c_str(), stdout);
  return kExitOk;
}

int CancelRun(client::ApiClient& c, const ClientOptions& o) {
  auto r = c.Post("/api/v1/runs/" + client::UrlEncode(o.target) + "/cancel", json::object());
  if (!r.ok()) return Fail(r.status());
  PrintDocument(r->json.dump(2), o.output,
                "run " + o.target + ": " + (r->json.value("status", "") == "cancelled" ? "cancelled" : "asked to stop") + "\n");
  return kExitOk;
}

int Backfill(client::ApiClient& c, const ClientOptions& o) {
  auto t = SplitTarget(o.target);
  if (!t.ok()) return Fail(t.status());
  auto r = c.Post("/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) + "/backfill",
                  json{{"from", o.from}, {"to", o.to}});
  if (!r.ok()) return Fail(r.status());
  PrintDocument(r->json.dump(2), o.output,
                fmt::format("queued {} runs of {}, one per interval in [{}, {})\n", r->json.value("count", 0), o.target, o.from, o.to));
  return kExitOk;
}

// Templates and environments: list, show, delete (the same shape for both).
int Simple(client::ApiClient& c, const ClientOptions& o, const std::string& collection) {
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
  if (o.verb == "delete") {
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
int Datasets(client::ApiClient& c, const ClientOptions& o) {
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

std::string DeadLetterQuery(const ClientOptions& o, bool body_form, json* body) {
  std::string q;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    if (body_form) (*body)[k] = v;
    else q += std::string(q.empty() ? "?" : "&") + k + "=" + client::UrlEncode(v);
  };
  add("run", o.dl_run);
  add("component", o.dl_component);
  add("error_class", o.dl_error_class);
  return q;
}

// dead-letters NS/NAME [filters]: the envelopes; replay NS/NAME [filters] [--wait].
int DeadLetters(client::ApiClient& c, const ClientOptions& o) {
  auto t = SplitTarget(o.target);
  if (!t.ok()) return Fail(t.status());
  const std::string base = "/api/v1/pipelines/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) + "/dead-letters";
  if (o.verb == "dead-letters") {
    auto items = c.ListAll(base + DeadLetterQuery(o, false, nullptr));
    if (!items.ok()) return Fail(items.status());
    std::string table = fmt::format("{:<26} {:>6}  {:<14} {:<18} {}\n", "RUN", "LINE", "COMPONENT", "ERROR CLASS", "MESSAGE");
    json all = json::array();
    for (auto& e : *items) {
      table += fmt::format("{:<26} {:>6}  {:<14} {:<18} {}\n", e.value("run", ""), e.value("line", 0), e.value("component", ""),
                           e.value("error_class", ""), e.value("error_message", ""));
      all.push_back(std::move(e));
    }
    PrintDocument(all.dump(2), o.output, table);
    return kExitOk;
  }
  json body = json::object();
  DeadLetterQuery(o, true, &body);
  auto r = c.Post(base + "/replay", body);
  if (!r.ok()) return Fail(r.status());
  const json& j = r->json;
  if (j.contains("run")) {
    PrintDocument(j.dump(2), o.output, fmt::format("{} dead letters replayed as run {}\n", j.value("replayed", 0), j.value("run", "")));
  } else {
    PrintDocument(j.dump(2), o.output, fmt::format("{} dead letters sent back to {}\n", j.value("replayed", 0), j["to"].dump()));
  }
  return kExitOk;
}

// new --template NS/NAME --set k=v: renders (and with --apply, applies) a template.
int New(client::ApiClient& c, const ClientOptions& o) {
  auto t = SplitTarget(o.template_name);
  if (!t.ok()) return Fail(t.status());
  json values = json::object();
  for (const auto& kv : o.sets) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Fail(Status::InvalidArgument("--set takes NAME=VALUE, not '{}'", kv));
    values[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  json body = {{"values", values}, {"apply", o.apply}};
  if (!o.environment.empty()) body["environment"] = o.environment;
  auto r = c.Request("POST", "/api/v1/templates/" + client::UrlEncode(t->first) + "/" + client::UrlEncode(t->second) + "/render", body.dump());
  if (!r.ok()) return Fail(r.status());
  if (!r->ok()) {
    if (r->json.is_object() && r->json.value("code", "") == "invalid_spec") {
      for (const auto& e : r->json["errors"]) std::fprintf(stderr, "%s\n", e.value("message", "").c_str());
      return kExitInvalid;
    }
    return Fail(client::StatusFromResponse(*r));
  }
  if (o.apply) {
    PrintDocument(r->json.dump(2), o.output, "pipeline " + r->json.value("namespace", "") + "/" + r->json.value("name", "") +
                                                 (r->json.value("created", false) ? " created" : " updated") + " from template " + o.template_name + "\n");
  } else {
    PrintDocument(r->json.dump(2), o.output, r->json.value("spec", ""));
  }
  return kExitOk;
}

// secret set ENV NAME (the value from stdin, never from the command line) | secret rm ENV NAME.
int Secret(client::ApiClient& c, const ClientOptions& o) {
  const std::string path = "/api/v1/environments/" + client::UrlEncode(o.target) + "/secrets/" + client::UrlEncode(o.secret);
  if (o.secret_verb == "rm") {
    auto r = c.Delete(path);
    if (!r.ok()) return Fail(r.status());
    std::printf("secret %s of %s deleted\n", o.secret.c_str(), o.target.c_str());
    return kExitOk;
  }
  auto value = ReadInput("-");
  if (!value.ok()) return Fail(value.status());
  std::string v = *value;
  if (!v.empty() && v.back() == '\n') v.pop_back();
  if (v.empty()) return Fail(Status::InvalidArgument("give the secret's value on stdin (e.g. sluice secret set prod db_password < file)"));
  auto r = c.Put(path, json{{"value", v}});
  if (!r.ok()) return Fail(r.status());
  std::printf("secret %s of %s stored (use it in specs as ${secret.%s})\n", o.secret.c_str(), o.target.c_str(), o.secret.c_str());
  return kExitOk;
}

// login: checks that the server answers, then keeps the server and token in the client config
// (mode 0600) for the other verbs.
int Login(const ClientOptions& o) {
  if (!o.user.empty()) return LoginWithPassword(o);
  client::ClientFlags flags;
  flags.server = o.server;
  flags.token = o.token;
  flags.ca_file = o.ca_cert;
  auto config = client::ClientConfig::Resolve(flags);
  if (!config.ok()) return Fail(config.status());
  if (!o.token) {
    std::fprintf(stderr, "token (input is read from stdin): ");
    auto token = ReadInput("-");
    if (!token.ok()) return Fail(token.status());
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    config->token = t;
  }
  auto c = client::ApiClient::Create(config->ToOptions());
  if (!c.ok()) return Fail(c.status());
  auto ready = c->Get("/api/v1/auth/whoami");
  if (!ready.ok()) return Fail(ready.status());
  auto path = client::ClientConfig::DefaultPath();
  if (!path.ok()) return Fail(path.status());
  client::ClientConfig stored = *config;
  stored.refresh_token.clear();  // a token given by hand is not renewed
  if (Status st = stored.Save(*path); !st.ok()) return Fail(st);
  PrintDocument(json{{"server", config->server}, {"config", *path}}.dump(2), o.output,
                "logged in to " + config->server + " (server and token kept in " + *path + ", mode 0600)\n");
  return kExitOk;
}

}  // namespace

int Client(const ClientOptions& o) {
  if (o.verb == "login") return Login(o);
  if (o.verb == "whoami" || o.verb == "token" || o.verb == "user" || o.verb == "role" || o.verb == "audit") {
    return SecurityClient(o);
  }
  auto c = Connect(o);
  if (!c.ok()) return Fail(c.status());
  if (o.verb == "apply") return Apply(*c, o);
  if (o.verb == "ingest") return Ingest(*c, o);
  if (o.verb == "trigger") return Trigger(*c, o);
  if (o.verb == "logs") return RunLogs(*c, o);
  if (o.verb == "cancel") return CancelRun(*c, o);
  if (o.verb == "backfill") return Backfill(*c, o);
  if (o.verb == "new") return New(*c, o);
  if (o.verb == "dead-letters" || o.verb == "replay") return DeadLetters(*c, o);
  if (o.verb == "secret") return Secret(*c, o);
  if (o.resource == "templates" || o.resource == "template") return Simple(*c, o, "templates");
  if (o.resource == "datasets" || o.resource == "dataset") {
    if (o.verb == "delete") return Fail(Status::InvalidArgument("datasets follow their pipelines: delete those instead"));
    return Datasets(*c, o);
  }
  if (o.resource == "environments" || o.resource == "environment") return Simple(*c, o, "environments");
  if (o.resource == "runs" || o.resource == "run") {
    if (o.verb == "ls" || (o.verb == "get" && o.target.empty())) return ListRuns(*c, o);
    if (o.verb == "get" || o.verb == "describe") return GetRun(*c, o);
    std::fprintf(stderr, "runs cannot be deleted (they are history); cancel a run with `sluice cancel RUN`\n");
    return kExitInvalid;
  }
  if (o.resource != "pipelines" && o.resource != "pipeline") {
    std::fprintf(stderr, "unknown resource '%s': pipelines, runs, templates, environments or datasets\n", o.resource.c_str());
    return kExitInvalid;
  }
  if (o.verb == "ls" || (o.verb == "get" && o.target.empty())) return ListPipelines(*c, o);
  if (o.verb == "get") return GetPipeline(*c, o, false);
  if (o.verb == "describe") return GetPipeline(*c, o, true);
  if (o.verb == "delete") return DeletePipeline(*c, o);
  std::fprintf(stderr, "unknown verb '%s'\n", o.verb.c_str());
  return kExitInvalid;
}

}  // namespace sluice::cli
