// Security verbs (docs/security.md): login (with a password, or an API token), whoami, API
// tokens, users, role bindings, and the audit log (list, verify).
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "client_common.h"
#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "sluice/client/session.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/control/metadata/secret_box.h"
#include "sluice/io/workdir.h"

namespace sluice::cli {

namespace {

using json = nlohmann::json;

struct LoginOptions : ClientCommon {
  std::string user;  // --user: log in with this local user's password (else an API token)
};

struct TokenOptions : ClientCommon {
  std::string action;   // create | ls | revoke
  std::string name;     // create: what the token is for; revoke: its id
  std::string subject;  // create: who it acts as; ls: only this subject's
  int64_t days = 0;     // create: days until it expires (0: the server's default)
};

struct UserOptions : ClientCommon {
  std::string action;  // create | ls | rm | passwd
  std::string name;
  bool current_password = false;  // passwd --current: stdin has the current password first
};

struct RoleOptions : ClientCommon {
  std::string action;  // grant | revoke | ls
  std::string subject, role, ns;
};

struct AuditOptions : ClientCommon {
  std::string action;               // ls | verify
  std::string principal, outcome;   // ls: filters
  int64_t limit = 50;               // ls: newest rows to show
  std::string metadata;             // verify --metadata URL: read the database directly
  std::string workdir = ".sluice";  // verify --metadata: where the secret key file is
};

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

std::string Row(const std::vector<std::pair<int, std::string>>& cells) {
  std::string out;
  for (const auto& [width, text] : cells) out += fmt::format("{:<{}} ", text, width);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "\n";
}

int WhoAmI(client::ApiClient& c, const ClientCommon& o) {
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

int Tokens(client::ApiClient& c, const TokenOptions& o) {
  if (o.action == "create") {
    json body = {{"name", o.name}};
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
    auto r = c.Delete("/api/v1/tokens/" + client::UrlEncode(o.name));
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"id", o.name}, {"revoked", true}}.dump(2), o.output, "token " + o.name + " revoked\n");
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

int Users(client::ApiClient& c, const UserOptions& o) {
  if (o.action == "create") {
    const std::string password = ReadSecretLine("password for the new user: ");
    auto r = c.Post("/api/v1/users", {{"name", o.name}, {"password", password}});
    if (!r.ok()) return Fail(r.status());
    PrintDocument(r->json.dump(2), o.output,
                  "user " + o.name + " created; give it a role with `sluice role grant user:" + o.name +
                      " ROLE --namespace NS`\n");
    return kExitOk;
  }
  if (o.action == "rm") {
    auto r = c.Delete("/api/v1/users/" + client::UrlEncode(o.name));
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"name", o.name}, {"deleted", true}}.dump(2), o.output, "user " + o.name + " deleted\n");
    return kExitOk;
  }
  if (o.action == "passwd") {
    json body = json::object();
    if (o.current_password) body["current_password"] = ReadSecretLine("current password: ");
    body["password"] = ReadSecretLine("new password: ");
    auto r = c.Put("/api/v1/users/" + client::UrlEncode(o.name) + "/password", body);
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"name", o.name}, {"password_changed", true}}.dump(2), o.output,
                  "password of " + o.name + " changed (its other sessions are ended)\n");
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

int Roles(client::ApiClient& c, const RoleOptions& o) {
  if (o.ns.empty()) {
    return Fail(Status::InvalidArgument("name the namespace with --namespace NS ('*' for every namespace)"));
  }
  const std::string base = "/api/v1/namespaces/" + client::UrlEncode(o.ns) + "/rolebindings";
  if (o.action == "grant") {
    auto r = c.Put(base + "/" + client::UrlEncode(o.subject), {{"role", o.role}});
    if (!r.ok()) return Fail(r.status());
    PrintDocument(r->json.dump(2), o.output, fmt::format("{} is {} in {}\n", o.subject, o.role, o.ns));
    return kExitOk;
  }
  if (o.action == "revoke") {
    auto r = c.Delete(base + "/" + client::UrlEncode(o.subject));
    if (!r.ok()) return Fail(r.status());
    PrintDocument(json{{"subject", o.subject}, {"namespace", o.ns}, {"revoked", true}}.dump(2), o.output,
                  fmt::format("{} has no role in {} any more\n", o.subject, o.ns));
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
int PrintVerification(const json& v, const ClientCommon& o) {
  const bool ok = v.value("ok", false);
  std::string table =
      ok ? fmt::format("audit log intact: {} rows, head hash {}\n", v.value("rows", 0), v.value("head_hash", ""))
         : fmt::format("audit log TAMPERED at row {}: {} ({} rows verified before it)\n", v.value("broken_at", 0),
                       v.value("problem", ""), v.value("rows", 0));
  PrintDocument(v.dump(2), o.output, table);
  if (ok) return kExitOk;
  return Fail(Failure{.code = codes::kAuditTampered,
                      .message = fmt::format("the audit log is tampered with at row {}: {}", v.value("broken_at", 0),
                                             v.value("problem", "")),
                      .exit_code = kExitFailure});
}

int Audit(const AuditOptions& o) {
  if (o.action == "verify" && !o.metadata.empty()) {
    // Offline: straight from the database (the server may be down).
    auto store = metadata::MetadataStore::Open(o.metadata);
    if (!store.ok()) return Fail(store.status());
    auto box = metadata::SecretBox::Load(Workdir(o.workdir).SecretKeyFile().string());
    if (!box.ok()) return Fail(box.status());
    (*store)->audit().SetAuditKey(box->DeriveKey(metadata::kAuditChainPurpose));
    auto v = (*store)->audit().VerifyAudit();
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
  if (!o.principal.empty()) path += "&principal=" + client::UrlEncode(o.principal);
  if (!o.outcome.empty()) path += "&outcome=" + client::UrlEncode(o.outcome);
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

int LoginWithPassword(const LoginOptions& o) {
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

// login: checks that the server answers, then keeps the server and token in the client config
// (mode 0600) for the other verbs.
int Login(const LoginOptions& o) {
  if (!o.user.empty()) return LoginWithPassword(o);
  auto given = TokenOfFlags(o.token, o.token_file);
  if (!given.ok()) return Fail(given.status());
  client::ClientFlags flags;
  flags.server = o.server;
  flags.token = *given;
  flags.ca_file = o.ca_cert;
  auto config = client::ClientConfig::Resolve(flags);
  if (!config.ok()) return Fail(config.status());
  if (!*given) {
    if (::isatty(STDIN_FILENO) == 1) std::fprintf(stderr, "token: ");
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

void AddSecurityVerbs(Command& app) {
  auto login_opts = std::make_shared<LoginOptions>();
  Command login = app.Subcommand("login",
                                 "Log in and keep the server URL and your tokens for the other commands (client "
                                 "config, mode 0600): with --user, the password is read from stdin (the access token "
                                 "is renewed with a refresh token); else an API token from --token-file, --token or "
                                 "stdin");
  login.Option("--user", login_opts->user, "Local user name: log in with its password (read from stdin, not echoed)");
  AddClientFlags(login, *login_opts);
  login.Runs([login_opts] { return Login(*login_opts); });

  auto whoami_opts = std::make_shared<ClientCommon>();
  Command whoami = app.Subcommand("whoami",
                                  "Show who the server thinks you are, your groups and your roles per namespace");
  AddClientFlags(whoami, *whoami_opts);
  whoami.Runs(Connected(whoami_opts, &WhoAmI));

  auto token_opts = std::make_shared<TokenOptions>();
  Command token = app.Subcommand("token", "API tokens for machines: token create NAME [--subject svc:NAME] [--days N] "
                                          "(shown once), token ls, token revoke ID");
  token.Option("action", token_opts->action, "create, ls or revoke").Required().OneOf({"create", "ls", "revoke"});
  token.Option("name", token_opts->name, "create: what the token is for; revoke: its id");
  token.Option(
      "--subject", token_opts->subject,
      "create: who the token acts as (default: you; another subject needs admin on '*'); ls: only this subject's");
  token.Option("--days", token_opts->days, "create: days until it expires (default 90, at most 366)");
  AddClientFlags(token, *token_opts);
  token.Runs(Connected(token_opts, &Tokens));

  auto user_opts = std::make_shared<UserOptions>();
  Command user = app.Subcommand(
      "user", "Local users: user create NAME (password from stdin), user ls, user rm NAME, user passwd NAME");
  user.Option("action", user_opts->action, "create, ls, rm or passwd")
      .Required()
      .OneOf({"create", "ls", "rm", "passwd"});
  user.Option("name", user_opts->name, "User name");
  user.Flag("--current", user_opts->current_password,
            "passwd of yourself: stdin has your current password on the first line, then the new one");
  AddClientFlags(user, *user_opts);
  user.Runs(Connected(user_opts, &Users));

  auto role_opts = std::make_shared<RoleOptions>();
  Command role = app.Subcommand("role", "Role bindings: role grant SUBJECT ROLE --namespace NS, role revoke SUBJECT "
                                        "--namespace NS, role ls --namespace NS ('*': every namespace)");
  role.Option("action", role_opts->action, "grant, revoke or ls").Required().OneOf({"grant", "revoke", "ls"});
  role.Option("subject", role_opts->subject, "user:NAME, group:NAME, svc:NAME or oidc:SUB");
  role.Option("role", role_opts->role, "viewer, operator, editor or admin");
  role.Option("--namespace", role_opts->ns, "The namespace, or '*' for every namespace").Required();
  AddClientFlags(role, *role_opts);
  role.Runs(Connected(role_opts, &Roles));

  auto audit_opts = std::make_shared<AuditOptions>();
  Command audit = app.Subcommand("audit", "The audit log (admins): audit ls [--principal P] [--outcome "
                                          "ok|denied|failed], audit verify (exit 0: intact, 1: tampered)");
  audit.Option("action", audit_opts->action, "ls or verify").Required().OneOf({"ls", "verify"});
  audit.Option("--principal", audit_opts->principal, "ls: only this principal's rows");
  audit.Option("--outcome", audit_opts->outcome, "ls: only ok, denied or failed");
  audit.Option("--limit", audit_opts->limit, "ls: newest rows to show").DefaultStr("50").InRange(1, 1000);
  audit.Option(
      "--metadata", audit_opts->metadata,
      "verify: read this metadata database directly (sqlite:PATH or postgresql://...) instead of asking the server")
      .MayHoldPassword(kMetadataPasswordAdvice);
  audit
      .Option("--workdir", audit_opts->workdir,
              "verify --metadata: the server's workdir, whose secret.key keys the chain (or set SLUICE_SECRET_KEY)")
      .DefaultStr(".sluice");
  AddClientFlags(audit, *audit_opts);
  audit.Runs([audit_opts] { return Audit(*audit_opts); });
}

}  // namespace sluice::cli
