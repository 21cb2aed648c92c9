// Client verbs (DESIGN §10): apply, get, ls, describe, delete, ingest — over the HTTP API.
#include <fstream>
#include <random>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "sluice/base/status.h"
#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

using json = nlohmann::json;

int ExitFor(const Status& st) {
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

int Fail(const Status& st) {
  std::fprintf(stderr, "%s\n", st.message().c_str());
  return ExitFor(st);
}

Result<client::ApiClient> Connect(const ClientOptions& o) {
  client::ClientFlags flags;
  flags.server = o.server;
  flags.token = o.token;
  SLUICE_ASSIGN_OR_RETURN(auto config, client::ClientConfig::Resolve(flags));
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

int Apply(client::ApiClient& c, const ClientOptions& o) {
  auto spec = ReadInput(o.file);
  if (!spec.ok()) return Fail(spec.status());
  auto r = c.Request("POST", "/api/v1/pipelines", json{{"spec", *spec}, {"message", o.message}}.dump());
  if (!r.ok()) return Fail(r.status());
  if (!r->ok()) {
    // A spec error: one FILE:LINE: message per problem, as `sluice validate` prints them.
    if (r->json.is_object() && r->json.value("code", "") == "invalid_spec") {
      for (const auto& e : r->json["errors"]) {
        if (e.contains("line")) std::fprintf(stderr, "%s:%lld: %s\n", o.file.c_str(), static_cast<long long>(e["line"].get<int64_t>()), e.value("message", "").c_str());
        else std::fprintf(stderr, "%s: %s\n", o.file.c_str(), e.value("message", "").c_str());
      }
      return kExitInvalid;
    }
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
      return ExitFor(r.status());
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

}  // namespace

int Client(const ClientOptions& o) {
  auto c = Connect(o);
  if (!c.ok()) return Fail(c.status());
  if (o.verb == "apply") return Apply(*c, o);
  if (o.verb == "ingest") return Ingest(*c, o);
  if (o.verb == "trigger") return Trigger(*c, o);
  if (o.verb == "logs") return RunLogs(*c, o);
  if (o.verb == "cancel") return CancelRun(*c, o);
  if (o.verb == "backfill") return Backfill(*c, o);
  if (o.resource == "runs" || o.resource == "run") {
    if (o.verb == "ls" || (o.verb == "get" && o.target.empty())) return ListRuns(*c, o);
    if (o.verb == "get" || o.verb == "describe") return GetRun(*c, o);
    std::fprintf(stderr, "runs cannot be deleted (they are history); cancel a run with `sluice cancel RUN`\n");
    return kExitInvalid;
  }
  if (o.resource != "pipelines" && o.resource != "pipeline") {
    std::fprintf(stderr, "unknown resource '%s': this version manages pipelines and runs (templates, datasets and "
                         "environments are still to come)\n", o.resource.c_str());
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
