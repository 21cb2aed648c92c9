#include "sluice/control/metadata/environment.h"

#include <algorithm>

namespace sluice::metadata {

namespace {

void Merge(nlohmann::json& into, const nlohmann::json& from) {
  if (!into.is_object() || !from.is_object()) {
    into = from;
    return;
  }
  for (const auto& [k, v] : from.items()) {
    if (into.contains(k) && into[k].is_object() && v.is_object()) Merge(into[k], v);
    else into[k] = v;
  }
}

std::optional<std::string> ConfigValue(const nlohmann::json& merged, std::string_view name) {
  const nlohmann::json* at = &merged;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    const std::string key(name.substr(start, dot - start));
    if (!at->is_object() || !at->contains(key)) return std::nullopt;
    at = &(*at)[key];
    start = dot + 1;
  }
  return at->is_string() ? at->get<std::string>() : at->dump();
}

}  // namespace

config::Resolver ResolverFromValues(nlohmann::json config, std::map<std::string, std::string> secrets) {
  return [config = std::move(config), secrets = std::move(secrets)](std::string_view kind,
                                                                    std::string_view name) -> std::optional<std::string> {
    if (kind == "config") return ConfigValue(config, name);
    if (kind == "secret") {
      auto it = secrets.find(std::string(name));
      if (it != secrets.end()) return it->second;
    }
    return std::nullopt;
  };
}

std::vector<std::string> ReferencedSecrets(std::string_view spec) {
  std::vector<std::string> names;
  constexpr std::string_view kOpen = "${secret.";
  for (size_t at = spec.find(kOpen); at != std::string_view::npos; at = spec.find(kOpen, at + 1)) {
    const size_t start = at + kOpen.size();
    const size_t end = spec.find('}', start);
    if (end == std::string_view::npos) break;
    std::string name(spec.substr(start, end - start));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  }
  return names;
}

Result<nlohmann::json> EffectiveConfig(EnvironmentStore& store, const std::string& environment) {
  SLUICE_ASSIGN_OR_RETURN(auto chain, store.EnvironmentChain(environment));
  nlohmann::json merged = nlohmann::json::object();
  for (const auto& e : chain) {
    nlohmann::json own = nlohmann::json::parse(e.config, nullptr, false);
    if (!own.is_object()) return Status::DataError("environment '{}': its stored config is not a JSON object", e.name);
    Merge(merged, own);
  }
  return merged;
}

Status CheckEnvironmentGrant(EnvironmentStore& store, const std::string& environment, const std::string& ns) {
  if (environment.empty()) return Status::OK();
  SLUICE_ASSIGN_OR_RETURN(bool granted, store.EnvironmentGranted(environment, ns));
  if (granted) return Status::OK();
  return Status::FailedPrecondition(
      "environment '{}' is not granted to namespace '{}': its config, connections and secrets are for the namespaces "
      "it is granted to; an admin runs `sluice environment grant {} --namespace {}`",
      environment, ns, environment, ns);
}

Result<config::Resolver> EnvironmentResolver(EnvironmentStore& store, const SecretBox* box,
                                             const std::string& environment, const std::string& ns, bool mask_secrets) {
  if (environment.empty()) return config::Resolver([](std::string_view, std::string_view) { return std::optional<std::string>(); });
  SLUICE_RETURN_IF_ERROR(CheckEnvironmentGrant(store, environment, ns));
  SLUICE_ASSIGN_OR_RETURN(nlohmann::json merged, EffectiveConfig(store, environment));
  return config::Resolver([merged = std::move(merged), &store, box, environment, mask_secrets](
                              std::string_view kind, std::string_view name) -> std::optional<std::string> {
    if (kind == "config") return ConfigValue(merged, name);
    if (kind == "secret") {
      auto found = store.FindSecret(environment, std::string(name));
      if (!found.ok() || !*found) return std::nullopt;
      if (mask_secrets) return "<secret:" + std::string(name) + ">";
      if (!box) return std::nullopt;
      auto value = box->Open((*found)->second, (*found)->first + "/" + std::string(name));
      if (!value.ok()) return std::nullopt;
      return *value;
    }
    return std::nullopt;
  });
}

std::vector<std::string> FileRoots(const nlohmann::json& effective_config) {
  std::vector<std::string> roots;
  if (!effective_config.is_object() || !effective_config.contains("connections")) return roots;
  const nlohmann::json& connections = effective_config["connections"];
  if (!connections.is_object()) return roots;
  for (const auto& [name, c] : connections.items()) {
    if (!c.is_object() || c.value("kind", "") != "files") continue;
    if (c.contains("root") && c["root"].is_string()) roots.push_back(c["root"].get<std::string>());
  }
  return roots;
}

}  // namespace sluice::metadata
