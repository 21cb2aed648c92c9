#include "sluice/types/schema.h"

namespace sluice {

Schema::Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

std::optional<size_t> Schema::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return i;
  }
  return std::nullopt;
}

std::vector<std::string> Schema::names() const {
  std::vector<std::string> out;
  out.reserve(fields_.size());
  for (const auto& f : fields_) out.push_back(f.name);
  return out;
}

bool Schema::HasPii() const {
  for (const auto& f : fields_) {
    if (f.pii) return true;
  }
  return false;
}

std::string Schema::ToString() const {
  std::string out;
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i) out += ", ";
    out += fields_[i].name + ": " + fields_[i].type.ToString();
    if (fields_[i].required) out += " not null";
    if (fields_[i].pii) out += " pii";
  }
  return out;
}

}  // namespace sluice
