// Role-based access control (docs/security.md): roles viewer < operator < editor < admin, bound to a
// subject per namespace ("*": every namespace). Each route of the API names a permission; the
// table below says which role a permission needs. A caller's role in a namespace is the highest
// of its own bindings and its groups' bindings there and in "*".
// Thread-safety: plain values.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/control/metadata/metadata_store.h"

namespace sluice::auth {

enum class Role { kNone = 0, kViewer, kOperator, kEditor, kAdmin };

std::string_view RoleName(Role role);  // "none", "viewer", ...
// InvalidArgument naming the roles there are.
Result<Role> ParseRole(std::string_view name);

// Every permission a route may declare, with the least role that holds it.
const std::vector<std::pair<std::string_view, Role>>& PermissionTable();
// InvalidArgument for a permission missing from the table (a route table bug).
Result<Role> RequiredRole(std::string_view permission);

// "*" or a namespace name: a lower-case letter, then lower-case letters, digits, '_' or '-', at
// most 63 in all.
bool IsNamespaceName(std::string_view ns);
// "user:alice", "group:eng", "svc:ci", "oidc:<sub>": a known kind, ':', 1..256 printable
// characters without spaces.
bool IsSubjectName(std::string_view subject);

// What one caller holds.
class Grants {
 public:
  // From the bindings of the caller's subject and groups.
  static Grants From(const std::vector<metadata::RoleBindingRecord>& bindings);
  // admin everywhere (--insecure-dev).
  static Grants Everything();

  // The role in `ns`: its binding there or in "*", whichever is higher.
  Role In(std::string_view ns) const;
  // The role bound in "*".
  Role Cluster() const { return cluster_; }
  // Whether `role` is held in some namespace.
  bool AnyAtLeast(Role role) const;
  // Whether `ns` is visible with `role` (a helper for filtering lists).
  bool Allows(std::string_view ns, Role role) const { return In(ns) >= role; }
  // The namespace -> role map (without "*").
  const std::map<std::string, Role, std::less<>>& namespaces() const { return by_namespace_; }

 private:
  Role cluster_ = Role::kNone;
  std::map<std::string, Role, std::less<>> by_namespace_;
};

}  // namespace sluice::auth
