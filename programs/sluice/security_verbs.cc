// Security verbs (docs/security.md): login with a password, whoami, API tokens, users, role
// bindings, and the audit log (list, verify).
#include <termios.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "sluice/client/session.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/control/metadata/secret_box.h"
#include "sluice/io/workdir.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

using json = nlohmann::json;

int Fail(const Status& st) { return PrintFailure(st); }

// One line of stdin; without echo when stdin is a terminal (a password).
std::string ReadSecretLine(const char* prompt) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    std::fprintf(stderr, "%s", prompt);
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

Result<client::ApiClient> Connect(const ClientOptions& o) {
  SLUICE_ASSIGN_OR_RETURN(auto config, ResolveClientConfig(o.server, o.token, o.ca_cert));
  return client::ApiClient::Create(config.ToOptions());
}

std::string Row(const std::vector<std::pair<int, std::string>>& cells) {
  std::string out;
  for (const auto& [width, text] : cells) out += fmt::format("{:<{}} ", text, width);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "\n";
}

int WhoAmI(client::ApiClient& c, const ClientOptions& o) {
  auto r = c.Get("/api/v1/auth/whoami");
  if (!r.ok()) return Fail(r.status());
  std::string table = fmt::format("{} (via {})\n", r->json.value("subject", ""), r->json.value("via", ""));
  for (const auto& g : r->json.value("groups", json::array())) table += "  group " + g.get<std::string>() + "\n";
  for (const auto& b : r->json.value("roles", json::array())) {
    table += fmt::format("  {} in {}\n", b.value("role", ""), b.value("namespace", ""));
  }
  PrintDocument(r->json.dump(2), o.output, table);
  return kExitOk;
}

int Tokens(client::ApiClient& c, const ClientOptions& o) {
  if (o.action == "create") {
    json body = {{"name", o.target}};
    if (!o.subject.empty()) body["subject"] = o.subject;
    if (o.days > 0) body["expires_in_days"] = o.days;
    auto r = c.Post("/api/v1/tokens", body);
    if (!r.ok()) return Fail(r.status());
    PrintDocument(r->json.dump(2), o.output,
                  fmt::format("token {} for {} (expires {}); it is shown only now:\n{}\n", r->json.value("id", ""),
                              r->json.value("subject", ""), r->json.value("expires_at", ""), r->json.value("token", "")));
    return kExitOk;
  }
  if (o.action == "revoke") {
    auto r = c.Delete("/api/v1/tokens/" + client::UrlEncode(o.target));
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"id", o.target}, {"revoked", true}}.dump(2), o.output, "token " + o.target + " revoked\n");
    return kExitOk;
  }
  auto r = c.Get("/api/v1/tokens" + (o.subject.empty() ? "" : "?subject=" + client::UrlEncode(o.subject)));
  if (!r.ok()) return Fail(r.status());
  std::string table = Row({{18, "ID"}, {20, "NAME"}, {24, "SUBJECT"}, {22, "EXPIRES"}, {7, "STATE"}});
  for (const auto& t : r->json.value("items", json::array())) {
    table += Row({{18, t.value("id", "")}, {20, t.value("name", "")}, {24, t.value("subject", "")},
                  {22, t.value("expires_at", "")}, {7, t.value("revoked", false) ? "revoked" : "active"}});
  }
  PrintDocument(r->json.dump(2), o.output, table);
  return kExitOk;
}

int Users(client::ApiClient& c, const ClientOptions& o) {
  if (o.action == "create") {
    const std::string password = ReadSecretLine("password for the new user: ");
    auto r = c.Post("/api/v1/users", {{"name", o.target}, {"password", password}});
    if (!r.ok()) return Fail(r.status());
    PrintDocument(r->json.dump(2), o.output,
                  "user " + o.target + " created; give it a role with `sluice role grant user:" + o.target +
                      " ROLE --namespace NS`\n");
    return kExitOk;
  }
  if (o.action == "rm") {
    auto r = c.Delete("/api/v1/users/" + client::UrlEncode(o.target));
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"name", o.target}, {"deleted", true}}.dump(2), o.output, "user " + o.target + " deleted\n");
    return kExitOk;
  }
  if (o.action == "passwd") {
    json body = json::object();
    if (o.current_password) body["current_password"] = ReadSecretLine("current password: ");
    body["password"] = ReadSecretLine("new password: ");
    auto r = c.Put("/api/v1/users/" + client::UrlEncode(o.target) + "/password", body);
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"name", o.target}, {"password_changed", true}}.dump(2), o.output,
                  "password of " + o.target + " changed (its other sessions are ended)\n");
    return kExitOk;
  }
  auto r = c.Get("/api/v1/users");
  if (!r.ok()) return Fail(r.status());
  std::string table = Row({{24, "USER"}, {9, "STATE"}, {22, "CREATED"}});
  for (const auto& u : r->json.value("items", json::array())) {
    table += Row({{24, u.value("name", "")}, {9, u.value("disabled", false) ? "disabled" : "active"},
                  {22, u.value("created_at", "")}});
  }
  PrintDocument(r->json.dump(2), o.output, table);
  return kExitOk;
}

int Roles(client::ApiClient& c, const ClientOptions& o) {
  if (o.ns.empty()) {
    return Fail(Status::InvalidArgument("name the namespace with --namespace NS ('*' for every namespace)"));
  }
  const std::string base = "/api/v1/namespaces/" + client::UrlEncode(o.ns) + "/rolebindings";
  if (o.action == "grant") {
    auto r = c.Put(base + "/" + client::UrlEncode(o.target), {{"role", o.role}});
    if (!r.ok()) return Fail(r.status());
    PrintDocument(r->json.dump(2), o.output, fmt::format("{} is {} in {}\n", o.target, o.role, o.ns));
    return kExitOk;
  }
  if (o.action == "revoke") {
    auto r = c.Delete(base + "/" + client::UrlEncode(o.target));
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"subject", o.target}, {"namespace", o.ns}, {"revoked", true}}.dump(2), o.output,
                  fmt::format("{} has no role in {} any more\n", o.target, o.ns));
    return kExitOk;
  }
  auto r = c.Get(base);
  if (!r.ok()) return Fail(r.status());
  std::string table = Row({{28, "SUBJECT"}, {12, "NAMESPACE"}, {9, "ROLE"}, {20, "GRANTED BY"}});
  for (const auto& b : r->json.value("items", json::array())) {
    table += Row({{28, b.value("subject", "")}, {12, b.value("namespace", "")}, {9, b.value("role", "")},
                  {20, b.value("created_by", "")}});
  }
  PrintDocument(r->json.dump(2), o.output, table);
  return kExitOk;
}

// The verification's outcome: exit 0 when the chain holds, 1 when it is broken.
int PrintVerification(const json& v, const ClientOptions& o) {
  const bool ok = v.value("ok", false);
  std::string table =
      ok ? fmt::format("audit log intact: {} rows, head hash {}\n", v.value("rows", 0), v.value("head_hash", ""))
         : fmt::format("audit log TAMPERED at row {}: {} ({} rows verified before it)\n", v.value("broken_at", 0),
                       v.value("problem", ""), v.value("rows", 0));
  PrintDocument(v.dump(2), o.output, table);
  return ok ? kExitOk : kExitFailure;
}

int Audit(const ClientOptions& o) {
  if (o.action == "verify" && !o.metadata.empty()) {
    // Offline: straight from the database (the server may be down).
    auto store = metadata::MetadataStore::Open(o.metadata);
    if (!store.ok()) return Fail(store.status());
    auto box = metadata::SecretBox::Load(Workdir(o.workdir).SecretKeyFile().string());
    if (!box.ok()) return Fail(box.status());
    (*store)->SetAuditKey(box->DeriveKey(metadata::kAuditChainPurpose));
    auto v = (*store)->VerifyAudit();
    if (!v.ok()) return Fail(v.status());
    json out = {{"ok", !v->broken_at.has_value()}, {"rows", v->rows}, {"head_hash", v->head_hash}};
    if (v->broken_at) {
      out["broken_at"] = *v->broken_at;
      out["problem"] = v->problem;
    }
    return PrintVerification(out, o);
  }
  auto c = Connect(o);
  if (!c.ok()) return Fail(c.status());
  if (o.action == "verify") {
    auto r = c->Get("/api/v1/audit/verify");
    if (!r.ok()) return Fail(r.status());
    return PrintVerification(r->json, o);
  }
  std::string path = fmt::format("/api/v1/audit?limit={}", o.limit);
  if (!o.subject.empty()) path += "&principal=" + client::UrlEncode(o.subject);
  if (!o.outcome_filter.empty()) path += "&outcome=" + client::UrlEncode(o.outcome_filter);
  auto r = c->Get(path);
  if (!r.ok()) return Fail(r.status());
  std::string table =
      Row({{7, "SEQ"}, {28, "AT"}, {24, "PRINCIPAL"}, {22, "ACTION"}, {7, "OUTCOME"}, {6, "STATUS"}, {0, "RESOURCE"}});
  for (const auto& a : r->json.value("items", json::array())) {
    table += Row({{7, std::to_string(a.value("seq", 0))}, {28, a.value("at", "")}, {24, a.value("principal", "")},
                  {22, a.value("action", "")}, {7, a.value("outcome", "")}, {6, std::to_string(a.value("status", 0))},
                  {0, a.value("resource", "")}});
  }
  PrintDocument(r->json.dump(2), o.output, table);
  return kExitOk;
}

}  // namespace

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

int LoginWithPassword(const ClientOptions& o) {
  client::ClientFlags flags;
  flags.server = o.server;
  flags.ca_file = o.ca_cert;
  auto config = client::ClientConfig::Resolve(flags);
  if (!config.ok()) return Fail(config.status());
  const std::string password = ReadSecretLine(("password for " + o.user + ": ").c_str());
  if (Status st = client::PasswordLogin(*config, o.user, password); !st.ok()) return Fail(st);
  auto path = client::ClientConfig::DefaultPath();
  if (!path.ok()) return Fail(path.status());
  if (Status st = config->Save(*path); !st.ok()) return Fail(st);
  PrintDocument(json{{"server", config->server}, {"user", o.user}, {"config", *path}}.dump(2), o.output,
                "logged in to " + config->server + " as " + o.user + " (tokens kept in " + *path + ", mode 0600)\n");
  return kExitOk;
}

int SecurityClient(const ClientOptions& o) {
  if (o.verb == "audit") return Audit(o);
  auto c = Connect(o);
  if (!c.ok()) return Fail(c.status());
  if (o.verb == "whoami") return WhoAmI(*c, o);
  if (o.verb == "token") return Tokens(*c, o);
  if (o.verb == "user") return Users(*c, o);
  if (o.verb == "role") return Roles(*c, o);
  std::fprintf(stderr, "unknown verb '%s'\n", o.verb.c_str());
  return kExitInvalid;
}

}  // namespace sluice::cli
