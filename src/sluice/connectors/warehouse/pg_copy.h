// PostgreSQL's binary COPY format (COPY ... FROM STDIN (FORMAT binary)): what the PostgreSQL
// warehouse streams into tables. Values are written in the wire form of the TARGET column's type
// (int32 values into a bigint column as 8 bytes, decimals as numeric, timestamps as µs since
// 2000-01-01), so the server does no text parsing.
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/columnar/column.h"

namespace sluice::warehouse {

class PgCopyEncoder {
 public:
  // One entry per COPY field, in order: the target column type.
  explicit PgCopyEncoder(std::vector<DataType> field_types) : types_(std::move(field_types)) {}

  static void AppendHeader(std::string& out);
  static void AppendTrailer(std::string& out);
  // One row: `columns[i]` (row `row`) encoded as field i for the first columns.size() fields,
  // then `extras` as bigint fields.
  void AppendRow(const std::vector<const Column*>& columns, uint32_t row, const int64_t* extras, size_t n_extras,
                 std::string& out) const;

 private:
  std::vector<DataType> types_;
};

// The binary numeric of a decimal (length word included): base-10000 digits, weight, sign, scale.
void AppendPgNumeric(std::string& out, int64_t unscaled, int scale);

}  // namespace sluice::warehouse
