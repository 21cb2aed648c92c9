// The audit log: one row per change or refusal, and a hash chain that shows tampering.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>

#include "sluice/control/api/api.h"
#include "sluice/control/api/security_test_util.h"
#include "sluice/control/auth/jwt.h"

namespace sluice::api::testing {
namespace {

TEST_F(Security, AuditLogHasOneRowPerChangeOrRefusalAndItsChainShowsTampering) {
  const std::vector<http::RouteInfo> routes = router_.List();
  for (const auto& r : routes) ASSERT_TRUE(fixtures_.count(r.operation_id)) << r.operation_id;
  ASSERT_EQ(AuditHead(), 0) << "fixtures leave no audit rows";
  const std::vector<std::string> methods = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"};
  auto foreign_key = auth::JwtKeyFromSecret("sluice-hs256-1", std::string(32, 'x'));
  ASSERT_TRUE(foreign_key.ok());
  auto foreign = auth::SignJwt(
      {{"iss", "sluice"}, {"aud", "sluice-api"}, {"sub", "user:admin-all"}, {"exp", kStartMicros / 1000000 + 600}},
      *foreign_key);
  ASSERT_TRUE(foreign.ok());
  const std::vector<std::string> bad_credentials = {"Bearer garbage", "Bearer " + *foreign, "Basic dXNlcjpwYXNz",
                                                    "Bearer slc_0123456789abcdef_abcdefghijklmnopqrstuvwxyz",
                                                    "Bearer "};
  const Principal anonymous = principals_.back();

  struct Sent {
    std::string id, method, action, principal, resource;
    int status = 0;
    bool denied = false;
    bool row() const { return IsMutating(method) || denied; }
  };
  std::vector<Sent> sent;
  std::vector<std::string> model_mismatches;
  std::mt19937_64 rng(20261101);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int i = 0; i < 1000; ++i) {
    Sent s;
    const size_t kind = pick(10);
    const Principal& p = principals_[pick(principals_.size())];
    if (kind == 0) {  // a path no route has
      const Req req{methods[pick(methods.size())], "/api/v1/nowhere/" + std::to_string(i), ""};
      const http::Response resp = As(p, req, &s.id);
      s = {s.id,        req.method, req.method + " " + PathOf(req.target), "anonymous", PathOf(req.target),
           resp.status, false};
      EXPECT_EQ(resp.status, 404);
      sent.push_back(s);
      continue;
    }
    const http::RouteInfo& route = routes[pick(routes.size())];
    const RouteFixture& f = fixtures_.at(route.operation_id);
    const std::string ns = kTargets[pick(kTargets.size())];
    // kind 1: a credential that is no credential; kind 2: a method the path has no route for.
    const Principal& caller = kind == 1 ? anonymous : p;
    Req req = f.build(caller, ns);
    if (kind == 2) {
      std::vector<std::string> others;
      for (const auto& m : methods) {
        if (RouteFor(routes, m, req.target) == nullptr) others.push_back(m);
      }
      if (!others.empty()) req.method = others[pick(others.size())];
    }
    const std::string authorization = kind == 1 ? bad_credentials[pick(bad_credentials.size())] : Bearer(caller.token);
    const http::Response resp = Send(req, authorization, "10.0.0.1", &s.id);
    s.method = req.method;
    s.status = resp.status;
    s.resource = PathOf(req.target);
    if (const http::RouteInfo* matched = RouteFor(routes, req.method, req.target)) {
      const Outcome want = Expected(*matched, fixtures_.at(matched->operation_id), caller, ns);
      if (StatusClass(resp.status) != OutcomeName(want)) {
        model_mismatches.push_back(route.operation_id + " as " + caller.label + ": " + std::to_string(resp.status));
      }
      s.denied = want != Outcome::kOk;
      s.action = matched->operation_id;
      s.principal = AuditPrincipal(*matched, caller);
    } else {
      EXPECT_EQ(resp.status, 405) << req.method << " " << req.target;
      s.action = req.method + " " + PathOf(req.target);
      s.principal = "anonymous";
    }
    EXPECT_EQ(resp.headers.Get("X-Request-Id"), std::optional<std::string_view>(s.id));
    sent.push_back(s);
  }
  EXPECT_TRUE(model_mismatches.empty()) << Join(model_mismatches, "\n");

  // Every row, by request id.
  std::map<std::string, std::vector<metadata::AuditRecord>> by_id;
  int64_t rows = 0;
  std::optional<int64_t> before;
  while (true) {
    auto page = store_->audit().ListAudit({}, before, 400);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& r : *page) by_id[r.request_id].push_back(r);
    rows += static_cast<int64_t>(page->size());
    if (page->size() < 400) break;
    before = page->back().seq;
  }
  int64_t expected_rows = 0, denied = 0, mutating = 0;
  for (const auto& s : sent) {
    const auto it = by_id.find(s.id);
    const size_t n = it == by_id.end() ? 0 : it->second.size();
    ASSERT_EQ(n, s.row() ? 1u : 0u) << s.method << " " << s.resource << " (" << s.action << ") status " << s.status;
    if (!s.row()) continue;
    ++expected_rows;
    denied += s.denied;
    mutating += IsMutating(s.method);
    const metadata::AuditRecord& row = it->second.front();
    EXPECT_EQ(row.principal, s.principal) << s.action;
    EXPECT_EQ(row.action, s.action);
    EXPECT_EQ(row.resource, s.resource);
    EXPECT_EQ(row.status, s.status) << s.action;
    EXPECT_EQ(row.outcome, s.denied ? "denied" : s.status < 400 ? "ok" : "failed") << s.action << " " << s.status;
    EXPECT_EQ(row.remote_address, "10.0.0.1");
  }
  EXPECT_EQ(rows, expected_rows) << "rows for requests that were neither changes nor refusals";
  std::cout << "audit: " << sent.size() << " requests, " << rows << " rows (" << mutating << " mutating, " << denied
            << " denied)" << std::endl;
  EXPECT_GT(denied, 100);
  EXPECT_GT(static_cast<int64_t>(sent.size()) - expected_rows, 100) << "reads that leave no row";
  auto verified = store_->audit().VerifyAudit();
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_FALSE(verified->broken_at.has_value()) << verified->problem;
  EXPECT_EQ(verified->rows, rows);

  // Tampering, straight in the database file.
  auto exec = [](sqlite3* db, const std::string& sql) -> std::string {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string message = rc == SQLITE_OK ? "" : err ? err : "error " + std::to_string(rc);
    sqlite3_free(err);
    return message;
  };
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "meta.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  const int64_t k = rows / 2;
  EXPECT_NE(
      exec(db, "UPDATE audit_log SET principal = 'user:mallory' WHERE seq = " + std::to_string(k)).find("append-only"),
      std::string::npos);
  EXPECT_NE(exec(db, "DELETE FROM audit_log WHERE seq = " + std::to_string(k)).find("append-only"), std::string::npos);
  const fs::path pristine = dir_ / "pristine.db";
  ASSERT_EQ(exec(db, "VACUUM INTO '" + pristine.string() + "'"), "");
  sqlite3_close(db);

  // Applies `sql` to a fresh copy with the append-only triggers dropped; where the chain breaks.
  auto broken_at = [&](const std::string& name, const std::string& sql) -> std::optional<int64_t> {
    const fs::path copy = dir_ / (name + ".db");
    fs::copy_file(pristine, copy);
    sqlite3* c = nullptr;
    EXPECT_EQ(sqlite3_open(copy.c_str(), &c), SQLITE_OK);
    EXPECT_EQ(exec(c, "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; " + sql), "") << name;
    sqlite3_close(c);
    auto store = metadata::MetadataStore::Open("sqlite:" + copy.string(), &clock_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return -1;
    auto v = (*store)->audit().VerifyAudit();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return -1;
    if (v->broken_at) std::cout << "  " << name << ": " << v->problem << std::endl;
    return v->broken_at;
  };
  const std::string seq_k = std::to_string(k), seq_next = std::to_string(k + 1);
  EXPECT_EQ(broken_at("untouched", ""), std::nullopt);
  EXPECT_EQ(broken_at("changed", "UPDATE audit_log SET principal = 'user:mallory' WHERE seq = " + seq_k), k);
  EXPECT_EQ(broken_at("outcome", "UPDATE audit_log SET outcome = 'ok' WHERE seq = " + seq_k), k);
  EXPECT_EQ(broken_at("deleted", "DELETE FROM audit_log WHERE seq = " + seq_k), k);
  auto original = store_->audit().ListAudit({}, k + 1, 1);
  ASSERT_TRUE(original.ok() && original->size() == 1 && original->front().seq == k);
  metadata::AuditRecord forged = original->front();
  forged.principal = "user:mallory";
  forged.hash = metadata::AuditHash(forged);
  EXPECT_EQ(broken_at("rehashed", "UPDATE audit_log SET principal = 'user:mallory', hash = '" + forged.hash +
                                      "' WHERE seq = " + seq_k),
            k + 1);
  EXPECT_EQ(broken_at("reordered", "UPDATE audit_log SET seq = -1 WHERE seq = " + seq_k +
                                       "; UPDATE audit_log SET seq = " + seq_k + " WHERE seq = " + seq_next +
                                       "; UPDATE audit_log SET seq = " + seq_next + " WHERE seq = -1"),
            k);
}

}  // namespace
}  // namespace sluice::api::testing
