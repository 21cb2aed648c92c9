#include "sluice/control/auth/rbac.h"

#include <algorithm>

#include "sluice/base/strings.h"

namespace sluice::auth {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone: return "none";
    case Role::kViewer: return "viewer";
    case Role::kOperator: return "operator";
    case Role::kEditor: return "editor";
    case Role::kAdmin: return "admin";
  }
  return "none";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kEditor, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return Status::InvalidArgument("unknown role '{}'; roles are viewer, operator, editor and admin", name);
}

const std::vector<std::pair<std::string_view, Role>>& PermissionTable() {
  static const std::vector<std::pair<std::string_view, Role>> kTable = {
      {"pipelines.read", Role::kViewer},      {"runs.read", Role::kViewer},
      {"templates.read", Role::kViewer},      {"datasets.read", Role::kViewer},
      {"environments.read", Role::kViewer},   {"roles.read", Role::kViewer},
      {"pipelines.operate", Role::kOperator}, {"ingest.write", Role::kOperator},
      {"pipelines.write", Role::kEditor},     {"templates.write", Role::kEditor},
      {"roles.write", Role::kEditor},         {"environments.write", Role::kAdmin},
      {"secrets.write", Role::kAdmin},        {"users.read", Role::kAdmin},
      {"users.write", Role::kAdmin},          {"audit.read", Role::kAdmin},
      {"workers", Role::kAdmin},              {"environments.grant", Role::kAdmin},
  };
  return kTable;
}

Result<Role> RequiredRole(std::string_view permission) {
  for (const auto& [p, r] : PermissionTable()) {
    if (p == permission) return r;
  }
  return Status::InvalidArgument("permission '{}' is not in the permission table", permission);
}

bool IsNamespaceName(std::string_view ns) {
  if (ns == "*") return true;
  return !ns.empty() && ns[0] >= 'a' && ns[0] <= 'z' && sluice::IsNamespaceName(ns);
}

bool IsSubjectName(std::string_view subject) {
  const size_t colon = subject.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view kind = subject.substr(0, colon), name = subject.substr(colon + 1);
  if (kind != "user" && kind != "group" && kind != "svc" && kind != "oidc") return false;
  if (name.empty() || name.size() > 256) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 127; });
}

Grants Grants::From(const std::vector<metadata::RoleBindingRecord>& bindings) {
  Grants g;
  for (const auto& b : bindings) {
    auto role = ParseRole(b.role);
    if (!role.ok()) continue;  // a role this version does not know grants nothing
    if (b.ns == "*") {
      g.cluster_ = std::max(g.cluster_, *role);
    } else {
      Role& r = g.by_namespace_[b.ns];
      r = std::max(r, *role);
    }
  }
  return g;
}

Grants Grants::Everything() {
  Grants g;
  g.cluster_ = Role::kAdmin;
  return g;
}

Role Grants::In(std::string_view ns) const {
  auto it = by_namespace_.find(ns);
  return std::max(cluster_, it == by_namespace_.end() ? Role::kNone : it->second);
}

bool Grants::AnyAtLeast(Role role) const {
  if (cluster_ >= role) return true;
  return std::any_of(by_namespace_.begin(), by_namespace_.end(), [&](const auto& kv) { return kv.second >= role; });
}

}  // namespace sluice::auth
