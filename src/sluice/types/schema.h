// Schema: the ordered, named, typed fields on every edge of a plan.
// A field name may be a dotted path ("data.page") into a nested JSON record; the path is the
// column's name everywhere downstream.
// Thread-safety: immutable once built; share as std::shared_ptr<const Schema>.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/types/data_type.h"

namespace sluice {

struct Field {
  std::string name;
  DataType type;
  bool required = false;  // a record without a value is rejected (see validate)
  // Personal data: its values are masked wherever they could leave the data path (dead letters,
  // error messages, logs; base/pii.h). Set by `pii: true` in a spec and carried by every column
  // computed from it (expr::IsPii).
  bool pii = false;

  bool operator==(const Field&) const = default;
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields);

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  const Field& field(size_t i) const { return fields_[i]; }
  // Index of a field by exact name.
  std::optional<size_t> IndexOf(std::string_view name) const;
  std::vector<std::string> names() const;
  // Whether any field is pii.
  bool HasPii() const;
  // "event_id: string not null, amount: decimal(18,2), email: string pii".
  std::string ToString() const;
  bool operator==(const Schema& o) const { return fields_ == o.fields_; }

 private:
  std::vector<Field> fields_;
};

using SchemaPtr = std::shared_ptr<const Schema>;

}  // namespace sluice
