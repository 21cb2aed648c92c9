// The schema every format fuzzer decodes with: one field of every type, nested paths, a field
// that is also a path prefix, and "_raw".
#pragma once

#include <memory>

#include "sluice/types/schema.h"

namespace sluice::fuzz {

inline SchemaPtr FuzzSchema() {
  static const SchemaPtr schema = std::make_shared<const Schema>(std::vector<Field>{
      {"b", DataType::Bool()},
      {"i32", DataType::Int32()},
      {"i64", DataType::Int64()},
      {"f", DataType::Float64()},
      {"d", DataType::Decimal(18, 4)},
      {"d0", DataType::Decimal(3, 0)},
      {"s", DataType::String()},
      {"bin", DataType::Binary()},
      {"dt", DataType::Date()},
      {"ts", DataType::Timestamp()},
      {"data.page", DataType::String()},
      {"data.ref.id", DataType::Int64()},
      {"obj", DataType::String()},
      {"obj.x", DataType::Int32()},
      {"_raw", DataType::String()},
  });
  return schema;
}

}  // namespace sluice::fuzz
