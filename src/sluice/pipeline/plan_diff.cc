#include "sluice/pipeline/plan_diff.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "sluice/pipeline/plan_format.h"

namespace sluice::pipeline {

namespace {

using json = nlohmann::json;

std::string Escape(const std::string& key) {  // JSON pointer (RFC 6901)
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// An array of objects that all have a "name" (fields) or "port" (outputs): matched by it.
const char* KeyOf(const json& a) {
  for (const char* key : {"name", "port"}) {
    if (a.is_array() && !a.empty() &&
        std::all_of(a.begin(), a.end(), [&](const json& e) { return e.is_object() && e.contains(key) && e[key].is_string(); })) {
      return key;
    }
  }
  return nullptr;
}

void Diff(const json& a, const json& b, const std::string& path, json& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (k == "location") continue;
      Diff(v, b.contains(k) ? b[k] : json(), path + "/" + Escape(k), out);
    }
    for (const auto& [k, v] : b.items()) {
      if (k != "location" && !a.contains(k)) Diff(json(), v, path + "/" + Escape(k), out);
    }
    return;
  }
  const char* ka = KeyOf(a);
  const char* kb = KeyOf(b);
  if (ka && kb && std::string_view(ka) == kb) {
    std::map<std::string, const json*> am, bm;
    for (const auto& e : a) am[e[ka].get<std::string>()] = &e;
    for (const auto& e : b) bm[e[kb].get<std::string>()] = &e;
    for (const auto& [k, e] : am) Diff(*e, bm.count(k) ? *bm[k] : json(), path + "/" + Escape(k), out);
    for (const auto& [k, e] : bm) {
      if (!am.count(k)) Diff(json(), *e, path + "/" + Escape(k), out);
    }
    return;
  }
  out.push_back({{"path", path.empty() ? "/" : path}, {"from", a}, {"to", b}});
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

json DiffPlans(const engine::Plan& from, const engine::Plan& to) {
  const json a = json::parse(PlanToJson(from, -1));
  const json b = json::parse(PlanToJson(to, -1));
  std::map<std::string, const json*> an, bn;
  for (const auto& n : a["nodes"]) an[n["name"].get<std::string>()] = &n;
  for (const auto& n : b["nodes"]) bn[n["name"].get<std::string>()] = &n;
  json out = {{"added", json::array()}, {"removed", json::array()}, {"changed", json::array()}};
  for (const auto& [name, n] : bn) {
    if (!an.count(name)) out["added"].push_back(name);
  }
  for (const auto& [name, n] : an) {
    auto it = bn.find(name);
    if (it == bn.end()) {
      out["removed"].push_back(name);
      continue;
    }
    json changes = json::array();
    Diff(*n, *it->second, "", changes);
    if (!changes.empty()) out["changed"].push_back({{"component", name}, {"changes", std::move(changes)}});
  }
  for (const char* top : {"mode", "namespace"}) {
    if (a[top] != b[top]) out["changed"].push_back({{"component", ""}, {"changes", json::array({{{"path", std::string("/") + top}, {"from", a[top]}, {"to", b[top]}}})}});
  }
  return out;
}

std::vector<std::string> DiffLines(const std::string& from, const std::string& to, int context) {
  const std::vector<std::string> a = SplitLines(from), b = SplitLines(to);
  const size_t n = a.size(), m = b.size();
  // Longest common subsequence table (specs are small: a few hundred lines).
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  struct Op {
    char kind;  // ' ', '-', '+'
    size_t ai, bi;
  };
  std::vector<Op> ops;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) ops.push_back({' ', i++, j++});
    else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push_back({'-', i++, j});  // deletions first
    else ops.push_back({'+', i, j++});
  }
  std::vector<std::string> out;
  const size_t ctx = static_cast<size_t>(std::max(0, context));
  size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].kind == ' ') {
      ++k;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change
    // that is within 2*context lines of the previous one.
    size_t start = k >= ctx ? k - ctx : 0;
    size_t end = k;
    size_t last_change = k;
    while (end < ops.size()) {
      if (ops[end].kind != ' ') last_change = end;
      else if (end - last_change > 2 * ctx) break;
      ++end;
    }
    end = std::min(ops.size(), last_change + ctx + 1);
    size_t a_count = 0, b_count = 0;
    for (size_t x = start; x < end; ++x) {
      if (ops[x].kind != '+') ++a_count;
      if (ops[x].kind != '-') ++b_count;
    }
    out.push_back("@@ -" + std::to_string(ops[start].ai + (a_count ? 1 : 0)) + "," + std::to_string(a_count) + " +" +
                  std::to_string(ops[start].bi + (b_count ? 1 : 0)) + "," + std::to_string(b_count) + " @@");
    for (size_t x = start; x < end; ++x) {
      const Op& o = ops[x];
      out.push_back(std::string(1, o.kind) + (o.kind == '+' ? b[o.bi] : a[o.ai]));
    }
    k = end;
  }
  return out;
}

}  // namespace sluice::pipeline
