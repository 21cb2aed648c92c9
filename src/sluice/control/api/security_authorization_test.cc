// Authorization, in-process through the Router as the server dispatches (the fixture is in
// security_test_util.h): the matrix generated from the route table — every route called by every
// kind of principal on its own and on another namespace, the expected answer following from the
// route's permission and scope alone — and escalation attempts, refused and audited once.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "sluice/control/api/api.h"
#include "sluice/control/api/security_test_util.h"

namespace sluice::api::testing {
namespace {

TEST_F(Security, AuthorizationMatrixFollowsEachRoutesPermissionAndScope) {
  const std::vector<http::RouteInfo> routes = router_.List();
  std::set<std::string> ops;
  std::vector<std::string> missing, mismatches;
  std::map<std::string, int> got_counts, want_counts;
  size_t cases = 0;
  for (const auto& route : routes) {
    ops.insert(route.operation_id);
    auto it = fixtures_.find(route.operation_id);
    if (it == fixtures_.end()) {
      missing.push_back(route.method + " " + route.pattern + " (" + route.operation_id + ")");
      continue;
    }
    const RouteFixture& f = it->second;
    for (const auto& p : principals_) {
      for (const auto& ns : kTargets) {
        const Req req = f.build(p, ns);
        const std::string where = route.operation_id + " " + req.method + " " + req.target + " as " + p.label + " on " +
                                  ns + ": ";
        const http::RouteInfo* matched = RouteFor(routes, req.method, req.target);
        if (matched == nullptr || matched->operation_id != route.operation_id) {
          mismatches.push_back(where + "the request fixture does not reach this route");
          continue;
        }
        const Outcome want = Expected(route, f, p, ns);
        std::string id;
        const http::Response resp = As(p, req, &id);
        ++cases;
        ++want_counts[OutcomeName(want)];
        ++got_counts[StatusClass(resp.status)];
        std::string problem;
        if (StatusClass(resp.status) != OutcomeName(want)) {
          problem = "want " + OutcomeName(want) + " (" + std::string(http::ScopeName(route.scope)) + " " +
                    route.permission + "), got " + std::to_string(resp.status);
        } else if (want != Outcome::kOk && Code(resp) != CodeOf(want)) {
          problem = "code " + Code(resp) + ", want " + CodeOf(want);
        } else if (want == Outcome::kOk && f.check_list) {
          problem = f.check_list(p, ns, Body(resp));
        }
        if (problem.empty()) problem = AuditProblem(route, p, req, want, resp, id);
        if (!problem.empty()) mismatches.push_back(where + problem + " | " + resp.body.substr(0, 240));
      }
    }
  }
  std::vector<std::string> stale;
  for (const auto& [op, f] : fixtures_) {
    if (!ops.count(op)) stale.push_back(op);
  }

  std::ostringstream summary;
  summary << "authorization matrix: " << routes.size() << " routes x " << principals_.size() << " principals x "
          << kTargets.size() << " namespaces = " << cases << " requests; expected";
  for (const auto& [k, n] : want_counts) summary << " " << k << "=" << n;
  summary << "; got";
  for (const auto& [k, n] : got_counts) summary << " " << k << "=" << n;
  summary << "; mismatches " << mismatches.size();
  std::cout << summary.str() << std::endl;

  EXPECT_TRUE(missing.empty())
      << "routes without a request fixture in security_test_util.h (add one to BuildFixtures):\n  "
      << Join(missing, "\n  ");
  EXPECT_TRUE(stale.empty()) << "fixtures of routes that no longer exist: " << Join(stale, ", ");
  if (mismatches.size() > 60) mismatches.resize(60);
  EXPECT_TRUE(mismatches.empty()) << summary.str() << "\n  " << Join(mismatches, "\n  ");
  EXPECT_EQ(cases, (routes.size() - missing.size()) * principals_.size() * kTargets.size());
  // Each expected outcome occurs, so none of the rules above goes untested.
  for (Outcome o : {Outcome::kOk, Outcome::kUnauthenticated, Outcome::kForbidden, Outcome::kHidden}) {
    EXPECT_GT(want_counts[OutcomeName(o)], 0) << OutcomeName(o);
  }
}

TEST_F(Security, EscalationAttemptsAreRefusedAndAuditedOnce) {
  // Editor in team-a and viewer in team-b.
  const Principal split = AddUser("split", Role::kEditor, Role::kNone);
  ASSERT_TRUE(store_->identity().PutRoleBinding({"user:split", kTeamB, "viewer", "test", 0}).ok());
  const Principal& viewer = Who("viewer-a");
  const Principal& op = Who("operator-a");
  const Principal& editor = Who("editor-a");
  const Principal& admin = Who("admin-a");
  const std::string bindings = "/api/v1/namespaces/";
  struct Attempt {
    std::string what;
    const Principal* who;
    Req req;
    int status;
    std::string action;
  };
  const std::vector<Attempt> attempts = {
      {"an editor grants itself admin",
       &editor,
       {"PUT", bindings + "team-a/rolebindings/user:editor-a", R"({"role": "admin"})"},
       403,
       "putRoleBinding"},
      {"an editor of team-a grants editor in team-b, where it has no role (hidden)",
       &editor,
       {"PUT", bindings + "team-b/rolebindings/user:editor-a", R"({"role": "editor"})"},
       404,
       "putRoleBinding"},
      {"an editor of team-a who views team-b grants itself editor there",
       &split,
       {"PUT", bindings + "team-b/rolebindings/user:split", R"({"role": "editor"})"},
       403,
       "putRoleBinding"},
      {"an admin of team-a grants viewer in every namespace",
       &admin,
       {"PUT", bindings + "*/rolebindings/user:viewer-a", R"({"role": "viewer"})"},
       403,
       "putRoleBinding"},
      {"an admin of team-a grants itself admin in every namespace",
       &admin,
       {"PUT", bindings + "*/rolebindings/user:admin-a", R"({"role": "admin"})"},
       403,
       "putRoleBinding"},
      {"an editor replaces an admin's role with viewer (takes admin away)",
       &editor,
       {"PUT", bindings + "team-a/rolebindings/user:admin-a", R"({"role": "viewer"})"},
       403,
       "putRoleBinding"},
      {"a viewer creates an API token for another subject",
       &viewer,
       {"POST", "/api/v1/tokens", R"({"name": "mine-now", "subject": "user:admin-all"})"},
       403,
       "createApiToken"},
      {"an admin of team-a creates an API token for a service",
       &admin,
       {"POST", "/api/v1/tokens", R"({"name": "ci", "subject": "svc:ci"})"},
       403,
       "createApiToken"},
      {"a viewer sets another user's password",
       &viewer,
       {"PUT", "/api/v1/users/bystander/password", json{{"password", "taken-over-password"}}.dump()},
       403,
       "setUserPassword"},
      {"an admin of team-a sets another user's password",
       &admin,
       {"PUT", "/api/v1/users/admin-all/password", json{{"password", "taken-over-password"}}.dump()},
       403,
       "setUserPassword"},
      {"a user sets its own password without the current one",
       &viewer,
       {"PUT", "/api/v1/users/viewer-a/password", json{{"password", "a-new-password-0"}}.dump()},
       403,
       "setUserPassword"},
      {"an operator deletes an editor's binding",
       &op,
       {"DELETE", bindings + "team-a/rolebindings/user:editor-a", ""},
       403,
       "deleteRoleBinding"},
      {"an editor deletes an admin's binding",
       &editor,
       {"DELETE", bindings + "team-a/rolebindings/user:admin-a", ""},
       403,
       "deleteRoleBinding"},
      {"an editor of team-a deletes a binding in every namespace",
       &editor,
       {"DELETE", bindings + "*/rolebindings/user:admin-all", ""},
       403,
       "deleteRoleBinding"},
  };
  auto binding_set = [&] {
    std::set<std::string> out;
    auto all = store_->identity().ListRoleBindings();
    EXPECT_TRUE(all.ok());
    if (all.ok()) {
      for (const auto& b : *all) out.insert(b.subject + "@" + b.ns + "=" + b.role);
    }
    return out;
  };
  const std::set<std::string> bindings_before = binding_set();
  for (const auto& a : attempts) {
    const int64_t head = AuditHead();
    std::string id;
    const http::Response resp = As(*a.who, a.req, &id);
    EXPECT_EQ(resp.status, a.status) << a.what << ": " << resp.body;
    EXPECT_EQ(Code(resp), a.status == 403 ? "forbidden" : "not_found") << a.what;
    ASSERT_EQ(AuditHead(), head + 1) << a.what << ": exactly one new audit row";
    auto rows = store_->audit().ListAudit({}, std::nullopt, 1);
    ASSERT_TRUE(rows.ok() && rows->size() == 1);
    const metadata::AuditRecord& row = rows->front();
    EXPECT_EQ(row.request_id, id) << a.what;
    EXPECT_EQ(row.outcome, "denied") << a.what;
    EXPECT_EQ(row.principal, a.who->subject()) << a.what;
    EXPECT_EQ(row.action, a.action) << a.what;
    EXPECT_EQ(row.status, a.status) << a.what;
  }
  // Nothing changed.
  EXPECT_EQ(binding_set(), bindings_before);
  EXPECT_TRUE(auth_->PasswordGrant("bystander", PasswordOf("bystander")).ok());
  EXPECT_TRUE(auth_->PasswordGrant("admin-all", PasswordOf("admin-all")).ok());
  EXPECT_TRUE(auth_->PasswordGrant("viewer-a", PasswordOf("viewer-a")).ok());
  for (const std::string subject : {"user:admin-all", "svc:ci"}) {
    auto tokens = store_->identity().ListTokens("api", subject);
    ASSERT_TRUE(tokens.ok());
    EXPECT_TRUE(tokens->empty()) << subject;
  }

  // The same requests within the caller's rights pass (so the refusals above are about rights).
  EXPECT_EQ(As(editor, {"PUT", bindings + "team-a/rolebindings/user:grantee", R"({"role": "editor"})"}).status, 200);
  EXPECT_EQ(As(Who("admin-all"), {"PUT", bindings + "*/rolebindings/user:viewer-a", R"({"role": "viewer"})"}).status,
            200);
  EXPECT_EQ(As(Who("admin-all"), {"POST", "/api/v1/tokens", R"({"name": "ci", "subject": "svc:ci"})"}).status, 201);
  EXPECT_EQ(As(viewer, {"PUT", "/api/v1/users/viewer-a/password",
                        json{{"password", "a-new-password-0"}, {"current_password", PasswordOf("viewer-a")}}.dump()})
                .status,
            204);
  EXPECT_EQ(As(editor, {"DELETE", bindings + "team-a/rolebindings/user:operator-a", ""}).status, 204);
}

}  // namespace
}  // namespace sluice::api::testing
