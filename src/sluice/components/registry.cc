#include "sluice/components/registry.h"

namespace sluice::components {

void Registry::Add(engine::Role role, std::string name, CompileFn compile, KindTraits traits) {
  if (role == engine::Role::kSource) traits.takes_inputs = false;
  kinds_.push_back(KindInfo{role, std::move(name), compile, traits});
}

void Registry::AddPlanned(engine::Role role, std::string name) {
  kinds_.push_back(KindInfo{role, std::move(name), nullptr, KindTraits{.listed = false}});
}

const KindInfo* Registry::Find(engine::Role role, std::string_view name) const {
  for (const auto& k : kinds_) {
    if (k.role == role && k.name == name) return &k;
  }
  return nullptr;
}

std::vector<std::string> Registry::Available(engine::Role role) const {
  std::vector<std::string> out;
  for (const auto& k : kinds_) {
    if (k.role == role && k.compile && k.traits.listed) out.push_back(k.name);
  }
  return out;
}

std::vector<std::string> Registry::Planned(engine::Role role) const {
  std::vector<std::string> out;
  for (const auto& k : kinds_) {
    if (k.role == role && !k.compile) out.push_back(k.name);
  }
  return out;
}

}  // namespace sluice::components
