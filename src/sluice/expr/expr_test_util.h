// Helpers for the expr tests: batches from rows of Values and one-call evaluation.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sluice/columnar/batch.h"
#include "sluice/expr/expr.h"

namespace sluice::expr::testing {

inline Batch MakeBatch(std::vector<Field> fields, const std::vector<std::vector<Value>>& rows) {
  auto schema = std::make_shared<Schema>(std::move(fields));
  BatchBuilder b(schema);
  for (const auto& row : rows) b.AppendRow(row);
  return b.Finish();
}

// A value as tests spell it: NULL, 'text' for strings, else Value::ToString().
inline std::string Show(const Value& v) {
  if (v.is_null()) return "NULL";
  if (v.type().id == TypeId::kString) return "'" + v.string_value() + "'";
  return v.ToString();
}

// The active rows of batches as "v1|v2|..." strings (Show() of each value), in order.
inline std::vector<std::string> ShowRows(const std::vector<Batch>& batches) {
  std::vector<std::string> out;
  for (const auto& b : batches) {
    b.ForEachActive([&](uint32_t r) {
      std::string row;
      for (size_t c = 0; c < b.num_columns(); ++c) {
        if (c) row += '|';
        row += Show(b.column(c)->GetValue(r));
      }
      out.push_back(row);
    });
  }
  return out;
}

struct EvalOutcome {
  DataType type;
  std::vector<std::string> values;  // Show() of each physical row
  std::vector<RowError> errors;
};

// Compiles `text` against the batch's schema and evaluates it; fails the test on bind errors.
inline EvalOutcome Eval(const std::string& text, const Batch& batch, int64_t now_micros = 0) {
  EvalOutcome out;
  auto bound = Compile(text, *batch.schema());
  EXPECT_TRUE(bound.ok()) << text << ": " << bound.status().ToString();
  if (!bound.ok()) return out;
  EvalContext ctx;
  ctx.now_micros = now_micros;
  auto col = Evaluate(**bound, batch, ctx);
  EXPECT_TRUE(col.ok()) << col.status().ToString();
  if (!col.ok()) return out;
  out.type = (*col)->type();
  EXPECT_EQ(out.type, ResultType(**bound)) << text;
  EXPECT_EQ((*col)->size(), batch.num_rows()) << text;
  for (size_t i = 0; i < (*col)->size(); ++i) out.values.push_back(Show((*col)->GetValue(i)));
  out.errors = std::move(ctx.errors);
  return out;
}

// The bind error message of `text`, or "" if it binds.
inline std::string BindError(const std::string& text, const Schema& schema, const BindOptions& options = {}) {
  auto bound = Compile(text, schema, options);
  return bound.ok() ? std::string() : bound.status().message();
}

}  // namespace sluice::expr::testing
